"""The daily ingest: every enabled Source for a day, and the days a dated Source still owes.

The beat task and ``manage.py ingest --sources`` both call ``sources_ingest``: the task hands it a
``dispatch`` that queues one task per (source, day), the command runs them in its own process.
Fetching happens outside any database transaction (a slow upstream never holds a write lock); only
storing is transactional. A failure is recorded on the IngestRun, never raised.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import requests
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from newsletter.lib import days
from newsletter.papers import http
from newsletter.papers.ingest import IngestResult, finish_run
from newsletter.papers.models import IngestRun, Source
from newsletter.papers.sources import FORMATS, PaperRecord, SourceError, parse_listing
from newsletter.papers.upsert import papers_upsert

logger = logging.getLogger(__name__)

CATCH_UP_DAYS = 2


@dataclass(slots=True)
class DayPlan:
    """What the daily ingest of a day fetches, and the sources it cannot fetch for that day."""

    due: list[tuple[int, date]] = field(default_factory=list)  # (source id, listing day)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (source name, why)


@dataclass(slots=True)
class Fetched:
    """A Source's pages for a day, fetched and not yet stored; ``error`` when the fetch failed."""

    source: Source
    day: date
    started_at: datetime
    url: str = ""
    pages: list[http.FetchResult] = field(default_factory=list)
    page_problems: list[SourceError] = field(default_factory=list)
    error: str = ""


def sources_due(*, day: date, now: datetime | None = None) -> DayPlan:
    """Every enabled Source for ``day``; for Sources whose URL names the day, also each of the
    CATCH_UP_DAYS before it without a successful run (an outage is made up the next day).

    A Source whose feed shows only the current announcement (arXiv's listing feeds) is fetched
    only for the current listing day at ``now`` (default: the real current time, never the day
    asked for): filing today's feed under a past day would be wrong, so it is skipped."""
    today = days.listing_day_now(now or timezone.now())
    sources = list(Source.objects.filter(enabled=True))
    earlier = [day - timedelta(days=n) for n in range(CATCH_UP_DAYS, 0, -1)]
    done = set(
        IngestRun.objects.filter(
            source__in=sources, listing_date__in=earlier, status__in=IngestRun.SUCCESSFUL
        ).values_list("source_id", "listing_date")
    )
    plan = DayPlan()
    for source in sources:
        if source.is_dated:
            plan.due += [(source.pk, d) for d in earlier if (source.pk, d) not in done]
            plan.due.append((source.pk, day))
        elif day == today:
            plan.due.append((source.pk, day))
        else:
            plan.skipped.append(
                (
                    source.name,
                    f"skipped for {day}: its feed shows only the current announcement, so a "
                    "past day cannot be fetched from it",
                )
            )
    return plan


def sources_ingest(
    *,
    day: date,
    dispatch: Callable[[int, date], object] | None = None,
    session: requests.Session | None = None,
) -> tuple[DayPlan, list[IngestRun]]:
    """The daily ingest of ``day``: each (source, day) due is handed to ``dispatch`` (the beat
    task queues one task each), else ingested here, one after another; one failing never stops
    the others. Returns the plan and the runs made here."""
    plan = sources_due(day=day)
    for name, why in plan.skipped:
        logger.info("ingest: %s %s", name, why)
    runs = []
    for source_id, due_day in plan.due:
        if dispatch is not None:
            dispatch(source_id, due_day)
            continue
        try:
            runs.append(source_ingest(source_id=source_id, day=due_day, session=session))
        except Exception:
            logger.exception("source %s failed for %s", source_id, due_day)
    return plan, runs


def sources_fetch_store(
    *, due: list[tuple[int, date]], workers: int = 8, session_factory=None
) -> list[IngestRun]:
    """Ingest each (source, day) of ``due`` in this process: the fetches run side by side (they
    are independent and mostly wait on the network), the storing one after another. Each source
    is fetched once, with its HTTP retries; a failure is recorded on its IngestRun."""
    sources = {source.pk: source for source in Source.objects.filter(pk__in={s for s, _ in due})}
    todo = [(sources[pk], day) for pk, day in due if pk in sources]
    runs = []
    for source, day in todo:
        run = _new_run(source, day)
        run.save()  # "running" while we fetch, as a worker's
        runs.append(run)
    build = session_factory or http.build_session

    def fetch(item: tuple[Source, date]) -> Fetched:
        source, day = item
        return source_fetch(source=source, day=day, session=build())

    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(todo) or 1))) as pool:
        fetched = list(pool.map(fetch, todo))
    stored = []
    for one, run in zip(fetched, runs, strict=True):
        try:
            stored.append(source_store(fetched=one, run=run))
        except Exception:
            logger.exception("storing %s failed for %s", one.source.name, one.day)
            stored.append(run)
    return stored


def source_ingest(
    *,
    source_id: int,
    day: date,
    session: requests.Session | None = None,
    dry_run: bool = False,
) -> IngestRun:
    """Ingest one Source for ``day``. The returned IngestRun says how it went, or why not.

    With ``dry_run`` nothing is written (the run returned is unsaved) and the request is
    unconditional, so the counts say what a real run would store.
    """
    source = Source.objects.get(pk=source_id)
    run = _new_run(source, day)
    if not dry_run:
        run.save()  # "running" while we fetch: the sweep finds it if this worker dies
    fetched = source_fetch(source=source, day=day, session=session, conditional=not dry_run)
    return source_store(fetched=fetched, run=run, dry_run=dry_run)


