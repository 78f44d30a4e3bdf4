"""Writes about subscribers: signup, confirmation, preferences, status changes, deletion, import.

No mail is sent here: an email is requested with ``signals.email_request`` inside the transaction
that decides it, and the delivery app sends it from a worker after commit. A link email to one
address is claimed with a conditional UPDATE first, so two concurrent requests ask for it once.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from subscriptions.addresses import address_hash, address_hash_variants, address_normalise
from subscriptions.models import (
    ConsentRecord,
    Interest,
    Subscriber,
    SuppressedAddress,
    Topic,
    timezone_validate,
)
from subscriptions.parsing import frequency_parse, terms_parse
from subscriptions.signals import email_request

logger = logging.getLogger(__name__)

Status = Subscriber.Status
# Statuses a subscriber leaves only by confirming again (signup) or by their own link (resubscribe).
STOPPED = (Status.UNSUBSCRIBED, Status.BOUNCED, Status.COMPLAINED)


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


def interests_set(*, subscriber: Subscriber, kind: str, values: Sequence[str]) -> None:
    """Replace the subscriber's interests of ``kind`` with ``values`` (in that order)."""
    subscriber.interests.filter(kind=kind).delete()
    Interest.objects.bulk_create(
        Interest(subscriber=subscriber, kind=kind, value=value, position=i)
        for i, value in enumerate(values)
    )


_INTEREST_FIELDS = {
    "keywords": Interest.Kind.KEYWORD,
    "excluded_terms": Interest.Kind.EXCLUDE,
    "followed_authors": Interest.Kind.AUTHOR,
    "liked_papers": Interest.Kind.PAPER,
}
_PLAIN_FIELDS = ("frequency", "weekday", "send_hour", "timezone", "max_papers", "format")


def _preferences_apply(subscriber: Subscriber, preferences: dict) -> bool:
    """Write the given preferences (topics, interests, plain fields); True when anything changed."""
    changed = False
    for name in _PLAIN_FIELDS:
        if name in preferences and getattr(subscriber, name) != preferences[name]:
            setattr(subscriber, name, preferences[name])
            changed = True
    if changed:
        subscriber.save(update_fields=[*_PLAIN_FIELDS])
    if "topics" in preferences:
        wanted = {t.pk for t in preferences["topics"]}
        if wanted != set(subscriber.topics.values_list("pk", flat=True)):
            subscriber.topics.set(wanted)
            changed = True
    for name, kind in _INTEREST_FIELDS.items():
        if name in preferences:
            current = list(subscriber.interests.filter(kind=kind).values_list("value", flat=True))
            if current != list(preferences[name]):
                interests_set(subscriber=subscriber, kind=kind, values=preferences[name])
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


def subscriber_signup(*, email: str, preferences: dict, meta: ConsentMeta) -> None:
    """Start (or restart) a subscription for the normalised ``email``.

    Whatever the address's state, the caller shows the same page: a new, pending or stopped
    address gets a confirmation link; an active or paused one gets a "manage" link instead. Only a
    new or still-pending subscription takes the posted preferences: a stranger must not be able to
    change one its owner has confirmed, even after it was stopped (it returns only on confirming).
    """
    with transaction.atomic():
        try:
            with transaction.atomic():
                subscriber, _ = Subscriber.objects.get_or_create(email=email)
        except IntegrityError:  # a concurrent signup for the same address won
            subscriber = Subscriber.objects.get(email=email)
        subscriber = Subscriber.objects.select_for_update().get(pk=subscriber.pk)
        if subscriber.status not in (Status.ACTIVE, Status.PAUSED):
            if subscriber.status in STOPPED:
                subscriber.status = Status.PENDING
                subscriber.link_sent_at = None  # a restarted signup deserves its confirmation now
                subscriber.save(update_fields=["status", "link_sent_at"])
            elif subscriber.confirmed_at is None:
                _preferences_apply(subscriber, preferences)
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
    *, subscriber: Subscriber, preferences: dict, meta: ConsentMeta
) -> bool:
    """Save what the preference centre posted; records consent only when something changed."""
    with transaction.atomic():
        changed = _preferences_apply(subscriber, preferences)
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


# --- Import ----------------------------------------------------------------------------------


IMPORT_COLUMNS = (
    "email",
    "topics",
    "keywords",
    "exclude",
    "frequency",
    "send_hour",
    "timezone",
    "max_papers",
)


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    skipped: list[tuple[int, str, str]] = field(default_factory=list)  # (line, email, reason)
    to_confirm: list[Subscriber] = field(default_factory=list)
    mail_failed: list[str] = field(default_factory=list)  # addresses whose confirmation failed


def _bounded_int(text: str, *, name: str, low: int, high: int) -> int:
    try:
        value = int(text)
    except ValueError:
        value = low - 1
    if not low <= value <= high:
        raise ValidationError(
            f"{name} must be a whole number from {low} to {high}, got {text[:20]!r}"
        )
    return value


