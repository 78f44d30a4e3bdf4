"""No broker can lose ingest work: a run left "running" by a task that is gone is failed by the
sweep and its source and day are queued again, a few times at most."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from newsletter.celery import app
from newsletter.papers import sweep
from newsletter.papers.models import IngestRun, Source

from .conftest import Reply, data

pytestmark = pytest.mark.django_db
DAY = date(2024, 10, 25)
HF_PAGE0 = "https://huggingface.co/api/daily_papers?date=2024-10-25&p=0&limit=100"


@pytest.fixture
def source() -> Source:
    return Source.objects.get(name="Hugging Face daily papers (API)")


def _run(source: Source, *, age: timedelta, **fields) -> IngestRun:
    return IngestRun.objects.create(
        source=source,
        listing_date=DAY,
        format=source.format,
        started_at=timezone.now() - age,
        **fields,
    )


def _sweep() -> tuple[sweep.SweepResult, list[tuple[int, date]]]:
    queued: list[tuple[int, date]] = []
    result = sweep.ingest_runs_sweep(
        dispatch=lambda source_id, day: queued.append((source_id, day))
    )
    return result, queued


def test_a_run_left_running_past_the_hard_limit_is_failed_and_its_day_queued_again(source):
    run = _run(source, age=sweep.stuck_after() + timedelta(seconds=1))
    result, queued = _sweep()
    run.refresh_from_db()
    assert run.status == "failed" and run.finished_at is not None
    assert run.error.startswith("the task running this ingest ended without finishing it")
    assert "queued again (attempt 2 of 3)" in run.error
    assert queued == [(source.pk, DAY)] and result.requeued == queued
    assert _sweep()[1] == []  # the next sweep has nothing left to do


def test_a_run_within_the_hard_limit_and_its_margin_is_left_running(settings, source):
    settings.CELERY_TASK_TIME_LIMIT = 60
    run = _run(source, age=timedelta(seconds=60) + sweep.MARGIN - timedelta(seconds=5))
    assert _sweep()[1] == []
    run.refresh_from_db()
    assert run.status == "running"


def test_a_day_that_keeps_losing_its_worker_is_given_up_after_three_attempts(source):
    stuck = sweep.stuck_after() + timedelta(seconds=1)
    for hours in (3, 2):
        _run(source, age=stuck + timedelta(hours=hours))
        assert _sweep()[1] == [(source.pk, DAY)]
    last = _run(source, age=stuck)
    result, queued = _sweep()
    last.refresh_from_db()
    assert queued == [] and result.given_up == [(source.pk, DAY)]
    assert last.status == "failed"
    assert "not queued again: 3 attempts of this day ended this way" in last.error


def test_a_day_ingested_again_since_is_not_queued_again(source):
    stuck = _run(source, age=sweep.stuck_after() + timedelta(hours=1))
    _run(source, age=timedelta(minutes=1), status="ok", finished_at=timezone.now())
    assert _sweep()[1] == []
    stuck.refresh_from_db()
    assert stuck.status == "failed"


def test_a_run_of_a_disabled_source_is_failed_but_not_queued_again(source):
    Source.objects.filter(pk=source.pk).update(enabled=False)
    run = _run(source, age=sweep.stuck_after() * 2)
    assert _sweep()[1] == []
    run.refresh_from_db()
    assert run.status == "failed"


def test_the_beat_task_queues_the_ingest_again_and_the_day_gets_its_papers(
    source, transport, django_capture_on_commit_callbacks, monkeypatch
):
    from newsletter.papers import tasks

    transport.add(HF_PAGE0, Reply(body=data("hf/api_daily_papers_2024-10-25.json")))
    sent: list[tuple] = []
    monkeypatch.setattr(tasks.ingest_source, "delay", lambda *args: sent.append(args))
    stuck = _run(source, age=sweep.stuck_after() + timedelta(minutes=1))
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.ingest_runs_sweep() == 1
    assert sent == [(source.pk, DAY.isoformat())]
    tasks.ingest_source(*sent[0])  # what the worker does with it
    again = IngestRun.objects.exclude(pk=stuck.pk).get(source=source, listing_date=DAY)
    assert again.status == "ok" and again.new_count > 0


def test_beat_runs_the_sweep_every_five_minutes():
    entry = PeriodicTask.objects.get(task="newsletter.papers.ingest_runs_sweep")
    assert entry.enabled and (entry.interval.every, entry.interval.period) == (5, "minutes")
    assert entry.task in app.tasks
