"""Thin Celery tasks: plain arguments in, one service call."""

from datetime import date

from celery import shared_task
from django.utils import timezone

from newsletter import ingest, services
from newsletter.models import Source


@shared_task(name="newsletter.heartbeat")
def heartbeat(name: str = "worker") -> None:
    services.heartbeat_record(name=name)


# --- Ingestion (issue 3). ---


@shared_task(name="newsletter.ingest_source")
def ingest_source(source_id: int, day: str) -> None:
    """Fetch and store one Source's listing for ``day`` (ISO date). Failures are recorded on
    the IngestRun, not retried: the next daily run tries again."""
    ingest.source_ingest(source_id=source_id, day=date.fromisoformat(day))


@shared_task(name="newsletter.ingest_all_sources")
def ingest_all_sources(day: str | None = None) -> list[int]:
    """Beat entry point: resolve the day once (today, UTC) and fan out one task per enabled
    Source, so one failing source never stops the others."""
    day = day or timezone.now().date().isoformat()
    ids = list(Source.objects.filter(enabled=True).values_list("pk", flat=True))
    for source_id in ids:
        ingest_source.delay_on_commit(source_id, day)
    return ids
