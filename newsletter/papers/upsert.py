"""The only writer of Paper and ListingEntry.

``papers_upsert`` stores records with a handful of bulk queries: one Paper per arXiv id, else per
title key (``title_key``: robust to how listings render LaTeX); a later, richer record fills gaps and
never erases what is known, and a record with an arXiv id joins the paper known by its title alone.
``paper_resolve`` gives a paper known by title alone the arXiv id a lookup found, merging it into
the paper of that id when there is one. After commit, ``papers_stored`` names the papers that are
new or changed.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

from django.db import IntegrityError, models, transaction
from django.utils import timezone

from newsletter.papers.models import IngestRun, ListingEntry, Paper, Source
from newsletter.papers.signals import papers_stored
from newsletter.papers.sources import PaperRecord, normalize_title

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
class IngestCounts:
    """How many distinct papers a listing brought: the one set of counters, stored on IngestRun."""

    new: int = 0
    updated: int = 0
    unchanged: int = 0

    def line(self, name: str) -> str:
        return f"{name}: {self.new} new, {self.updated} updated, {self.unchanged} unchanged"


def papers_upsert(
    *,
    records: Sequence[PaperRecord],
    origin: str,
    listing_date: date,
    source: Source | None = None,
    run: IngestRun | None = None,
) -> IngestCounts:
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
) -> IngestCounts:
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
    counts = IngestCounts(new=len(created), updated=len(changed))
    counts.unchanged = len(touched) - counts.new - counts.updated
    stored = sorted(p.pk for p in created.values()) + [p.pk for p in updates]
    if stored:
        transaction.on_commit(lambda: papers_stored.send(sender=Paper, paper_ids=stored))
    return counts


def paper_resolve(*, paper_id: int, record: PaperRecord) -> Paper | None:
    """Give the title-only paper ``paper_id`` what ``record`` (a lookup's answer, with an arXiv
    id) says. When a paper of that id exists, the title-only one joins it (one paper once): its
    listings, digest items and votes move over and it is deleted. Returns the paper that now holds
    the id, or None when ``paper_id`` is gone or has an id by now (a listing gave it one)."""
    for attempt in range(_ATTEMPTS):
        try:
            with transaction.atomic():
                return _resolve(paper_id, record)
        except IntegrityError:
            if attempt + 1 == _ATTEMPTS:
                raise
            logger.info("paper_resolve: concurrent insert of %s, retrying", record.arxiv_id)
    raise AssertionError("unreachable")


def _resolve(paper_id: int, record: PaperRecord) -> Paper | None:
    papers = Paper.objects.select_for_update().order_by("pk")
    paper = papers.filter(pk=paper_id, arxiv_id__isnull=True).first()
    if paper is None:
        return None
    twin = papers.filter(arxiv_id=record.arxiv_id).first()
    survivor = twin or paper
    if twin is not None:
        _merge(twin, _as_record(paper))
        twin.first_seen = min(twin.first_seen, paper.first_seen)
        _references_move(paper, twin)
        paper.delete()
    _merge(survivor, record)
    survivor.updated_at = timezone.now()
    survivor.save()
    transaction.on_commit(lambda: papers_stored.send(sender=Paper, paper_ids=[survivor.pk]))
    return survivor


def _as_record(paper: Paper) -> PaperRecord:
    """What ``paper`` knows, as a record another paper can be filled from."""
    values = {f.name: getattr(paper, f.name) for f in dataclasses.fields(PaperRecord)}
    for name in ("authors", "categories", "ai_keywords"):
        values[name] = tuple(values[name] or ())
    return PaperRecord(**{**values, "arxiv_id": paper.arxiv_id or ""})


def _references_move(loser: Paper, survivor: Paper) -> None:
    """Every row pointing at ``loser`` points at ``survivor`` instead; a row that would repeat
    one of the survivor's (the same listing, digest or vote) is deleted with the loser."""
    for relation in Paper._meta.related_objects:
        model, name = relation.related_model, relation.field.name
        rows = model._base_manager.filter(**{name: loser})
        for fields in _unique_sets(model, name):
            others = {f: models.OuterRef(f) for f in fields if f != name}
            twin_rows = model._base_manager.filter(**{name: survivor}, **others)
            rows.filter(models.Exists(twin_rows)).delete()
        rows.update(**{name: survivor})


def _unique_sets(model: type[models.Model], name: str) -> list[tuple[str, ...]]:
    """The unique field sets of ``model`` that hold ``name`` (constraints' conditions ignored:
    a row they would not count is dropped only when it repeats one of the survivor's)."""
    meta = model._meta
    sets = [(name,)] if meta.get_field(name).unique else []
    sets += [tuple(f) for f in meta.unique_together]
    sets += [tuple(c.fields) for c in meta.constraints if getattr(c, "fields", None)]
    return [s for s in sets if name in s]


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
