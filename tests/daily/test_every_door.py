"""Every door into a day gives the same answer: the beat tick, run_daily, send_digests, the admin
and ingest --sources agree on the current listing day at every hour, and on the day a weekly
reader gets, in UTC, Berlin, New York and Tokyo."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command

from newsletter.daily import run as daily
from newsletter.daily.models import DailyRun
from newsletter.digests.models import Digest
from newsletter.lib import days
from newsletter.papers.models import Source
from tests.daily.daily_helpers import Recorder, listing_for, reader

pytestmark = pytest.mark.django_db
WEEK = [date(2026, 1, 29) + timedelta(days=n) for n in range(7)]  # Thu 29 Jan .. Wed 4 Feb
ZONES = {
    "UTC": date(2026, 2, 2),
    "Europe/Berlin": date(2026, 2, 2),
    "America/New_York": date(2026, 2, 2),
    "Asia/Tokyo": date(2026, 2, 1),
}


@pytest.fixture(autouse=True)
def _setup(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.MATCHING_SEMANTIC = False
    settings.DAILY_RUN_HOUR = 23
    Source.objects.all().delete()
    for day in WEEK:
        listing_for(day)


def _weekly_tuesday(tz: str):
    return reader(
        f"{tz.replace('/', '.').lower()}@example.com",
        tz=tz,
        hour=7,
        keywords=["diffusion"],
        frequency="weekly",
        weekday=1,
    )


@pytest.mark.parametrize("tz", sorted(ZONES))
def test_the_tick_serves_a_weekly_tuesday_reader_the_day_whose_send_is_their_local_tuesday(tz):
    subscriber = _weekly_tuesday(tz)
    recorder = Recorder(run_chunks=True)
    moment = datetime(2026, 1, 29, 23, tzinfo=UTC)
    while moment < datetime(2026, 2, 6, tzinfo=UTC):
        daily.daily_tick(now=moment, dispatch=recorder.dispatch())
        moment += timedelta(hours=1)
    assert list(Digest.objects.filter(subscriber=subscriber).values_list("day", flat=True)) == [
        ZONES[tz]
    ]


@pytest.mark.parametrize("tz", sorted(ZONES))
def test_run_daily_and_send_digests_serve_a_weekly_reader_the_same_day_as_the_tick(tz):
    subscriber = _weekly_tuesday(tz)
    for day in WEEK:
        call_command("send_digests", "--date", day.isoformat(), stdout=StringIO())
    assert list(Digest.objects.filter(subscriber=subscriber).values_list("day", flat=True)) == [
        ZONES[tz]
    ]
    Digest.objects.all().delete()
    DailyRun.objects.all().delete()  # the next door starts from fresh days
    for day in WEEK:
        call_command(
            "run_daily",
            "--no-progress",
            "--no-fetch",
            "--date",
            day.isoformat(),
            "--now",
            "2026-02-07T00:00Z",
            stdout=StringIO(),
            stderr=StringIO(),
        )
    assert list(Digest.objects.filter(subscriber=subscriber).values_list("day", flat=True)) == [
        ZONES[tz]
    ]


@pytest.mark.parametrize("hour", range(0, 24, 1))
def test_every_door_names_the_same_listing_day_at_every_hour(hour, admin_client):
    moment = datetime(2026, 2, 3, hour, 30, tzinfo=UTC)
    expected = date(2026, 2, 3) if hour >= 23 else date(2026, 2, 2)
    subscriber = reader("door@example.com", keywords=["diffusion"])
    with time_machine.travel(moment, tick=False):
        assert days.listing_day_now() == expected
        [run] = daily.daily_tick(now=moment, dispatch=Recorder().dispatch())
        assert run.day == expected  # the beat tick
        out = StringIO()
        call_command("run_daily", "--no-progress", "--dry-run", stdout=out)
        assert f"listing day {expected}" in out.getvalue()
        out = StringIO()
        call_command("send_digests", "--dry-run", stdout=out)
        assert f"digests of {expected}:" in out.getvalue()
        out = StringIO()
        call_command("ingest", "--sources", "--dry-run", stdout=out, stderr=StringIO())
        digest = Digest.objects.create(subscriber=subscriber, day=date(2026, 1, 1))
        response = admin_client.post(
            "/admin/digests/digest/",
            {"action": "send_today_now", "_selected_action": [digest.pk]},
            follow=True,
        )
        [said] = [str(m) for m in response.context["messages"]]
        assert said.startswith(f"door@example.com: digest of {expected}:")
