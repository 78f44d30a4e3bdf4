"""Ingesting one input (a file, a URL's bytes, a parsed listing): parse, store, record an IngestRun."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from newsletter.papers.models import IngestRun
from newsletter.papers.sources import Listing, SourceError, parse_listing
from newsletter.papers.upsert import IngestCounts, papers_upsert


@dataclass(slots=True)
class IngestResult:
    input: str
    counts: IngestCounts = field(default_factory=IngestCounts)
    refused: list[SourceError] = field(default_factory=list)
    run_id: int | None = None
    listing_date: date | None = None  # the day its entries were filed under

    def line(self) -> str:
        """``<input>: N new, M updated, K unchanged (listing day YYYY-MM-DD)``."""
        line = self.counts.line(self.input)
        return f"{line} (listing day {self.listing_date})" if self.listing_date else line


def listing_ingest(
    *,
    data: bytes,
    name: str,
    format: str = "auto",
    listing_date: date | None = None,
    today: date | None = None,
    dry_run: bool = False,
    origin: str | None = None,
) -> IngestResult:
    """Parse ``data`` and store its papers. Raises SourceError (and records a failed
    IngestRun unless ``dry_run``) when the input is not a listing; nothing stored changes then."""
    today = today or timezone.now().date()
    started = timezone.now()
    try:
        listing = parse_listing(
            data,
            name=name,
            format=format,
            today=today,
            listing_date=listing_date,
            max_bytes=settings.INGEST_MAX_BYTES,
        )
    except SourceError as exc:
        if not dry_run:
            IngestRun.objects.create(
                input=name[:2000],
                format=format if format != "auto" else "",
                listing_date=listing_date,
                status=IngestRun.Status.FAILED,
                started_at=started,
                finished_at=timezone.now(),
                error=str(exc),
            )
        raise
    return listing_store(
        listing=listing, today=today, dry_run=dry_run, origin=origin, started=started
    )


def listing_store(
    *,
    listing: Listing,
    today: date,
    dry_run: bool = False,
    origin: str | None = None,
    started: datetime | None = None,
) -> IngestResult:
    """Store a parsed listing, recording an IngestRun (unless ``dry_run``). Entries are filed
    under ``origin``, by default the file's name or the URL."""
    day = listing.listing_date or today
    result = IngestResult(input=listing.name, refused=list(listing.problems), listing_date=day)
    origin = origin or _origin_of(listing.name)
    with transaction.atomic():
        run = None
        if not dry_run:
            run = IngestRun.objects.create(
                input=listing.name[:2000],
                format=listing.format,
                listing_date=day,
                started_at=started or timezone.now(),
            )
        result.counts = papers_upsert(
            records=listing.records, origin=origin, listing_date=day, run=run
        )
        if run is None:
            transaction.set_rollback(True)
        else:
            finish_run(run, result)
            run.save()
            result.run_id = run.pk
    return result


def finish_run(run: IngestRun, result: IngestResult) -> None:
    """Record ``result`` on ``run`` (unsaved): ok, or partial when records were refused."""
    run.status = IngestRun.Status.PARTIAL if result.refused else IngestRun.Status.OK
    run.new_count, run.updated_count, run.unchanged_count = (
        result.counts.new,
        result.counts.updated,
        result.counts.unchanged,
    )
    run.refused_count = len(result.refused)
    run.error = "\n".join(str(problem) for problem in result.refused[:50])
    run.finished_at = timezone.now()


def _origin_of(name: str) -> str:
    """Entries from a file are filed under its name; from a URL, under the URL."""
    if "://" in name:
        return name[:200]
    return name.replace("\\", "/").rsplit("/", 1)[-1][:200] or name[:200]
