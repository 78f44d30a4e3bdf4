"""Writes about subscribers: signup, confirmation, preferences, status changes, deletion.

The CSV import is in ``subscriptions.importing``.

No mail is sent here: an email is requested with ``signals.email_request`` inside the transaction
that decides it, and the delivery app sends it from a worker after commit. A link email to one
address is claimed with a conditional UPDATE first, so two concurrent requests ask for it once.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from subscriptions.addresses import address_hash, address_hash_variants
from subscriptions.models import (
    ConsentRecord,
    Interest,
    Subscriber,
    SuppressedAddress,
)
from subscriptions.preferences import Preferences
from subscriptions.signals import email_request

logger = logging.getLogger(__name__)

Status = Subscriber.Status
# Statuses a subscriber leaves only by confirming again (signup) or by their own link (resubscribe).
STOPPED = (Status.UNSUBSCRIBED, Status.BOUNCED, Status.COMPLAINED)
# Addresses whose mailbox or owner refused our mail: no form ever mails them again, whoever types
# them; only staff lift it (``subscriber_block_lift``).
BLOCKED = (Status.BOUNCED, Status.COMPLAINED)
_BLOCKING_REASONS = (SuppressedAddress.Reason.BOUNCED, SuppressedAddress.Reason.COMPLAINED)


def address_blocked(*, email: str) -> bool:
    """True when ``email`` bounced or complained, even if its subscriber was since deleted."""
    if Subscriber.objects.filter(email=email, status__in=BLOCKED).exists():
        return True
    return SuppressedAddress.objects.filter(
        address_hash__in=address_hash_variants(email), reason__in=_BLOCKING_REASONS
    ).exists()


@dataclass(frozen=True)
class ConsentMeta:
    """Where a consent came from: the request's IP and user agent, the form version shown."""

    ip: str | None = None
    user_agent: str = ""
    form_version: str = ""
    note: str = ""


def consent_record(*, subscriber: Subscriber, action: str, meta: ConsentMeta) -> ConsentRecord:
    return ConsentRecord.objects.create(
        subscriber=subscriber,
        action=action,
        ip=meta.ip or None,
        user_agent=meta.user_agent[:300],
        form_version=meta.form_version[:40],
        note=meta.note[:200],
    )


def interests_touch(*, subscriber_ids: Iterable[int]) -> None:
    """Mark that what these subscribers' matches are built from changed (topics, interests,
    feedback): ``interests_version`` goes up, so stored profiles built from the old ones are
    rebuilt. Every write of those must call it (the receivers do for single-row writes)."""
    ids = list(subscriber_ids)
    if ids:
        Subscriber.objects.filter(pk__in=ids).update(interests_version=F("interests_version") + 1)


def interests_set(*, subscriber: Subscriber, kind: str, values: Sequence[str]) -> None:
    """Replace the subscriber's interests of ``kind`` with ``values`` (in that order)."""
    subscriber.interests.filter(kind=kind).delete()
    Interest.objects.bulk_create(
        Interest(subscriber=subscriber, kind=kind, value=value, position=i)
        for i, value in enumerate(values)
    )
    interests_touch(subscriber_ids=[subscriber.pk])  # bulk_create sends no signal


_INTEREST_FIELDS = {
    "keywords": Interest.Kind.KEYWORD,
    "excluded_terms": Interest.Kind.EXCLUDE,
    "followed_authors": Interest.Kind.AUTHOR,
    "liked_papers": Interest.Kind.PAPER,
}
_PLAIN_FIELDS = (
    "frequency",
    "weekday",
    "send_hour",
    "timezone",
    "max_papers",
    "format",
    "trending",
    "quiet_day_note",
)


def preferences_apply(*, subscriber: Subscriber, preferences: Preferences) -> bool:
    """Write the preferences that are set (topics, interests, plain fields); True when any changed."""
    given = preferences.given()
    changed = False
    for name in _PLAIN_FIELDS:
        if name in given and getattr(subscriber, name) != given[name]:
            setattr(subscriber, name, given[name])
            changed = True
    if changed:
        subscriber.save(update_fields=[*_PLAIN_FIELDS])
    if "topics" in given:
        wanted = {t.pk for t in preferences.topics}
        if wanted != set(subscriber.topics.values_list("pk", flat=True)):
            subscriber.topics.set(wanted)
            changed = True
    for name, kind in _INTEREST_FIELDS.items():
        if name in given:
            current = list(subscriber.interests.filter(kind=kind).values_list("value", flat=True))
            if current != list(given[name]):
                interests_set(subscriber=subscriber, kind=kind, values=given[name])
                changed = True
    return changed


