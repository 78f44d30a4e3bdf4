"""``manage.py run_daily`` runs, replays and backfills a day by hand, without a worker."""

from __future__ import annotations

import re
import time
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


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--date", "2099-01-05"], "is a future listing day"),
        (["--date", "9999-12-31"], "outside the listing days"),
        (["--date", "0001-01-01"], "outside the listing days"),
        (["--date", "2026-02-30"], "--date must be YYYY-MM-DD"),
        (["--now", "yesterday"], "--now must be an ISO time"),
        (["--date", "2026-03-03", "--now", "2026-03-03T12:00Z"], "before the run of 2026-03-03"),
    ],
)
def test_a_day_it_cannot_run_is_refused_with_one_line_and_no_row(args, says):
    with pytest.raises(CommandError, match=re.escape(says)):
        run_daily(*args)
    assert not DailyRun.objects.filter(day__gt=DAY).exists()
    assert not DailyRun.objects.exists()


def test_a_past_day_skips_the_undated_feed_and_says_so(settings):
    Source.objects.create(
        name="arXiv cs.LG", format="arxiv", url_template="https://rss.arxiv.org/atom/cs.LG"
    )
    reader("berlin@example.com", tz="Europe/Berlin", hour=7, keywords=["diffusion"])
    output = run_daily("--date", "2026-03-03", "--now", "2026-03-04T06:30:00+00:00")
    assert "arXiv cs.LG: skipped for 2026-03-03: its feed shows only the current announcement" in (
        output
    )
    assert [m.to for m in mail.outbox] == [["berlin@example.com"]]


def test_on_an_unreachable_network_a_backfill_finishes_fast_and_names_the_failed_source(
    settings,
):
    settings.INGEST_HTTP_RETRIES = 3
    settings.INGEST_HTTP_BACKOFF = 5
    Source.objects.create(
        name="Nowhere", format="hf-json", url_template="http://127.0.0.1:9/{date}"
    )
    reader("berlin@example.com", tz="Europe/Berlin", hour=7, keywords=["diffusion"])
    clock = time.monotonic()
    output = run_daily("--date", "2026-03-03", "--now", "2026-03-05T00:00:00+00:00")
    assert time.monotonic() - clock < 10
    assert "source failed: Nowhere: " in output and "unreachable" in output
    assert DailyRun.objects.get(day=DAY).state in ("done", "partial")
    assert [m.to for m in mail.outbox] == [["berlin@example.com"]]
    run_daily("--date", "2026-03-03", "--no-fetch")
    assert len(mail.outbox) == 1


def test_a_capture_ingested_by_hand_then_run_daily_mails_each_due_reader_once_offline(
    settings, tmp_path
):
    """The operator's backfill on the embedded default with no network: `ingest <capture>
    --date D`, then `run_daily --date D` (every default source unreachable)."""
    settings.EMAIL_BACKEND = "newsletter.lib.outbox.OutboxBackend"
    settings.OUTBOX_DIR = tmp_path / "outbox"
    Source.objects.all().delete()
    for n, template in enumerate(["http://127.0.0.1:9/hf/{date}", "http://127.0.0.1:9/arxiv"]):
        Source.objects.create(name=f"offline {n}", format="hf-json", url_template=template)
    capture = "tests/data/listings/000_6fe003334612920c.txt"
    day = "2025-11-10"
    call_command("ingest", capture, "--date", day, stdout=StringIO(), stderr=StringIO())
    reader("a@example.com", tz="Europe/Berlin", hour=7, keywords=["model"])
    reader("b@example.com", tz="Asia/Tokyo", hour=9, keywords=["learning"])
    clock = time.monotonic()
    output = run_daily("--date", day)
    assert time.monotonic() - clock < 30
    assert "source failed: offline 0" in output
    assert "skipped for 2025-11-10" in output  # the undated one
    letters = sorted((tmp_path / "outbox").glob("*.eml"))
    assert len(letters) == 2, output
    again = run_daily("--date", day)
    assert "sent by this run: none" in again
    assert len(sorted((tmp_path / "outbox").glob("*.eml"))) == 2


def test_run_again_after_a_kill_it_finishes_the_days_left_over_emails_and_sends_none_twice(
    settings,
):
    from datetime import timedelta

    from django.utils import timezone

    from newsletter.delivery.models import Delivery

    for name in ("a", "b", "c", "d"):
        reader(f"{name}@example.com", tz="Europe/Berlin", hour=7, keywords=["diffusion"])
    run_daily("--date", "2026-03-03", "--now", "2026-03-05T00:00:00+00:00")
    assert len(mail.outbox) == 4
    mail.outbox.clear()
    # As a killed run leaves them: one never claimed, one claimed but never handed over, one
    # handed to the server with no answer recorded.
    long_ago = timezone.now() - timedelta(seconds=settings.DELIVERY_SENDING_TIMEOUT + 60)
    queued, abandoned, handed, done = Delivery.objects.order_by("pk")
    Delivery.objects.filter(pk=queued.pk).update(state="queued", attempts=0)
    Delivery.objects.filter(pk=abandoned.pk).update(
        state="sending", claimed_at=long_ago, handed_at=None
    )
    Delivery.objects.filter(pk=handed.pk).update(
        state="sending", claimed_at=long_ago, handed_at=long_ago
    )
    output = run_daily("--date", "2026-03-03", "--now", "2026-03-05T00:00:00+00:00")
    assert sorted(m.to[0] for m in mail.outbox) == sorted([queued.to_email, abandoned.to_email])
    states = dict(Delivery.objects.values_list("pk", "state"))
    assert states == {
        queued.pk: "sent",
        abandoned.pk: "sent",
        handed.pk: "uncertain",
        done.pk: "sent",
    }
    assert "not done: 1 emails are uncertain" in output


def test_on_the_command_line_a_malformed_date_is_one_line_and_a_failing_exit():
    import subprocess
    import sys

    from tests.helpers import ROOT, process_env

    for args in (["run_daily", "--date", "2026-02-30"], ["ingest", "--sources", "--date", "x"]):
        done = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=process_env(DJANGO_SETTINGS_MODULE="tests.settings"),
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 1
        assert (
            done.stderr.strip().splitlines() == [done.stderr.strip().splitlines()[-1]]
            and "--date must be YYYY-MM-DD" in done.stderr
        ), done.stderr