def _import_row_parse(row: dict[str, str], topics_by_slug: dict[str, Topic]) -> tuple[str, dict]:
    """One CSV row -> (normalised address, preferences); empty cells leave a preference alone."""
    cell = {name: (row.get(name) or "").strip() for name in IMPORT_COLUMNS}
    email = address_normalise(cell["email"])
    preferences: dict = {}
    if cell["topics"]:
        slugs = list(
            dict.fromkeys(s.strip().lower() for s in cell["topics"].split(";") if s.strip())
        )
        unknown = [s[:40] for s in slugs if s not in topics_by_slug]
        if unknown:
            raise ValidationError(f"unknown topic {', '.join(unknown)}")
        preferences["topics"] = [topics_by_slug[s] for s in slugs]
    if cell["keywords"]:
        preferences["keywords"] = terms_parse(cell["keywords"], label="keywords")
    if cell["exclude"]:
        preferences["excluded_terms"] = terms_parse(cell["exclude"], label="excluded terms")
    if cell["frequency"]:
        preferences["frequency"], preferences["weekday"] = frequency_parse(cell["frequency"])
    if cell["send_hour"]:
        preferences["send_hour"] = _bounded_int(cell["send_hour"], name="send_hour", low=0, high=23)
    if cell["timezone"]:
        preferences["timezone"] = timezone_validate(cell["timezone"])
    if cell["max_papers"]:
        preferences["max_papers"] = _bounded_int(
            cell["max_papers"], name="max_papers", low=1, high=50
        )
    return email, preferences


def subscribers_import(
    *, records: Iterable[tuple[int, dict[str, str]]], confirmed: bool, dry_run: bool, note: str
) -> ImportReport:
    """Create or update subscribers from CSV rows ``(line number, row)``.

    Idempotent: a second run changes nothing. Never touches a suppressed, unsubscribed, bounced or
    complained address. New subscribers are active only when ``confirmed``; otherwise they are
    pending and get a confirmation email (not on a dry run). Nothing is written on a dry run.
    """
    report = ImportReport()
    meta = ConsentMeta(user_agent="import_subscribers", form_version="import", note=note)
    suppressed = set(SuppressedAddress.objects.values_list("address_hash", flat=True))
    topics_by_slug = {t.slug: t for t in Topic.objects.all()}
    seen: set[str] = set()
    with transaction.atomic():
        for line, row in records:
            shown = (row.get("email") or "").strip()[:80]
            try:
                email, preferences = _import_row_parse(row, topics_by_slug)
            except ValidationError as error:
                report.skipped.append((line, shown, "; ".join(error.messages)))
                continue
            if email in seen:
                report.skipped.append((line, email, "duplicate of an earlier line"))
                continue
            seen.add(email)
            if any(h in suppressed for h in address_hash_variants(email)):
                report.skipped.append(
                    (line, email, "suppressed: it returns only by signing up and confirming")
                )
                continue
            outcome = _import_one(email, preferences, confirmed=confirmed, meta=meta, report=report)
            if outcome:
                report.skipped.append((line, email, outcome))
        if dry_run:
            transaction.set_rollback(True)
    if not dry_run:
        for subscriber in report.to_confirm:
            # One provider error must not stop the rest: the rows are stored, and staff can
            # resend the confirmation from the admin.
            try:
                _link_send(subscriber)
            except Exception:
                logger.exception(
                    "import: confirmation email to subscriber %s failed", subscriber.pk
                )
                report.mail_failed.append(subscriber.email)
    return report


def _import_one(
    email: str, preferences: dict, *, confirmed: bool, meta: ConsentMeta, report: ImportReport
) -> str:
    """Create or update one subscriber; returns the reason when it was skipped, else ""."""
    subscriber = Subscriber.objects.filter(email=email).first()
    if subscriber is None:
        subscriber = Subscriber.objects.create(
            email=email,
            status=Status.ACTIVE if confirmed else Status.PENDING,
            confirmed_at=timezone.now() if confirmed else None,
        )
        _preferences_apply(subscriber, preferences)
        consent_record(subscriber=subscriber, action=ConsentRecord.Action.IMPORT, meta=meta)
        report.created += 1
        if not confirmed:
            report.to_confirm.append(subscriber)
        return ""
    if subscriber.status in STOPPED:
        return f"{subscriber.status}: an import never resubscribes"
    if subscriber.status == Status.PENDING and subscriber.unsubscribed_at is not None:
        return "unsubscribed and not confirmed again: an import never resubscribes"
    changed = _preferences_apply(subscriber, preferences)
    if confirmed and subscriber.status == Status.PENDING:
        Subscriber.objects.filter(pk=subscriber.pk).update(
            status=Status.ACTIVE, confirmed_at=timezone.now()
        )
        changed = True
    if not changed:
        return "already up to date"
    consent_record(subscriber=subscriber, action=ConsentRecord.Action.IMPORT, meta=meta)
    report.updated += 1
    return ""
