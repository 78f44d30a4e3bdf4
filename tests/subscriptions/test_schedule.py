"""A newcomer is told when their first digest comes, in words, in their own time zone."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from subscriptions.models import Subscriber
from subscriptions.schedule import subscriber_next_digest, zone_label

MON_7_DEC_10_UTC = datetime(2026, 12, 7, 10, tzinfo=UTC)  # Monday


@pytest.fixture(autouse=True)
def _run_hour(settings):
    settings.DAILY_RUN_HOUR = 23


def words(now: datetime, tz: str, hour: int, frequency: str = "daily", weekday: int = 0) -> str:
    reader = Subscriber(timezone=tz, send_hour=hour, frequency=frequency, weekday=weekday)
    return subscriber_next_digest(subscriber=reader, now=now)


@pytest.mark.parametrize(
    ("now", "tz", "hour", "expected"),
    [
        # Monday morning: today's listing day runs tonight, so Berlin reads it Tuesday at 07:00.
        (MON_7_DEC_10_UTC, "Europe/Berlin", 7, "tomorrow, Tue 8 Dec, at 07:00 Berlin time"),
        # An evening hour after the run has started: the same local day.
        (datetime(2026, 12, 8, 8, tzinfo=UTC), "Europe/Berlin", 18, "today at 18:00 Berlin time"),
        # Half past midnight in Berlin (23:30 UTC): "tomorrow morning" is now today.
        (datetime(2026, 12, 7, 23, 30, tzinfo=UTC), "Europe/Berlin", 7, "today at 07:00 Berlin time"),
        (datetime(2026, 12, 7, 23, 30, tzinfo=UTC), "UTC", 7, "tomorrow, Tue 8 Dec, at 07:00 UTC"),
        # 22:00 in New York on Monday: still Monday there, so the 07:00 digest is tomorrow's.
        (datetime(2026, 12, 8, 3, tzinfo=UTC), "America/New_York", 7,
         "tomorrow, Tue 8 Dec, at 07:00 New York time"),
        # 07:00 on Tuesday in Tokyo, an hour before Monday's run starts: 09:00 is still today.
        (datetime(2026, 12, 7, 22, tzinfo=UTC), "Asia/Tokyo", 9, "today at 09:00 Tokyo time"),
        (datetime(2026, 12, 7, 22, tzinfo=UTC), "America/Argentina/Buenos_Aires", 7,
         "tomorrow, Tue 8 Dec, at 07:00 Buenos Aires time"),
    ],
)  # fmt: skip
def test_a_daily_reader_is_told_their_first_digest_in_their_own_time_zone(now, tz, hour, expected):
    assert words(now, tz, hour) == expected


@pytest.mark.parametrize(
    ("weekday", "expected"),
    [
        (1, "tomorrow, Tue 8 Dec, at 07:00 Berlin time"),
        (4, "on Fri 11 Dec at 07:00 Berlin time"),
        (0, "on Mon 14 Dec at 07:00 Berlin time"),  # today's 07:00 has passed: next week
    ],
)
def test_a_weekly_reader_is_told_their_own_weekday(weekday, expected):
    assert words(MON_7_DEC_10_UTC, "Europe/Berlin", 7, "weekly", weekday) == expected


def test_a_date_in_another_year_says_the_year():
    now = datetime(2026, 12, 30, 10, tzinfo=UTC)
    assert words(now, "Europe/Berlin", 7, "weekly", 0) == "on Mon 4 Jan 2027 at 07:00 Berlin time"


def test_a_weekly_reader_in_tokyo_gets_their_local_weekday_not_utcs():
    # Sunday 22:00 UTC is Monday 07:00 in Tokyo: a Monday 09:00 reader is served today.
    now = datetime(2026, 12, 6, 22, tzinfo=UTC)
    assert words(now, "Asia/Tokyo", 9, "weekly", 0) == "today at 09:00 Tokyo time"


@pytest.mark.parametrize(
    ("name", "label"),
    [("Europe/Berlin", "Berlin time"), ("UTC", "UTC"), ("Etc/GMT+5", "Etc/GMT+5")],
)
def test_zone_labels_read_as_a_place(name, label):
    assert zone_label(name) == label
