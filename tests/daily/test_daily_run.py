"""The daily run's state machine: sources, deadline, quiet days, hours, weekly readers, stalls."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from django.core import mail
from django.utils import timezone

from newsletter.daily import run as daily
from newsletter.daily.models import DailyRun
from newsletter.digests.models import Digest
from newsletter.digests.selectors import subscribers_due
from newsletter.papers.models import IngestRun, Source
from subscriptions.models import Subscriber
from tests.daily.daily_helpers import Recorder, listing_for, reader

pytestmark = pytest.mark.django_db

DAY = date(2026, 3, 3)  # a Tuesday, winter time in Europe and America
START = datetime(2026, 3, 3, 23, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _quick(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.MATCHING_SEMANTIC = False  # keywords are enough to tell readers apart here
    settings.DAILY_RUN_HOUR = 23
    settings.DAILY_INGEST_DEADLINE_MINUTES = 120
    settings.DAILY_STALL_MINUTES = 20
    Source.objects.all().delete()


def source(name: str = "HF daily") -> Source:
    return Source.objects.create(
        name=name, format="hf-json", url_template="https://example.org/papers?date={date}"
    )


def ingest_run(src: Source, status: str, at: datetime) -> IngestRun:
    return IngestRun.objects.create(
        source=src, listing_date=DAY, status=status, started_at=at, finished_at=at
    )


def test_the_run_waits_for_a_late_source_until_the_deadline_then_goes_on_and_names_it():
    late = source("Slow source")
    recorder = Recorder()
    run, created = daily.daily_run_start(day=DAY, now=START, dispatch=recorder.dispatch())
    assert created and (late.pk, DAY) in recorder.ingests  # and the days it may have missed

    daily.daily_tick(now=START + timedelta(hours=1), dispatch=recorder.dispatch())
    run.refresh_from_db()
    assert run.state == DailyRun.State.INGESTING

    daily.daily_tick(now=START + timedelta(hours=2, minutes=1), dispatch=recorder.dispatch())
    run.refresh_from_db()
    assert run.state == DailyRun.State.SENDING
    assert "went on without late sources at the deadline: Slow source" in run.notes
    assert run.stages["ingest"]["status"] == "partial"


def test_a_failed_source_is_fetched_again_before_the_deadline(settings):
    settings.DAILY_INGEST_RETRIES = 1
    flaky = source()
    recorder = Recorder()
    daily.daily_run_start(day=DAY, now=START, dispatch=recorder.dispatch())
    ingest_run(flaky, IngestRun.Status.FAILED, timezone.now())

    daily.daily_tick(now=START + timedelta(minutes=30), dispatch=recorder.dispatch())
    assert recorder.ingests.count((flaky.pk, DAY)) == 2
    assert DailyRun.objects.get(day=DAY).state == DailyRun.State.INGESTING

    ingest_run(flaky, IngestRun.Status.OK, timezone.now() + timedelta(seconds=1))
    daily.daily_tick(now=START + timedelta(minutes=40), dispatch=recorder.dispatch())
    run = DailyRun.objects.get(day=DAY)
    assert run.state == DailyRun.State.SENDING
    assert run.stages["ingest"]["status"] == "ok"


def test_a_day_the_sources_list_nothing_is_recorded_as_quiet_with_why():
    quiet = source()
    recorder = Recorder(run_chunks=True)
    reader("reader@example.com", keywords=["diffusion"])
    daily.daily_run_start(day=DAY, now=START, dispatch=recorder.dispatch())
    ingest_run(quiet, IngestRun.Status.OK, timezone.now())

    daily.daily_tick(now=START + timedelta(hours=8), dispatch=recorder.dispatch())
    run = DailyRun.objects.get(day=DAY)
    assert run.candidates == 0
    assert "listed no papers for this day" in run.quiet_reason
    assert Digest.objects.get(day=DAY).papers_count == 0
    assert mail.outbox == []  # no email for nothing, unless asked


def test_a_reader_who_asked_for_it_gets_a_one_line_quiet_day_note():
    recorder = Recorder(run_chunks=True)
    reader("noted@example.com", keywords=["diffusion"], quiet_day_note=True)
    daily.daily_tick(now=START + timedelta(hours=8), dispatch=recorder.dispatch())
    assert DailyRun.objects.get(day=DAY).quiet_reason == "no source is enabled"
    assert [m.to for m in mail.outbox] == [["noted@example.com"]]


def test_each_reader_is_handed_out_once_when_their_local_hour_has_come():
    listing_for(DAY)
    berlin = reader("berlin@example.com", tz="Europe/Berlin", hour=7, keywords=["diffusion"])
    new_york = reader("ny@example.com", tz="America/New_York", hour=8, keywords=["diffusion"])
    recorder = Recorder(run_chunks=True)
    for hour in range(0, 17):  # hourly ticks from 23:00 UTC to 15:00 UTC the next day
        daily.daily_tick(now=START + timedelta(hours=hour), dispatch=recorder.dispatch())
        if hour == 7:  # 06:00 UTC = 07:00 in Berlin
            assert recorder.handed_out == [berlin.pk]
        if hour == 14:  # 13:00 UTC = 08:00 in New York
            assert recorder.handed_out == sorted([berlin.pk, new_york.pk])
    assert recorder.handed_out == sorted([berlin.pk, new_york.pk])


def test_weekly_readers_get_the_best_of_the_week_only_on_their_weekday():
    listing_for(DAY)
    wednesday = DAY + timedelta(days=1)  # the Berlin digest of 3 March goes out on 4 March
    on_day = reader(
        "weekly@example.com",
        keywords=["diffusion"],
        frequency="weekly",
        weekday=wednesday.weekday(),
    )
    reader(
        "other-day@example.com",
        keywords=["diffusion"],
        frequency="weekly",
        weekday=(wednesday.weekday() + 1) % 7,
    )
    recorder = Recorder(run_chunks=True)
    daily.daily_tick(now=START + timedelta(hours=8), dispatch=recorder.dispatch())
    assert [(ids, weekly) for _, ids, weekly in recorder.chunks] == [([on_day.pk], True)]
    assert Digest.objects.get(subscriber=on_day).since == DAY - timedelta(days=6)


def test_work_handed_out_but_never_done_is_handed_out_again_after_the_stall_time():
    listing_for(DAY)
    lost = reader("lost@example.com", keywords=["diffusion"])
    recorder = Recorder()  # the chunk task is lost: nothing builds the digest
    now = START + timedelta(hours=8)
    daily.daily_tick(now=now, dispatch=recorder.dispatch())
    daily.daily_tick(now=now + timedelta(minutes=10), dispatch=recorder.dispatch(), start=False)
    assert recorder.handed_out == [lost.pk]

    daily.daily_tick(now=now + timedelta(minutes=21), dispatch=recorder.dispatch(), start=False)
    assert recorder.handed_out == [lost.pk, lost.pk]
    assert "handed out again after a stall" in DailyRun.objects.get(day=DAY).notes


def test_the_run_is_done_once_every_send_time_has_passed_and_every_email_is_out():
    listing_for(DAY)
    reader("berlin@example.com", keywords=["diffusion"])
    reader("sydney@example.com", tz="Australia/Sydney", hour=9, keywords=["diffusion"])
    recorder = Recorder(run_chunks=True)
    daily.daily_tick(now=START + timedelta(hours=8), dispatch=recorder.dispatch())
    assert DailyRun.objects.get(day=DAY).state == DailyRun.State.SENDING

    daily.daily_tick(now=START + timedelta(hours=26), dispatch=recorder.dispatch(), start=False)
    run = DailyRun.objects.get(day=DAY)
    assert run.state == DailyRun.State.DONE
    assert run.stages["sending"]["sent"] == 2 == len(mail.outbox)
    assert {"ingest", "matching", "sending"} <= set(run.stages)


def test_paused_readers_are_not_due():
    reader("paused@example.com", keywords=["diffusion"]).__class__.objects.update(
        status=Subscriber.Status.PAUSED
    )
    due = subscribers_due(day=DAY, until=START + timedelta(days=2))
    assert len(due) == 0


def test_healthz_answers_503_when_the_run_is_past_its_deadline(client, time_machine):
    DailyRun.objects.create(
        day=DAY - timedelta(days=1), state="done", started_at=START, ingest_deadline=START
    )
    source()
    daily.daily_run_start(day=DAY, now=START, dispatch=Recorder().dispatch())
    time_machine.move_to(START + timedelta(hours=1), tick=False)
    assert client.get("/healthz").json()["daily_run"] == "ok"

    time_machine.move_to(START + timedelta(hours=2, minutes=30), tick=False)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert (
        response.json()["daily_run"]
        == f"late: the run of {DAY} is still ingesting past its deadline"
    )


def test_healthz_answers_503_when_the_days_run_never_started(client, time_machine):
    time_machine.move_to(START - timedelta(days=1), tick=False)  # yesterday's run was made then
    DailyRun.objects.create(
        day=DAY - timedelta(days=1), state="done", started_at=START, ingest_deadline=START
    )
    time_machine.move_to(START + timedelta(hours=2), tick=False)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert "has not started" in response.json()["daily_run"]


def test_healthz_says_ok_on_a_new_installation_whose_first_run_was_a_backfill(client, time_machine):
    # Installed (and a past day replayed by hand) after yesterday's run would have started.
    time_machine.move_to(START + timedelta(hours=2), tick=False)
    DailyRun.objects.create(
        day=date(2025, 11, 10), state="done", started_at=START, ingest_deadline=START
    )
    response = client.get("/healthz")
    assert response.json()["daily_run"] == "ok", response.json()


def test_a_stage_that_breaks_is_recorded_on_the_run_and_tried_again_next_tick(monkeypatch):
    listing_for(DAY)
    reader("reader@example.com", keywords=["diffusion"])

    def broken(**kwargs):
        raise RuntimeError("the vectors table is locked")

    monkeypatch.setattr(daily, "paper_vectors_ensure", broken)
    daily.daily_tick(now=START, dispatch=Recorder().dispatch())
    run = DailyRun.objects.get(day=DAY)
    assert run.state == DailyRun.State.MATCHING
    assert run.stages["matching"]["error"] == "RuntimeError: the vectors table is locked"

    monkeypatch.undo()
    daily.daily_tick(now=START + timedelta(hours=1), dispatch=Recorder().dispatch())
    assert DailyRun.objects.get(day=DAY).state == DailyRun.State.SENDING
