"""What the management commands share: an option's text parsed into a value, or a CommandError
that says what was expected (one line, never a traceback). Call these in ``handle``, not as an
argparse ``type``: Django turns a CommandError raised while parsing the command line into a
traceback."""

from __future__ import annotations

from datetime import UTC, date, datetime

from django.core.management.base import CommandError


def date_option(value: str, *, name: str = "--date") -> date:
    """A ``YYYY-MM-DD`` option as a date."""
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"{name} must be YYYY-MM-DD, got {value[:40]!r}") from None


def moment_option(value: str, *, name: str = "--now") -> datetime:
    """An ISO time option as an aware datetime (UTC when it names no offset)."""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise CommandError(
            f"{name} must be an ISO time (2026-03-29T05:00Z), got {value[:40]!r}"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
