"""When a reader's next digest comes, in words, for the pages and emails that tell them.

The moment itself comes from the rules the daily run sends by (``newsletter.lib.days.next_send``);
this module only says it in the reader's own time zone: "today at 18:00 Berlin time", "tomorrow,
Tue 9 Dec, at 07:00 Berlin time", "on Fri 12 Dec at 07:00 New York time".
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.utils import timezone

from newsletter.lib import days
from subscriptions.models import Subscriber


def zone_label(tz_name: str) -> str:
    """How a time zone reads after a time: "Berlin time", "New York time", "UTC"."""
    region, _, city = tz_name.rpartition("/")
    if not region or region == "Etc":
        return tz_name  # UTC, GMT, Etc/GMT+5: the name is the label
    return f"{city.replace('_', ' ')} time"


def _day_words(day: datetime, *, year: bool) -> str:
    return f"{day:%a} {day.day} {day:%b}" + (f" {day.year}" if year else "")


def send_time_words(*, moment: datetime, now: datetime, tz_name: str) -> str:
    """``moment`` as the reader of ``tz_name`` says it at ``now``: today, tomorrow or a date."""
    tz = days.zone(tz_name)
    local, today = moment.astimezone(tz), now.astimezone(tz).date()
    at = f"at {local:%H:%M} {zone_label(tz_name)}"
    if local.date() == today:
        return f"today {at}"
    day = _day_words(local, year=local.year != today.year)
    if local.date() == today + timedelta(days=1):
        return f"tomorrow, {day}, {at}"
    return f"on {day} {at}"


def subscriber_next_digest(*, subscriber: Subscriber, now: datetime | None = None) -> str:
    """When ``subscriber``'s next digest is due, in words (their zone, hour and frequency)."""
    now = now or timezone.now()
    moment = days.next_send(
        now=now,
        tz_name=subscriber.timezone,
        hour=subscriber.send_hour,
        frequency=subscriber.frequency,
        weekday=subscriber.weekday,
    )
    return send_time_words(moment=moment, now=now, tz_name=subscriber.timezone)
