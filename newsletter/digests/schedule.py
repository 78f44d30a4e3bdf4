"""When a listing day's run starts and when each subscriber's digest of it is due. Pure functions.

The run of listing day D starts at ``DAILY_RUN_HOUR`` (UTC) on D, when the day's listings are
complete. A subscriber's digest of D is due when their own clock next shows ``send_hour``:00
after that start. Each day's run therefore has exactly one send time per subscriber, computed
from the time zone database, so daylight saving time moves it with the wall clock (07:00 in
Berlin is 06:00 UTC in winter, 05:00 UTC in summer), and a changeover day neither skips it nor
sends it twice. A local hour that does not exist on a spring-forward night is the first moment
after the gap; one that happens twice in autumn is its first occurrence.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


def run_start(*, day: date, hour: int) -> datetime:
    """When the run of listing ``day`` starts (UTC)."""
    return datetime.combine(day, time(hour), tzinfo=UTC)


def run_day_at(*, now: datetime, hour: int) -> date:
    """The listing day whose run is the latest to have started at ``now``."""
    now = now.astimezone(UTC)
    return now.date() if now.hour >= hour else now.date() - timedelta(days=1)


@lru_cache(maxsize=4096)
def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")  # the subscriptions app validates names; an odd one gets UTC


def _local_instant(local_day: date, hour: int, zone: ZoneInfo) -> datetime:
    # fold=0: an ambiguous hour is its first occurrence; a missing one lands after the gap.
    naive = datetime.combine(local_day, time(hour))
    return naive.replace(tzinfo=zone).astimezone(UTC)


def _standard_offset(zone: ZoneInfo, year: int) -> timedelta:
    """The zone's smaller offset of the year (winter time in either hemisphere)."""
    offsets = [datetime(year, month, 1, 12, tzinfo=zone).utcoffset() for month in (1, 7)]
    return min(offset or timedelta(0) for offset in offsets)


@lru_cache(maxsize=65536)
def send_time(*, day: date, tz_name: str, hour: int, run_hour: int) -> datetime:
    """When the digest of listing ``day`` is due for a subscriber at ``hour`` local in ``tz_name``.

    The local date is chosen on standard time (the first ``hour``:00 after the run starts), so
    it is the same number of days after ``day`` all year: a changeover neither skips a local
    day nor gives one two digests. In summer that moment can fall up to an hour before the
    start; such a digest goes as soon as the day's candidates are fixed."""
    start = run_start(day=day, hour=run_hour)
    zone = _zone(tz_name)
    standard_start = start + _standard_offset(zone, day.year)
    local_day = standard_start.date()
    if standard_start.time() > time(hour):
        local_day += timedelta(days=1)
    return _local_instant(local_day, hour, zone)


def due_slots(
    *, day: date, slots: Iterable[tuple[str, int]], until: datetime, run_hour: int
) -> list[tuple[str, int]]:
    """The (time zone, hour) pairs among ``slots`` whose digest of ``day`` is due by ``until``."""
    return [
        (tz, hour)
        for tz, hour in slots
        if send_time(day=day, tz_name=tz, hour=hour, run_hour=run_hour) <= until
    ]


def last_send_time(*, day: date, run_hour: int) -> datetime:
    """The latest any subscriber's digest of ``day`` can be due: a day and an hour after the
    start covers every time zone and hour."""
    return run_start(day=day, hour=run_hour) + timedelta(hours=25)
