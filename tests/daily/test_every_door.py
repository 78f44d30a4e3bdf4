"""Every door of a day gives the same answer: the beat tick, ``run_daily`` and ``send_digests``
name the same listing day at every hour, and a weekly reader is due on the same
listing day whichever door sends it."""

from datetime import UTC, date, datetime, timedelta
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command

from newsletter.daily.models import DailyRun
from newsletter.daily.run import Dispatch, daily_tick
from newsletter.digests.selectors import subscribers_due
from newsletter.lib import days
from subscriptions.models import Subscriber

pytestmark = pytest.mark.django_db

NOWHERE = Dispatch(ingest=lambda source_id, day: None, chunk=lambda day, ids, weekly: None)


def _run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out, stderr=StringIO())
    return out.getvalue()


@pytest.mark.parametrize("hour", [0, 6, 12, 22, 23])
def test_every_door_names_the_same_listing_day_at_every_hour(hour, settings):
    settings.DAILY_RUN_HOUR = 23
    moment = datetime(2026, 2, 3, hour, 30, tzinfo=UTC)
    expected = date(2026, 2, 3) if hour >= 23 else date(2026, 2, 2)
    with time_machine.travel(moment, tick=False):
        assert days.listing_day_now() == expected
        daily_tick(now=moment, dispatch=NOWHERE)
        assert list(DailyRun.objects.values_list("day", flat=True)) == [expected]
        assert f"dry run: listing day {expected}" in _run("run_daily", "--dry-run")
        assert f"digests of {expected.isoformat()}:" in _run("send_digests", "--dry-run")


@pytest.mark.parametrize("zone", ["UTC", "Europe/Berlin", "America/New_York", "Asia/Tokyo"])
def test_a_weekly_tuesday_reader_is_due_on_one_listing_day_through_every_door(zone, settings):
    settings.DAILY_RUN_HOUR = 23
    reader = Subscriber.objects.create(
        email="weekly@example.com",
        status=Subscriber.Status.ACTIVE,
        frequency=Subscriber.Frequency.WEEKLY,
        weekday=1,  # Tuesday
        timezone=zone,
        send_hour=7,
    )
    week = [date(2026, 2, 1) + timedelta(days=n) for n in range(7)]
    # The daily run asks with the moment of each hour; send_digests with the day's last send time.
    by_run = [
        day
        for day in week
        if reader.pk in subscribers_due(day=day, until=days.last_send_time(day=day)).weekly
    ]
    by_rule = [day for day in week if days.weekly_due(day=day, tz_name=zone, hour=7, weekday=1)]
    assert len(by_run) == 1 and by_run == by_rule
    send = days.send_time(day=by_run[0], tz_name=zone, hour=7)
    assert send.astimezone(days.zone(zone)).weekday() == 1  # their own Tuesday
    assert send.astimezone(days.zone(zone)).hour == 7
