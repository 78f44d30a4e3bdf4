"""The rules of the listing day, in one place. Pure functions over times (stdlib and settings).

Which listing day it is: the run of listing day D starts at ``DAILY_RUN_HOUR`` (UTC) on D, when
the day's listings are complete, so "today's" listing day at a moment is the latest one whose run
has started (``listing_day_now``). Every default "today" in the tree (the beat tick, every
command, the admin, the home page) asks this module.

When a reader gets it: a subscriber's digest of D is due when their own clock next shows
``send_hour``:00 after that start (``send_time``). Each day's run therefore has exactly one send
time per subscriber, computed from the time zone database, so daylight saving time moves it with
the wall clock (07:00 in Berlin is 06:00 UTC in winter, 05:00 UTC in summer), and a changeover day
neither skips it nor sends it twice. A local hour that does not exist on a spring-forward night is
the first moment after the gap; one that happens twice in autumn is its first occurrence.

A weekly reader ("weekly, Tuesday") gets, on their local Tuesday at their hour, the digest of the
listing day whose send time that is, covering that day and the six before (``weekly_due``,
``week_since``).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings

WEEK_DAYS = 7  # a weekly digest covers its listing day and the six before
# The first listing day the service can serve (arXiv's first announcements, August 1991), and the
# last: a day whose week and send times stay inside the calendar.
FIRST_DAY = date(1991, 8, 1)
LAST_DAY = date(9999, 12, 29)


def _run_hour(run_hour: int | None) -> int:
    return settings.DAILY_RUN_HOUR if run_hour is None else run_hour


def run_start(*, day: date, hour: int | None = None) -> datetime:
    """When the run of listing ``day`` starts (UTC)."""
    return datetime.combine(day, time(_run_hour(hour)), tzinfo=UTC)


def run_day_at(*, now: datetime, hour: int | None = None) -> date:
    """The listing day whose run is the latest to have started at ``now``."""
    now = now.astimezone(UTC)
    return now.date() if now.hour >= _run_hour(hour) else now.date() - timedelta(days=1)


def listing_day_now(now: datetime | None = None) -> date:
    """Which listing day it is at ``now`` (default: the real current time)."""
    if now is None:
        now = datetime.now(UTC)
    return run_day_at(now=now)


def listing_day_problem(*, day: date, now: datetime | None = None) -> str:
    """Why ``day`` cannot be run at ``now`` (a future day, or one outside what the service can
    serve); "" when it can."""
    if not FIRST_DAY <= day <= LAST_DAY:
        return f"{day.isoformat()} is outside the listing days this service can serve"
    current = listing_day_now(now)
    if day > current:
        return (
            f"{day.isoformat()} is a future listing day: its run starts at "
            f"{run_start(day=day):%Y-%m-%d %H:%M} UTC (the current listing day is {current})"
        )
    return ""


def week_since(day: date) -> date:
    """The first listing day of the week that a weekly digest of ``day`` covers."""
    return day - timedelta(days=WEEK_DAYS - 1)


@lru_cache(maxsize=4096)
def zone(name: str) -> ZoneInfo:
    """The time zone ``name``; UTC for one the time zone database does not know."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")  # the subscriptions app validates names; an odd one gets UTC


def _local_instant(local_day: date, hour: int, tz: ZoneInfo) -> datetime:
    # fold=0: an ambiguous hour is its first occurrence; a missing one lands after the gap.
    naive = datetime.combine(local_day, time(hour))
    return naive.replace(tzinfo=tz).astimezone(UTC)


def _standard_offset(tz: ZoneInfo, year: int) -> timedelta:
    """The zone's smaller offset of the year (winter time in either hemisphere)."""
    offsets = [datetime(year, month, 1, 12, tzinfo=tz).utcoffset() for month in (1, 7)]
    return min(offset or timedelta(0) for offset in offsets)


@lru_cache(maxsize=65536)
def send_time(*, day: date, tz_name: str, hour: int, run_hour: int | None = None) -> datetime:
    """When the digest of listing ``day`` is due for a subscriber at ``hour`` local in ``tz_name``.

    The local date is chosen on standard time (the first ``hour``:00 after the run starts), so
    it is the same number of days after ``day`` all year: a changeover neither skips a local
    day nor gives one two digests. In summer that moment can fall up to an hour before the
    start; such a digest goes as soon as the day's candidates are fixed."""
    start = run_start(day=day, hour=run_hour)
    tz = zone(tz_name)
    standard_start = start + _standard_offset(tz, day.year)
    local_day = standard_start.date()
    if standard_start.time() > time(hour):
        local_day += timedelta(days=1)
    return _local_instant(local_day, hour, tz)


def send_weekday(*, day: date, tz_name: str, hour: int, run_hour: int | None = None) -> int:
    """The reader's local weekday (Monday 0) at their send time of listing ``day``."""
    moment = send_time(day=day, tz_name=tz_name, hour=hour, run_hour=run_hour)
    return moment.astimezone(zone(tz_name)).weekday()


def weekly_due(
    *, day: date, tz_name: str, hour: int, weekday: int, run_hour: int | None = None
) -> bool:
    """Whether a weekly reader of ``weekday`` gets the week's digest with listing ``day``: the
    day whose send time falls on that local weekday."""
    return send_weekday(day=day, tz_name=tz_name, hour=hour, run_hour=run_hour) == weekday


def due_slots(
    *, day: date, slots: Iterable[tuple[str, int]], until: datetime, run_hour: int | None = None
) -> list[tuple[str, int]]:
    """The (time zone, hour) pairs among ``slots`` whose digest of ``day`` is due by ``until``."""
    return [
        (tz, hour)
        for tz, hour in slots
        if send_time(day=day, tz_name=tz, hour=hour, run_hour=run_hour) <= until
    ]


def last_send_time(*, day: date, run_hour: int | None = None) -> datetime:
    """The latest any subscriber's digest of ``day`` can be due: a day and an hour after the
    start covers every time zone and hour."""
    return run_start(day=day, hour=run_hour) + timedelta(hours=25)


def next_send(
    *, now: datetime, tz_name: str, hour: int, frequency: str, weekday: int | None = None
) -> datetime:
    """When this reader's next digest email is due after ``now`` (UTC): the next listing day's
    send time, or, for a weekly reader (``frequency`` "weekly"), the next one that falls on
    their ``weekday``. The same rules the daily run sends by."""
    weekly = frequency == "weekly"
    # A send time is at most 25 hours after its day's run start, so the listing day before the
    # current one is the earliest that can still be due; a week and a day cover every weekday.
    first = listing_day_now(now) - timedelta(days=1)
    for offset in range(WEEK_DAYS + 2):
        day = first + timedelta(days=offset)
        moment = send_time(day=day, tz_name=tz_name, hour=hour)
        if moment <= now:
            continue
        if weekly and not weekly_due(day=day, tz_name=tz_name, hour=hour, weekday=weekday or 0):
            continue
        return moment
    raise ValueError(f"no send time found after {now.isoformat()}")  # unreachable for valid input
