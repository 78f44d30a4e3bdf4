"""07:00 in Berlin stays 07:00 on the clock through both changeovers: hourly ticks, frozen time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.utils import timezone

from newsletter.daily import run as daily
from newsletter.digests.models import Digest
from newsletter.papers.models import Source
from tests.daily.daily_helpers import Recorder, reader

pytestmark = pytest.mark.django_db
BERLIN = ZoneInfo("Europe/Berlin")


@pytest.mark.parametrize(
    "first_tick",
    [datetime(2026, 3, 27, 23, tzinfo=UTC), datetime(2026, 10, 23, 23, tzinfo=UTC)],
    ids=["spring-forward", "fall-back"],
)
def test_a_berlin_reader_gets_one_digest_a_day_at_seven_on_the_clock(settings, first_tick):
    settings.DAILY_RUN_HOUR = 23
    settings.MATCHING_SEMANTIC = False
    Source.objects.all().delete()
    berlin = reader("berlin@example.com", tz="Europe/Berlin", hour=7, quiet_day_note=True)
    recorder = Recorder(run_chunks=True)
    for hour in range(4 * 24):  # four days of hourly beat ticks around the changeover
        with time_machine.travel(first_tick + timedelta(hours=hour), tick=False):
            daily.daily_tick(now=timezone.now(), dispatch=recorder.dispatch())
    built = list(Digest.objects.filter(subscriber=berlin).order_by("day"))
    local = [digest.created_at.astimezone(BERLIN) for digest in built]
    assert len(built) == 4 == len({digest.day for digest in built})
    assert [moment.hour for moment in local] == [7, 7, 7, 7]
    dates = [moment.date() for moment in local]
    assert dates == [dates[0] + timedelta(days=n) for n in range(4)]  # no day skipped
