from django.db.models import F
from django.utils import timezone

from newsletter.models import Heartbeat


def heartbeat_record(*, name: str) -> Heartbeat:
    """Stamp ``name`` as alive now, counting the runs; one row per name however often it runs."""
    now = timezone.now()
    beat, created = Heartbeat.objects.get_or_create(name=name, defaults={"last_seen": now, "runs": 1})
    if not created:
        Heartbeat.objects.filter(pk=beat.pk).update(last_seen=now, runs=F("runs") + 1)
        beat.refresh_from_db()
    return beat
