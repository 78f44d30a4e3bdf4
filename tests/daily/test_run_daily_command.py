"""``manage.py run_daily`` runs, replays and backfills a day by hand, without a worker."""

from __future__ import annotations

from datetime import date
from io import StringIO

import pytest
from django.core import mail
from django.core.management import CommandError, call_command

from newsletter.daily.models import DailyRun
from newsletter.digests.models import Digest
from newsletter.papers.models import Source
from tests.daily.daily_helpers import listing_for, reader

pytestmark = pytest.mark.django_db
DAY = date(2026, 3, 3)


@pytest.fixture(autouse=True)
def _setup(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.MATCHING_SEMANTIC = False
    settings.DAILY_RUN_HOUR = 23
    Source.objects.all().delete()
    listing_for(DAY)


def run_daily(*args: str) -> str:
    out = StringIO()
    call_command("run_daily", "--no-progress", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def test_it_sends_to_everyone_due_by_now_and_a_second_run_sends_nothing():
    reader("berlin@example.com", tz="Europe/Berlin", hour=7, keywords=["diffusion"])
    reader("la@example.com", tz="America/Los_Angeles", hour=8, keywords=["diffusion"])

    output = run_daily("--date", "2026-03-03", "--now", "2026-03-04T06:30:00+00:00")
    assert [m.to for m in mail.outbox] == [["berlin@example.com"]]
    assert "sent by this run: sent 1" in output
    assert "digest emails of the day: sent 1" in output

    output = run_daily("--date", "2026-03-03", "--now", "2026-03-04T06:30:00+00:00")
    assert len(mail.outbox) == 1
    assert "sent by this run: none" in output

    run_daily("--date", "2026-03-03", "--now", "2026-03-04T17:00:00+00:00")
    assert sorted(m.to[0] for m in mail.outbox) == ["berlin@example.com", "la@example.com"]
    assert DailyRun.objects.get(day=DAY).state == "sending"  # LA's hour was the last today


def test_a_dry_run_says_what_would_happen_and_changes_nothing():
    reader("berlin@example.com", keywords=["diffusion"])
    output = run_daily("--date", "2026-03-03", "--now", "2026-03-04T06:30:00+00:00", "--dry-run")
    assert "subscribers due: 1 daily, 0 weekly" in output
    assert "digests that would be built: with papers 1" in output
    assert not DailyRun.objects.exists() and not Digest.objects.exists()
    assert mail.outbox == []


def test_a_bad_date_is_a_clear_error():
    with pytest.raises(CommandError, match="--date must be YYYY-MM-DD"):
        run_daily("--date", "03/03/2026")
