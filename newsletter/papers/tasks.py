"""Thin Celery tasks for ingest. The names of the first two are the ones beat schedules stored
before the papers app existed, so existing PeriodicTask rows keep working."""

from datetime import date

from celery import shared_task
from django.conf import settings

from newsletter.lib import days
from newsletter.papers import daily, resolve, sweep


@shared_task(name="newsletter.ingest_source")
def ingest_source(source_id: int, day: str) -> None:
    """Fetch and store one Source's listing for ``day`` (ISO date). Failures are recorded on
    the IngestRun, not retried: the next daily run tries again."""
    daily.source_ingest(source_id=source_id, day=date.fromisoformat(day))


@shared_task(name="newsletter.ingest_all_sources")
def ingest_all_sources(day: str | None = None) -> list[int]:
    """Beat entry point: resolve the day once (the current listing day) and fan out one task per enabled
    Source and day due (missed days of dated Sources too), so one failure never stops the others."""
    resolved = date.fromisoformat(day) if day else days.listing_day_now()
    plan, _ = daily.sources_ingest(
        day=resolved,
        dispatch=lambda source_id, due: ingest_source.delay_on_commit(source_id, due.isoformat()),
    )
    return sorted({source_id for source_id, _ in plan.due})


@shared_task(name="newsletter.papers.ingest_runs_sweep")
def ingest_runs_sweep() -> int:
    """Beat entry point: fail the runs whose task is gone and queue their source and day again;
    returns how many were queued."""
    result = sweep.ingest_runs_sweep(
        dispatch=lambda source_id, day: ingest_source.delay_on_commit(source_id, day.isoformat())
    )
    return len(result.requeued)


@shared_task(name="newsletter.papers.titles_resolve")
def titles_resolve_task() -> int:
    """After an ingest and from beat: look a batch of title-only papers up on arXiv, within the
    time limit (a lookup may take two fetches), then queue the next batch while any are due.
    Returns how many were found (0 when TITLE_LOOKUP is off)."""
    if not settings.TITLE_LOOKUP:
        return 0
    budget = settings.CELERY_TASK_SOFT_TIME_LIMIT - 2 * settings.INGEST_FETCH_DEADLINE - 10
    result = resolve.titles_resolve(seconds=max(budget, 0))
    if result.more:
        titles_resolve_task.delay()
    return result.found