def _suppression_lift(address: str) -> None:
    # The owner of the address has just proved they want mail again.
    SuppressedAddress.objects.filter(address_hash__in=address_hash_variants(address)).delete()


# --- Link emails -----------------------------------------------------------------------------


def _link_claim(subscriber: Subscriber) -> datetime | None:
    """Atomically take the right to mail a link to ``subscriber`` now (once per resend window)."""
    now = timezone.now()
    cutoff = now - timedelta(minutes=settings.SUBSCRIPTIONS_RESEND_MINUTES)
    claimed = Subscriber.objects.filter(
        Q(link_sent_at__isnull=True) | Q(link_sent_at__lte=cutoff), pk=subscriber.pk
    ).update(link_sent_at=now)
    return now if claimed == 1 else None


def _link_send(subscriber: Subscriber) -> bool:
    """Ask for a confirmation (pending) or a "manage your subscription" link (anyone else).

    The claim and the request commit together; the email itself leaves from a worker.
    """
    with transaction.atomic():
        claimed_at = _link_claim(subscriber)
        if claimed_at is None:
            return False
        kind = "confirmation" if subscriber.status == Status.PENDING else "manage"
        email_request(
            kind=kind,
            key=f"{subscriber.pk}:{claimed_at.isoformat()}",
            subscriber=subscriber,
            to_email=subscriber.email,
        )
    return True


# --- Signup and confirmation -----------------------------------------------------------------


def subscriber_signup(*, email: str, preferences: Preferences, meta: ConsentMeta) -> None:
    """Start (or restart) a subscription for the normalised ``email``.

    Whatever the address's state, the caller shows the same page: a new, pending or stopped
    address gets a confirmation link; an active or paused one gets a "manage" link instead. Only a
    new or still-pending subscription takes the posted preferences: a stranger must not be able to
    change one its owner has confirmed, even after it was stopped (it returns only on confirming).
    A bounced or complained address is left exactly as it is and gets nothing.
    """
    if address_blocked(email=email):
        return
    with transaction.atomic():
        try:
            with transaction.atomic():
                subscriber, _ = Subscriber.objects.get_or_create(email=email)
        except IntegrityError:  # a concurrent signup for the same address won
            subscriber = Subscriber.objects.get(email=email)
        subscriber = Subscriber.objects.select_for_update().get(pk=subscriber.pk)
        if subscriber.status in BLOCKED:  # blocked by a bounce or complaint since the check above
            return
        if subscriber.status not in (Status.ACTIVE, Status.PAUSED):
            if subscriber.status in STOPPED:
                subscriber.status = Status.PENDING
                subscriber.link_sent_at = None  # a restarted signup deserves its confirmation now
                subscriber.save(update_fields=["status", "link_sent_at"])
            elif subscriber.confirmed_at is None:
                preferences_apply(subscriber=subscriber, preferences=preferences)
            consent_record(subscriber=subscriber, action=ConsentRecord.Action.SIGNUP, meta=meta)
    _link_send(subscriber)


def subscriber_send_link(*, email: str) -> None:
    """The "email me a new link" form: a link for a known address, nothing for an unknown one."""
    subscriber = Subscriber.objects.filter(email=email).first()
    if subscriber is None or subscriber.status in (Status.BOUNCED, Status.COMPLAINED):
        return
    _link_send(subscriber)


def subscriber_resend_confirmation(*, subscriber: Subscriber) -> bool:
    """Staff action: mail a pending subscriber the confirmation again (respects the window)."""
    return subscriber.status == Status.PENDING and _link_send(subscriber)


