"""The only writer of Paper, ListingEntry and IngestRun.

``papers_upsert`` stores records with a handful of bulk queries: one Paper per arXiv id, else per
normalised title; a later, richer record fills gaps and never erases what is known.
``listing_ingest`` parses one input and stores it; ``source_ingest`` fetches a Source for a day.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import requests
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from newsletter import http
from newsletter.models import IngestRun, ListingEntry, Paper, Source
from newsletter.sources import (
    Listing,
    PaperRecord,
    SourceError,
    arxiv,
    hf_html,
    hf_json,
    normalize_title,
    parse_listing,
)

logger = logging.getLogger(__name__)

MERGE_FIELDS = [
    "arxiv_id",
    "abstract",
    "authors",
    "author_count",
    "authors_text",
    "published",
    "categories",
    "primary_category",
    "hf_url",
    "abs_url",
    "pdf_url",
    "code_url",
    "project_url",
    "thumbnail_url",
    "upvotes",
    "ai_summary",
    "ai_keywords",
]
_LINK_FIELDS = ["hf_url", "abs_url", "pdf_url", "code_url", "project_url", "thumbnail_url"]
_CHUNK = 500
_ATTEMPTS = 3


@dataclass(slots=True)
class UpsertCounts:
    new: int = 0
    updated: int = 0
    unchanged: int = 0


@dataclass(slots=True)
class IngestResult:
    input: str
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    refused: list[SourceError] = field(default_factory=list)
    run_id: int | None = None

    def line(self) -> str:
        return f"{self.input}: {self.new} new, {self.updated} updated, {self.unchanged} unchanged"


# --- Storing records. ---


def papers_upsert(
    *,
    records: Sequence[PaperRecord],
    origin: str,
    listing_date: date,
    source: Source | None = None,
    run: IngestRun | None = None,
) -> UpsertCounts:
    """Store ``records`` (one listing, in order) and their ListingEntry rows; count the distinct
    papers as new, updated or unchanged. Retries when a concurrent ingest inserted the same paper.
    """
    for attempt in range(_ATTEMPTS):
        try:
            with transaction.atomic():
                return _upsert(
                    records, origin=origin[:200], day=listing_date, source=source, run=run
                )
        except IntegrityError:
            if attempt + 1 == _ATTEMPTS:
                raise
            logger.info("papers_upsert: concurrent insert for %s, retrying", origin)
    raise AssertionError("unreachable")


def _upsert(
    records: Sequence[PaperRecord],
    *,
    origin: str,
    day: date,
    source: Source | None,
    run: IngestRun | None,
) -> UpsertCounts:
    now = timezone.now()
    titles = {normalize_title(r.title) for r in records}
    by_id, by_title = _existing(ids={r.arxiv_id for r in records if r.arxiv_id}, titles=titles)
    created: dict[int, Paper] = {}  # id(paper) -> paper, for papers new in this call
    touched: dict[int, Paper] = {}  # id(paper) -> paper, in listing order
    changed: set[int] = set()
    order: list[tuple[Paper, PaperRecord]] = []
    for record in records:
        paper = _match(record, by_id=by_id, by_title=by_title)
        if paper is None:
            paper = Paper(
                title=record.title,
                normalized_title=normalize_title(record.title),
                first_seen=now,
                updated_at=now,
            )
            created[id(paper)] = paper
            by_title.setdefault(paper.normalized_title, []).append(paper)
        if _merge(paper, record) and id(paper) not in created:
            changed.add(id(paper))
        if paper.arxiv_id:
            by_id[paper.arxiv_id] = paper
        touched.setdefault(id(paper), paper)
        order.append((paper, record))

    for paper in created.values():
        paper.arxiv_id = paper.arxiv_id or None
    Paper.objects.bulk_create(list(created.values()), batch_size=_CHUNK)
    # In primary key order, so concurrent ingests lock rows in the same order.
    updates = sorted((touched[key] for key in changed), key=lambda paper: paper.pk)
    for paper in updates:
        paper.updated_at = now
    Paper.objects.bulk_update(updates, [*MERGE_FIELDS, "updated_at"], batch_size=_CHUNK)
    _add_entries(order, origin=origin, day=day, source=source, run=run)
    counts = UpsertCounts(new=len(created), updated=len(changed))
    counts.unchanged = len(touched) - counts.new - counts.updated
    return counts


def _existing(
    *, ids: set[str], titles: set[str]
) -> tuple[dict[str, Paper], dict[str, list[Paper]]]:
    """Every stored paper sharing an arXiv id or a normalised title with the batch."""
    found: dict[int, Paper] = {}
    for chunk in _chunks(sorted(ids)):
        found.update((p.pk, p) for p in Paper.objects.filter(arxiv_id__in=chunk))
    for chunk in _chunks(sorted(titles)):
        found.update((p.pk, p) for p in Paper.objects.filter(normalized_title__in=chunk))
    by_id: dict[str, Paper] = {}
    by_title: dict[str, list[Paper]] = {}
    for paper in sorted(found.values(), key=lambda p: p.pk):
        if paper.arxiv_id:
            by_id[paper.arxiv_id] = paper
        by_title.setdefault(paper.normalized_title, []).append(paper)
    return by_id, by_title


def _match(
    record: PaperRecord, *, by_id: dict[str, Paper], by_title: dict[str, list[Paper]]
) -> Paper | None:
    candidates = by_title.get(normalize_title(record.title), [])
    if record.arxiv_id:
        if record.arxiv_id in by_id:
            return by_id[record.arxiv_id]
        # A paper known by title alone gets this id.
        return next((p for p in candidates if not p.arxiv_id), None)
    # Prefer the paper known by title alone (there is at most one), else the oldest with an id.
    return next((p for p in candidates if not p.arxiv_id), candidates[0] if candidates else None)


def _merge(paper: Paper, record: PaperRecord) -> bool:
    """Fill ``paper``'s gaps from ``record``; True if anything changed. Never erases."""
    before = {name: getattr(paper, name) for name in MERGE_FIELDS}
    if record.arxiv_id and not paper.arxiv_id:
        paper.arxiv_id = record.arxiv_id
    if len(record.abstract) > len(paper.abstract):
        paper.abstract = record.abstract
    if len(record.authors) > len(paper.authors or []):
        paper.authors = list(record.authors)
        paper.authors_text = ", ".join(record.authors)
    counts = [c for c in (paper.author_count, record.author_count, len(paper.authors or [])) if c]
    paper.author_count = max(counts) if counts else None
    if record.published and not paper.published:
        paper.published = record.published
    if record.categories:
        known = list(paper.categories or [])
        merged = known + [c for c in record.categories if c not in known]
        paper.categories = merged
        paper.primary_category = merged[0]
    for name in _LINK_FIELDS:
        value = getattr(record, name)
        if value and not getattr(paper, name):
            setattr(paper, name, value)
    if record.upvotes is not None and (paper.upvotes is None or record.upvotes > paper.upvotes):
        paper.upvotes = record.upvotes
    if record.ai_summary and not paper.ai_summary:
        paper.ai_summary = record.ai_summary
    if record.ai_keywords and not paper.ai_keywords:
        paper.ai_keywords = list(record.ai_keywords)
    return any(getattr(paper, name) != value for name, value in before.items())


