"""The CSV import of subscribers (``manage.py import_subscribers``).

Idempotent: a second run changes nothing. It never touches a suppressed, unsubscribed, bounced or
complained address, and it mails confirmations only after its transaction has committed.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from subscriptions.addresses import address_hash_variants, address_normalise
from subscriptions.models import (
    ConsentRecord,
    Subscriber,
    SuppressedAddress,
    Topic,
    timezone_validate,
)
from subscriptions.parsing import frequency_parse, terms_parse
from subscriptions.preferences import Preferences
from subscriptions.services import (
    STOPPED,
    ConsentMeta,
    consent_record,
    preferences_apply,
    subscriber_resend_confirmation,
)

logger = logging.getLogger(__name__)
Status = Subscriber.Status

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


def _import_row_parse(
    row: dict[str, str], topics_by_slug: dict[str, Topic]
) -> tuple[str, Preferences]:
    """One CSV row -> (normalised address, preferences); empty cells leave a preference alone."""
    cell = {name: (row.get(name) or "").strip() for name in IMPORT_COLUMNS}
    email = address_normalise(cell["email"])
    preferences: dict[str, object] = {}
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
    return email, Preferences(**preferences)


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
                subscriber_resend_confirmation(subscriber=subscriber)
            except Exception:
                logger.exception(
                    "import: confirmation email to subscriber %s failed", subscriber.pk
                )
                report.mail_failed.append(subscriber.email)
    return report


def _import_one(
    email: str,
    preferences: Preferences,
    *,
    confirmed: bool,
    meta: ConsentMeta,
    report: ImportReport,
) -> str:
    """Create or update one subscriber; returns the reason when it was skipped, else ""."""
    subscriber = Subscriber.objects.filter(email=email).first()
    if subscriber is None:
        subscriber = Subscriber.objects.create(
            email=email,
            status=Status.ACTIVE if confirmed else Status.PENDING,
            confirmed_at=timezone.now() if confirmed else None,
        )
        preferences_apply(subscriber=subscriber, preferences=preferences)
        consent_record(subscriber=subscriber, action=ConsentRecord.Action.IMPORT, meta=meta)
        report.created += 1
        if not confirmed:
            report.to_confirm.append(subscriber)
        return ""
    if subscriber.status in STOPPED:
        return f"{subscriber.status}: an import never resubscribes"
    if subscriber.status == Status.PENDING and subscriber.unsubscribed_at is not None:
        return "unsubscribed and not confirmed again: an import never resubscribes"
    changed = preferences_apply(subscriber=subscriber, preferences=preferences)
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