def source_fetch(
    *,
    source: Source,
    day: date,
    session: requests.Session | None = None,
    conditional: bool = True,
) -> Fetched:
    """The source's pages for ``day`` ([] when not modified). Network only: never in a transaction.
    The failure of a later page keeps the pages before it; a failing first page is ``error``."""
    fetched = Fetched(source=source, day=day, started_at=timezone.now())
    try:
        fetched.url = source.url_for(day)
    except ValueError as exc:
        fetched.error = str(SourceError(str(exc), input_name=source.name))
        return fetched
    fetch = FORMATS[source.format].fetch
    if fetch is None:
        fetched.error = f"{source.name}: the {source.format} format cannot be fetched"
        return fetched
    validators = {}
    if conditional and source.cached_url == fetched.url:
        validators = {"etag": source.etag, "last_modified": source.last_modified}
    session = session or http.build_session()

    def get(page_url: str) -> bytes | None:
        # Conditional headers only on the first request: later pages are never cached.
        first = not fetched.pages
        try:
            result = http.http_get(page_url, session=session, **(validators if first else {}))
        except http.FetchError as exc:
            if first:
                raise
            fetched.page_problems.append(exc)
            return None  # stops the paging; the pages read so far are kept
        fetched.pages.append(result)
        return result.content

    try:
        fetch(url=fetched.url, day=day, get=get)
    except SourceError as exc:
        fetched.error = str(exc)
    except Exception as exc:
        logger.exception("fetching %s failed", source.name)
        fetched.error = f"unexpected {type(exc).__name__}: {str(exc)[:500]}"
    fetched.pages = [page for page in fetched.pages if page.content is not None]
    return fetched


def source_store(*, fetched: Fetched, run: IngestRun, dry_run: bool = False) -> IngestRun:
    """Parse and store what ``source_fetch`` brought, and finish ``run`` (saved unless
    ``dry_run``). Nothing here touches the network."""
    source = fetched.source
    run.input = (fetched.url or run.input)[:2000]
    try:
        if fetched.error:
            _fail(run, fetched.error)
        elif not fetched.pages:
            run.status = IngestRun.Status.NOT_MODIFIED
            run.finished_at = timezone.now()
        else:
            _store_pages(fetched, run=run, dry_run=dry_run)
    except SourceError as exc:
        _fail(run, str(exc))
    except Exception as exc:
        _fail(run, f"unexpected {type(exc).__name__}: {str(exc)[:500]}")
        raise
    finally:
        if not dry_run:
            run.save()
    logger.info(
        "ingest source=%s day=%s status=%s new=%s updated=%s unchanged=%s refused=%s",
        source.name,
        fetched.day,
        run.status,
        run.new_count,
        run.updated_count,
        run.unchanged_count,
        run.refused_count,
    )
    return run


def _new_run(source: Source, day: date) -> IngestRun:
    return IngestRun(
        source=source,
        input=source.url_template[:2000],
        format=source.format,
        listing_date=day,
        started_at=timezone.now(),
    )


def _store_pages(fetched: Fetched, *, run: IngestRun, dry_run: bool) -> None:
    source = fetched.source
    records, refused, page_problems = _parse_pages(fetched)
    page_problems = fetched.page_problems + page_problems
    with transaction.atomic():
        counts = papers_upsert(
            records=records,
            origin=source.name,
            listing_date=fetched.day,
            source=source,
            run=None if dry_run else run,
        )
        finish_run(
            run, IngestResult(input=source.name, counts=counts, refused=page_problems + refused)
        )
        if dry_run:
            transaction.set_rollback(True)
        elif not page_problems:
            # After a page went missing, the next run must not be answered "not modified".
            _remember_validators(source, fetched.url, fetched.pages[0])


def _parse_pages(
    fetched: Fetched,
) -> tuple[list[PaperRecord], list[SourceError], list[SourceError]]:
    """Every page's records, the refused records, and the later pages that are not listings
    (reported and skipped; the first page failing fails the run)."""
    records: list[PaperRecord] = []
    refused: list[SourceError] = []
    page_problems: list[SourceError] = []
    for number, page in enumerate(fetched.pages):
        assert page.content is not None
        try:
            listing = parse_listing(
                page.content,
                name=page.url,
                format=fetched.source.format,
                today=fetched.day,
                listing_date=fetched.day,
                max_bytes=settings.INGEST_MAX_BYTES,
            )
        except SourceError as exc:
            if number == 0:
                raise
            page_problems.append(exc)
            continue
        records.extend(listing.records)
        refused.extend(listing.problems)
    return records, refused, page_problems


def _remember_validators(source: Source, url: str, first: http.FetchResult) -> None:
    source.cached_url, source.etag, source.last_modified = (
        url[:2000],
        first.etag,
        first.last_modified,
    )
    source.save(update_fields=["cached_url", "etag", "last_modified"])


def _fail(run: IngestRun, error: str) -> None:
    run.status = IngestRun.Status.FAILED
    run.error = error
    run.finished_at = timezone.now()