def _add_entries(
    order: list[tuple[Paper, PaperRecord]],
    *,
    origin: str,
    day: date,
    source: Source | None,
    run: IngestRun | None,
) -> None:
    ids = {paper.pk for paper, _ in order}
    present: set[int] = set()
    for chunk in _chunks(sorted(ids)):
        present.update(
            ListingEntry.objects.filter(
                origin=origin, listing_date=day, paper_id__in=chunk
            ).values_list("paper_id", flat=True)
        )
    entries: dict[int, ListingEntry] = {}
    for rank, (paper, record) in enumerate(order, start=1):
        if paper.pk in present or paper.pk in entries:
            continue
        entries[paper.pk] = ListingEntry(
            paper_id=paper.pk,
            source=source,
            origin=origin,
            listing_date=day,
            rank=rank,
            upvotes=record.upvotes,
            run=run,
        )
    ListingEntry.objects.bulk_create(entries.values(), batch_size=_CHUNK, ignore_conflicts=True)


def _chunks(values: list, size: int = _CHUNK) -> Iterable[list]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


# --- One input, parsed and stored. ---


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
    result = IngestResult(input=listing.name, refused=list(listing.problems))
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
        counts = papers_upsert(records=listing.records, origin=origin, listing_date=day, run=run)
        result.new, result.updated, result.unchanged = counts.new, counts.updated, counts.unchanged
        if run is None:
            transaction.set_rollback(True)
        else:
            _finish(run, result)
            run.save()
            result.run_id = run.pk
    return result


def _finish(run: IngestRun, result: IngestResult) -> None:
    run.status = IngestRun.Status.PARTIAL if result.refused else IngestRun.Status.OK
    run.new_count, run.updated_count, run.unchanged_count = (
        result.new,
        result.updated,
        result.unchanged,
    )
    run.refused_count = len(result.refused)
    run.error = "\n".join(str(problem) for problem in result.refused[:50])
    run.finished_at = timezone.now()


def _origin_of(name: str) -> str:
    """Entries from a file are filed under its name; from a URL, under the URL."""
    if "://" in name:
        return name[:200]
    return name.replace("\\", "/").rsplit("/", 1)[-1][:200] or name[:200]


# --- Sources: fetch, parse, store; a failure is recorded on the run, never raised. ---


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
    run = IngestRun(
        source=source,
        input=source.url_template[:2000],
        format=source.format,
        listing_date=day,
        started_at=timezone.now(),
    )
    if not dry_run:
        run.save()
    try:
        url, fetched, page_problems = _fetch(
            source, day=day, session=session or http.build_session(), conditional=not dry_run
        )
        run.input = url[:2000]
        if not fetched:
            run.status = IngestRun.Status.NOT_MODIFIED
            run.finished_at = timezone.now()
        else:
            _store_pages(
                source,
                fetched,
                page_problems,
                run=run,
                url=url,
                day=day,
                dry_run=dry_run,
            )
    except SourceError as exc:
        _fail(run, str(exc))
    except Exception as exc:
        _fail(run, f"unexpected {type(exc).__name__}: {str(exc)[:500]}")
        raise
    finally:
        if not dry_run:
            run.save()
    return run