def subscriber_confirm(*, subscriber: Subscriber, meta: ConsentMeta) -> bool:
    """Turn a pending subscription active; False when it was not pending (nothing changes)."""
    with transaction.atomic():
        subscriber = Subscriber.objects.select_for_update().get(pk=subscriber.pk)
        if subscriber.status != Status.PENDING:
            return False
        subscriber.status = Status.ACTIVE
        subscriber.confirmed_at = timezone.now()
        subscriber.unsubscribed_at = None
        subscriber.save(update_fields=["status", "confirmed_at", "unsubscribed_at"])
        _suppression_lift(subscriber.email)
        consent_record(subscriber=subscriber, action=ConsentRecord.Action.CONFIRM, meta=meta)
        email_request(
            kind="welcome",
            key=f"{subscriber.pk}:{subscriber.confirmed_at.isoformat()}",
            subscriber=subscriber,
            to_email=subscriber.email,
        )
    return True


# --- Preferences and status ------------------------------------------------------------------


def subscriber_update_preferences(
    *, subscriber: Subscriber, preferences: Preferences, meta: ConsentMeta
) -> bool:
    """Save what the preference centre posted; records consent only when something changed."""
    with transaction.atomic():
        changed = preferences_apply(subscriber=subscriber, preferences=preferences)
        if changed:
            consent_record(subscriber=subscriber, action=ConsentRecord.Action.CHANGE, meta=meta)
    return changed


def _status_set(
    subscriber: Subscriber, *, allowed_from: Iterable[str], to: str, action: str, meta: ConsentMeta
) -> bool:
    with transaction.atomic():
        locked = Subscriber.objects.select_for_update().get(pk=subscriber.pk)
        if locked.status not in allowed_from:
            return False
        now = timezone.now()
        locked.status = to
        if to == Status.UNSUBSCRIBED:
            locked.unsubscribed_at = now
        elif to == Status.ACTIVE:
            locked.unsubscribed_at = None
            locked.confirmed_at = locked.confirmed_at or now
        locked.save(update_fields=["status", "unsubscribed_at", "confirmed_at"])
        if to == Status.ACTIVE:
            _suppression_lift(locked.email)
        consent_record(subscriber=locked, action=action, meta=meta)
    subscriber.refresh_from_db()
    return True


def subscriber_pause(*, subscriber: Subscriber, meta: ConsentMeta) -> bool:
    return _status_set(
        subscriber,
        allowed_from=[Status.ACTIVE],
        to=Status.PAUSED,
        action=ConsentRecord.Action.CHANGE,
        meta=replace(meta, note=meta.note or "paused"),
    )


def subscriber_resume(*, subscriber: Subscriber, meta: ConsentMeta) -> bool:
    return _status_set(
        subscriber,
        allowed_from=[Status.PAUSED],
        to=Status.ACTIVE,
        action=ConsentRecord.Action.CHANGE,
        meta=replace(meta, note=meta.note or "resumed"),
    )


def subscriber_unsubscribe(*, subscriber: Subscriber, meta: ConsentMeta) -> bool:
    return _status_set(
        subscriber,
        allowed_from=[Status.PENDING, Status.ACTIVE, Status.PAUSED],
        to=Status.UNSUBSCRIBED,
        action=ConsentRecord.Action.UNSUBSCRIBE,
        meta=meta,
    )


def subscriber_resubscribe(*, subscriber: Subscriber, meta: ConsentMeta) -> bool:
    """One click from a signed link: the click proves the address's owner wants mail again."""
    return _status_set(
        subscriber,
        allowed_from=[Status.PENDING, *STOPPED],
        to=Status.ACTIVE,
        action=ConsentRecord.Action.RESUBSCRIBE,
        meta=meta,
    )


def subscriber_block_lift(*, subscriber: Subscriber, meta: ConsentMeta) -> bool:
    """Staff: a bounced or complained subscriber becomes unsubscribed, so the next signup for the
    address gets a confirmation again. The address stays on the suppression list (no import re-adds
    it); False when the subscriber was not blocked."""
    with transaction.atomic():
        lifted = Subscriber.objects.filter(pk=subscriber.pk, status__in=BLOCKED).update(
            status=Status.UNSUBSCRIBED
        )
        if not lifted:
            return False
        address_block_lift(email=subscriber.email)
        consent_record(subscriber=subscriber, action=ConsentRecord.Action.CHANGE, meta=meta)
    return True


