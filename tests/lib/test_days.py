"""The rules of the listing day: which day it is, when each reader gets it (DST included), weekly readers."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from newsletter.lib import days

BERLIN = ZoneInfo("Europe/Berlin")


def due(day: date, tz: str = "Europe/Berlin", hour: int = 7) -> datetime:
    return days.send_time(day=day, tz_name=tz, hour=hour, run_hour=23)


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
    assert days.run_day_at(now=datetime(2026, 3, 3, 22, 59, tzinfo=UTC), hour=23) == date(
        2026, 3, 2
    )
    assert days.run_day_at(now=datetime(2026, 3, 3, 23, 0, tzinfo=UTC), hour=23) == date(2026, 3, 3)


@pytest.mark.parametrize("hour", range(24))
def test_the_listing_day_now_is_the_latest_whose_run_has_started_at_every_hour(hour, settings):
    settings.DAILY_RUN_HOUR = 23
    now = datetime(2026, 2, 3, hour, 30, tzinfo=UTC)
    expected = date(2026, 2, 3) if hour == 23 else date(2026, 2, 2)
    assert days.listing_day_now(now) == expected


# A "weekly, Tuesday" reader at 07:00 local, with the run of a day at 23:00 UTC: the listing day
# whose send time is their local Tuesday 07:00, in each zone.
WEEKLY_TUESDAY = {
    "UTC": (date(2026, 2, 2), datetime(2026, 2, 3, 7, tzinfo=UTC)),
    "Europe/Berlin": (date(2026, 2, 2), datetime(2026, 2, 3, 6, tzinfo=UTC)),
    "America/New_York": (date(2026, 2, 2), datetime(2026, 2, 3, 12, tzinfo=UTC)),
    "Asia/Tokyo": (date(2026, 2, 1), datetime(2026, 2, 2, 22, tzinfo=UTC)),
}


@pytest.mark.parametrize("tz", sorted(WEEKLY_TUESDAY))
def test_a_weekly_tuesday_reader_gets_the_day_whose_send_time_is_their_local_tuesday(tz, settings):
    settings.DAILY_RUN_HOUR = 23
    day, moment = WEEKLY_TUESDAY[tz]
    week = [date(2026, 1, 29) + timedelta(days=n) for n in range(7)]
    due = [d for d in week if days.weekly_due(day=d, tz_name=tz, hour=7, weekday=1)]
    assert due == [day]
    assert days.send_time(day=day, tz_name=tz, hour=7).astimezone(ZoneInfo(tz)).weekday() == 1
    assert days.send_time(day=day, tz_name=tz, hour=7) == moment
    assert days.week_since(day) == day - timedelta(days=6)


@pytest.mark.parametrize("tz", sorted(WEEKLY_TUESDAY))
def test_the_next_send_of_a_weekly_reader_is_their_next_local_tuesday_at_their_hour(tz, settings):
    settings.DAILY_RUN_HOUR = 23
    _, moment = WEEKLY_TUESDAY[tz]
    now = datetime(2026, 1, 28, 12, tzinfo=UTC)  # a Wednesday
    assert days.next_send(now=now, tz_name=tz, hour=7, frequency="weekly", weekday=1) == moment
    # Just after that send, the next one is a week later.
    later = days.next_send(
        now=moment + timedelta(seconds=1), tz_name=tz, hour=7, frequency="weekly", weekday=1
    )
    assert later == moment + timedelta(days=7)


def test_the_next_send_of_a_daily_reader_is_their_next_hour_after_a_run_started(settings):
    settings.DAILY_RUN_HOUR = 23
    # 10:00 UTC on 3 Feb: the run of 2 Feb started at 23:00 on 2 Feb; Berlin's 07:00 on 3 Feb
    # (06:00 UTC) has passed, so the next is the digest of 3 Feb, at 07:00 on 4 Feb.
    now = datetime(2026, 2, 3, 10, tzinfo=UTC)
    got = days.next_send(now=now, tz_name="Europe/Berlin", hour=7, frequency="daily")
    assert got == datetime(2026, 2, 4, 6, tzinfo=UTC)
    ny = days.next_send(now=now, tz_name="America/New_York", hour=7, frequency="daily")
    assert ny == datetime(2026, 2, 3, 12, tzinfo=UTC)


@pytest.mark.parametrize(
    ("day", "refused"),
    [
        (date(2026, 2, 2), False),
        (date(2026, 2, 3), True),  # its run starts at 23:00 today
        (date(2099, 1, 5), True),
        (date(9999, 12, 31), True),
        (date(1, 1, 1), True),
        (date(1990, 1, 1), True),
    ],
)
def test_a_future_day_or_one_outside_the_servable_range_is_refused(day, refused, settings):
    settings.DAILY_RUN_HOUR = 23
    now = datetime(2026, 2, 3, 10, tzinfo=UTC)
    assert bool(days.listing_day_problem(day=day, now=now)) is refused
