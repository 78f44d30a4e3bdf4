"""Thin Celery tasks for ingest. The names of the first two are the ones beat schedules stored
before the papers app existed, so existing PeriodicTask rows keep working."""

from datetime import date

from celery import shared_task

from newsletter.lib import days
from newsletter.papers import daily, sweep


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
