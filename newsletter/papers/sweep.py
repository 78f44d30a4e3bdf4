"""The database is the source of truth and the broker only a nudge: a periodic sweep finds ingest
runs whose task is gone and puts their work back on the queue.

A run is "running" from the moment its task starts. A worker killed mid-task (a crash, an
out-of-memory kill, the hard time limit) leaves it so for ever, and a broker may lose the task too:
kombu's filesystem transport deletes a message when a worker fetches it, so nothing redelivers it.
No task outlives the hard time limit, so a run still "running" well past it has no task left: the
sweep marks it failed and queues its source and day again, a few times at most, so an input that
kills every worker that reads it cannot loop for ever.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from newsletter.papers.models import IngestRun

logger = logging.getLogger(__name__)

# Past the hard time limit, how long before a run still "running" is taken to have no task left.
MARGIN = timedelta(minutes=5)
# Attempts of one source and day ended by the sweep before it stops queueing that day again.
MAX_ATTEMPTS = 3
# How every error the sweep writes begins; it also counts the attempts it ended.
LOST = "the task running this ingest ended without finishing it"


@dataclass(slots=True)
class SweepResult:
    """Runs marked failed, and the (source id, day) pairs queued again or given up on."""

    failed: list[int] = field(default_factory=list)
    requeued: list[tuple[int, date]] = field(default_factory=list)
    given_up: list[tuple[int, date]] = field(default_factory=list)


def stuck_after() -> timedelta:
    """How long a run may stay "running" before the sweep takes its task to be gone."""
    return timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT) + MARGIN


def ingest_runs_sweep(
    *, dispatch: Callable[[int, date], object], now: datetime | None = None
) -> SweepResult:
    """Mark every run stuck in "running" past ``stuck_after()`` failed, and hand its source and
    day to ``dispatch`` (the beat task queues an ingest task) unless that day has been ingested
    since, is being ingested, or already lost MAX_ATTEMPTS runs this way."""
    now = now or timezone.now()
    result = SweepResult()
    stuck = IngestRun.objects.filter(
        status=IngestRun.Status.RUNNING, started_at__lt=now - stuck_after()
    ).select_related("source")
    for run in stuck.order_by("started_at", "id"):
        # Claim the run first: of two sweeps at once, only one queues its day again.
        error = f"{LOST} (still running {_minutes(now - run.started_at)} after it started)"
        claimed = IngestRun.objects.filter(pk=run.pk, status=IngestRun.Status.RUNNING).update(
            status=IngestRun.Status.FAILED, finished_at=now, error=error
        )
        if not claimed:
            continue
        result.failed.append(run.pk)
        _requeue(run, error=error, dispatch=dispatch, result=result)
    return result


def _requeue(
    run: IngestRun, *, error: str, dispatch: Callable[[int, date], object], result: SweepResult
) -> None:
    source, day = run.source, run.listing_date
    if source is None or day is None or not source.enabled:
        logger.warning("ingest run %s: %s; nothing to queue again", run.pk, error)
        return
    same_day = IngestRun.objects.filter(source=source, listing_date=day)
    if same_day.filter(
        Q(status__in=IngestRun.SUCCESSFUL) | Q(status=IngestRun.Status.RUNNING),
        started_at__gte=run.started_at,
    ).exists():
        logger.info(
            "ingest run %s: %s; %s for %s is done or running again", run.pk, error, source, day
        )
        return
    attempts = same_day.filter(status=IngestRun.Status.FAILED, error__startswith=LOST).count()
    if attempts >= MAX_ATTEMPTS:
        note = f"; not queued again: {attempts} attempts of this day ended this way"
        IngestRun.objects.filter(pk=run.pk).update(error=error + note)
        logger.error("ingest run %s: %s%s (%s, %s)", run.pk, error, note, source, day)
        result.given_up.append((source.pk, day))
        return
    note = f"; queued again (attempt {attempts + 1} of {MAX_ATTEMPTS})"
    IngestRun.objects.filter(pk=run.pk).update(error=error + note)
    logger.warning("ingest run %s: %s%s (%s, %s)", run.pk, error, note, source, day)
    dispatch(source.pk, day)
    result.requeued.append((source.pk, day))


def _minutes(elapsed: timedelta) -> str:
    minutes = int(elapsed.total_seconds() // 60)
    return f"{minutes} minute{'s' if minutes != 1 else ''}"
