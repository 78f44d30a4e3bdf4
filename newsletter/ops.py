"""Operations: the heartbeat that proves beat and a worker run, and the staff account."""

import secrets

from django.contrib.auth import get_user_model
from django.db.models import F
from django.utils import timezone

from newsletter.models import Heartbeat


def heartbeat_record(*, name: str) -> Heartbeat:
    """Stamp ``name`` as alive now, counting the runs; one row per name however often it runs."""
    now = timezone.now()
    beat, created = Heartbeat.objects.get_or_create(
        name=name, defaults={"last_seen": now, "runs": 1}
    )
    if not created:
        Heartbeat.objects.filter(pk=beat.pk).update(last_seen=now, runs=F("runs") + 1)
        beat.refresh_from_db()
    return beat


def staff_account_ensure(*, email: str, password: str | None) -> tuple[object, str | None]:
    """Make sure a superuser with ``email`` exists.

    Returns the user and, when this call created it without a given password, the generated one (shown
    once and never stored in clear). A given password is (re)applied so the environment stays the truth.
    """
    user_model = get_user_model()
    email = user_model.objects.normalize_email(email).strip()
    user = user_model.objects.filter(username=email).first()
    generated = None
    if user is None:
        if not password:
            generated = password = secrets.token_urlsafe(12)
        user = user_model.objects.create_superuser(username=email, email=email, password=password)
    elif password and not user.check_password(password):
        user.set_password(password)
        user.save(update_fields=["password"])
    return user, generated
