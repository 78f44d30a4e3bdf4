"""Each listing day's digest is due at the subscriber's own hour, daylight saving time included."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from newsletter.digests import schedule

BERLIN = ZoneInfo("Europe/Berlin")


def due(day: date, tz: str = "Europe/Berlin", hour: int = 7) -> datetime:
    return schedule.send_time(day=day, tz_name=tz, hour=hour, run_hour=23)


def test_seven_in_berlin_is_six_utc_in_winter_and_five_in_summer():
    assert due(date(2026, 1, 14)) == datetime(2026, 1, 15, 6, tzinfo=UTC)
    assert due(date(2026, 7, 14)) == datetime(2026, 7, 15, 5, tzinfo=UTC)


@pytest.mark.parametrize(
    ("first", "last"),
    [(date(2026, 3, 24), date(2026, 4, 3)), (date(2026, 10, 20), date(2026, 10, 30))],
    ids=["spring-forward", "fall-back"],
)
@pytest.mark.parametrize("hour", [0, 2, 3, 7, 23])
def test_across_a_changeover_every_day_has_one_send_at_the_local_hour_on_its_own_date(
    first, last, hour
):
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    local = [due(day, hour=hour).astimezone(BERLIN) for day in days]
    dates = [moment.date() for moment in local]
    assert dates == sorted(set(dates)), "a local day got two digests"
    # Consecutive listing days land on consecutive local days: none is skipped.
    assert all((b - a).days == 1 for a, b in itertools.pairwise(dates))
    # 02:00 does not exist on the spring-forward night: that one goes at 03:00.
    assert all(moment.hour == hour or (hour == 2 and moment.hour == 3) for moment in local)


def test_far_east_readers_get_the_day_at_their_next_morning_after_the_run_starts():
    # The run of 3 March starts at 23:00 UTC, 08:00 on 4 March in Tokyo: 07:00 has passed there.
    assert due(date(2026, 3, 3), "Asia/Tokyo") == datetime(2026, 3, 4, 22, tzinfo=UTC)
    assert due(date(2026, 3, 3), "America/Los_Angeles") == datetime(2026, 3, 4, 15, tzinfo=UTC)


def test_the_current_listing_day_changes_at_the_run_hour():
    assert schedule.run_day_at(now=datetime(2026, 3, 3, 22, 59, tzinfo=UTC), hour=23) == date(
        2026, 3, 2
    )
    assert schedule.run_day_at(now=datetime(2026, 3, 3, 23, 0, tzinfo=UTC), hour=23) == date(
        2026, 3, 3
    )