def address_block_lift(*, email: str = "", address_hashes: Iterable[str] = ()) -> int:
    """Let forms mail a bounced or complained address again (it stays suppressed for imports)."""
    hashes = [*address_hashes, *(address_hash_variants(email) if email else [])]
    return SuppressedAddress.objects.filter(
        address_hash__in=hashes, reason__in=_BLOCKING_REASONS
    ).update(reason=SuppressedAddress.Reason.STAFF)


# --- Email change ----------------------------------------------------------------------------


def subscriber_request_email_change(*, subscriber: Subscriber, new_email: str) -> None:
    """Mail a confirmation link to ``new_email``; the address changes only when it is clicked.

    If another subscriber already has that address, that subscriber gets a "manage" link
    instead, and the page shown is the same.
    """
    if new_email == subscriber.email:
        return
    # Stored either way, so the preference page and the data export look the same whether or not
    # the address is taken; confirming refuses a taken address.
    subscriber.pending_email = new_email
    subscriber.save(update_fields=["pending_email"])
    if address_blocked(email=new_email):
        return
    other = Subscriber.objects.filter(email=new_email).first()
    if other is not None:
        _link_send(other)
        return
    # One email per address asked for per minute: a double submit is one request.
    minute = timezone.now().strftime("%Y%m%dT%H%M")
    email_request(
        kind="email-change",
        key=f"{subscriber.pk}:{address_hash(new_email)[:16]}:{minute}",
        subscriber=subscriber,
        to_email=new_email,
    )


def subscriber_confirm_email_change(*, subscriber: Subscriber, meta: ConsentMeta) -> bool:
    """Move the subscription to its pending address and revoke every older link."""
    try:
        with transaction.atomic():
            locked = Subscriber.objects.select_for_update().get(pk=subscriber.pk)
            new_email = locked.pending_email
            if not new_email or Subscriber.objects.filter(email=new_email).exists():
                Subscriber.objects.filter(pk=locked.pk).update(pending_email="")
                return False
            old_email = locked.email
            locked.email, locked.pending_email = new_email, ""
            locked.link_version += 1
            locked.save(update_fields=["email", "pending_email", "link_version"])
            _suppression_lift(new_email)
            consent_record(
                subscriber=locked,
                action=ConsentRecord.Action.CHANGE,
                meta=replace(meta, note=f"email changed from {old_email}"),
            )
    except IntegrityError:
        return False
    subscriber.refresh_from_db()
    return True


# --- Deletion and suppression ----------------------------------------------------------------


def address_suppress(*, email: str, reason: str) -> None:
    current, legacy = address_hash_variants(email)
    # An entry from before the keyed hash is re-keyed, keeping its reason and date.
    SuppressedAddress.objects.filter(address_hash=legacy).update(address_hash=current)
    SuppressedAddress.objects.get_or_create(address_hash=current, defaults={"reason": reason})


def subscriber_delete(*, subscriber: Subscriber) -> None:
    """Erase the subscriber, interests and consent history; keep only the address's hash."""
    with transaction.atomic():
        address_suppress(email=subscriber.email, reason=SuppressedAddress.Reason.DELETED)
        subscriber.delete()


def subscriber_suppress(
    *,
    subscriber: Subscriber,
    reason: str = SuppressedAddress.Reason.STAFF,
    meta: ConsentMeta | None = None,
) -> None:
    """Stop all mail to the subscriber until its owner confirms again (staff, bounce, complaint)."""
    status = {
        SuppressedAddress.Reason.BOUNCED: Status.BOUNCED,
        SuppressedAddress.Reason.COMPLAINED: Status.COMPLAINED,
    }.get(reason, Status.UNSUBSCRIBED)
    with transaction.atomic():
        address_suppress(email=subscriber.email, reason=reason)
        # Bumping the link version revokes every link mailed before: the address returns only
        # through a fresh confirmation.
        Subscriber.objects.filter(pk=subscriber.pk).update(
            status=status, unsubscribed_at=timezone.now(), link_version=F("link_version") + 1
        )
        consent_record(
            subscriber=subscriber,
            action=ConsentRecord.Action.UNSUBSCRIBE,
            meta=meta or ConsentMeta(note=f"suppressed: {reason}"),
        )