def _store_pages(
    source: Source,
    fetched: list[http.FetchResult],
    page_problems: list[SourceError],
    *,
    run: IngestRun,
    url: str,
    day: date,
    dry_run: bool,
) -> None:
    listing = _parse_pages(source, fetched, day=day)
    page_problems = page_problems + listing.page_problems
    with transaction.atomic():
        counts = papers_upsert(
            records=listing.records,
            origin=source.name,
            listing_date=day,
            source=source,
            run=None if dry_run else run,
        )
        result = IngestResult(
            input=source.name,
            new=counts.new,
            updated=counts.updated,
            unchanged=counts.unchanged,
            refused=[*page_problems, *listing.problems],
        )
        _finish(run, result)
        if dry_run:
            transaction.set_rollback(True)
        elif not page_problems:
            # After a page went missing, the next run must not be answered "not modified".
            _remember_validators(source, url, fetched[0])


def source_days_due(*, day: date, catch_up_days: int = 2) -> list[tuple[int, date]]:
    """(source id, day) pairs the daily run should fetch: every enabled Source for ``day``, and
    for Sources whose URL names the day, each of the ``catch_up_days`` before it that has no
    successful run yet (an outage at run time is made up the next day)."""
    sources = list(Source.objects.filter(enabled=True))
    earlier = [day - timedelta(days=n) for n in range(catch_up_days, 0, -1)]
    done = set(
        IngestRun.objects.filter(
            source__in=sources, listing_date__in=earlier, status__in=IngestRun.SUCCESSFUL
        ).values_list("source_id", "listing_date")
    )
    due = []
    for source in sources:
        if source.is_dated:
            due += [(source.pk, d) for d in earlier if (source.pk, d) not in done]
        due.append((source.pk, day))
    return due


def sources_ingest(
    *, day: date, session: requests.Session | None = None, dry_run: bool = False
) -> list[IngestRun]:
    """Ingest every enabled Source, one after another; one failing never stops the others."""
    runs = []
    for source_id in Source.objects.filter(enabled=True).values_list("pk", flat=True):
        try:
            runs.append(
                source_ingest(source_id=source_id, day=day, session=session, dry_run=dry_run)
            )
        except Exception:
            logger.exception("source %s failed", source_id)
    return runs


def _fetch(
    source: Source, *, day: date, session: requests.Session, conditional: bool = True
) -> tuple[str, list[http.FetchResult], list[SourceError]]:
    """The source's URL for ``day``, the pages fetched from it ([] when not modified), and the
    failure of a later page (the pages before it are kept; a failing first page raises)."""
    try:
        url = source.url_for(day)
    except ValueError as exc:
        raise SourceError(str(exc), input_name=source.name) from None
    validators = {}
    if conditional and source.cached_url == url:
        validators = {"etag": source.etag, "last_modified": source.last_modified}

    results: list[http.FetchResult] = []
    problems: list[SourceError] = []

    def get(page_url: str) -> bytes | None:
        # Conditional headers only on the first request: later pages are never cached.
        try:
            result = http.http_get(page_url, session=session, **(validators if not results else {}))
        except http.FetchError as exc:
            if not results:
                raise
            problems.append(exc)
            return None  # stops the paging; the pages read so far are kept
        results.append(result)
        return result.content

    if source.format == Source.Format.HF_JSON:
        hf_json.fetch(day=day, get=get, base=url)
    elif source.format == Source.Format.HF_HTML:
        hf_html.fetch(day=day, get=get, base=url)
    else:
        arxiv.fetch(url=url, get=get)
    return url, [r for r in results if r.content is not None], problems


@dataclass(slots=True)
class _Pages:
    records: list[PaperRecord] = field(default_factory=list)
    problems: list[SourceError] = field(default_factory=list)  # refused records
    page_problems: list[SourceError] = field(default_factory=list)  # unreadable later pages


def _parse_pages(source: Source, fetched: list[http.FetchResult], *, day: date) -> _Pages:
    """Every page's records. A later page that is not a listing is reported and skipped; the
    first one failing fails the run."""
    combined = _Pages()
    for number, page in enumerate(fetched):
        assert page.content is not None
        try:
            listing = parse_listing(
                page.content,
                name=page.url,
                format=source.format,
                today=day,
                listing_date=day,
                max_bytes=settings.INGEST_MAX_BYTES,
            )
        except SourceError as exc:
            if number == 0:
                raise
            combined.page_problems.append(exc)
            continue
        combined.records.extend(listing.records)
        combined.problems.extend(listing.problems)
    return combined


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
