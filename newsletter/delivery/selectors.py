"""Reads about deliveries: counts per day and state, and the local outbox."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

from django.conf import settings
from django.db.models import Count
from django.db.models.functions import TruncDate
from django.utils import timezone

from newsletter.delivery.models import Delivery

_EML_NAME = re.compile(r"^[\w.-]{1,120}\.eml$")


def deliveries_by_day(*, days: int = 30) -> list[tuple[date, dict[str, int]]]:
    """[(day, {state: count})] for the last ``days`` days (UTC), newest first."""
    since = timezone.now() - timedelta(days=days)
    rows = (
        Delivery.objects.filter(created_at__gte=since)
        .annotate(day=TruncDate("created_at"))
        .values("day", "state")
        .annotate(n=Count("pk"))
    )
    table: dict[date, dict[str, int]] = {}
    for row in rows:
        table.setdefault(row["day"], {})[row["state"]] = row["n"]
    return sorted(table.items(), reverse=True)


@dataclass(frozen=True)
class OutboxEntry:
    name: str
    subject: str
    to: str
    written: datetime


def _parse(path: Path) -> EmailMessage:
    return message_from_bytes(path.read_bytes(), policy=policy.default)


def outbox_entries(*, limit: int = 200) -> list[OutboxEntry]:
    """The newest ``.eml`` files written by the outbox backend."""
    folder = Path(settings.OUTBOX_DIR)
    if not folder.is_dir():
        return []
    paths = sorted(folder.glob("*.eml"), reverse=True)[:limit]
    entries = []
    for path in paths:
        message = _parse(path)
        entries.append(
            OutboxEntry(
                name=path.name,
                subject=str(message["Subject"] or ""),
                to=str(message["To"] or ""),
                written=datetime.fromtimestamp(
                    path.stat().st_mtime, tz=timezone.get_current_timezone()
                ),
            )
        )
    return entries


def outbox_message(*, name: str) -> EmailMessage | None:
    """One outbox message by file name; None for a name that is not an outbox file."""
    if not _EML_NAME.match(name):
        return None
    path = Path(settings.OUTBOX_DIR) / name
    return _parse(path) if path.is_file() else None
