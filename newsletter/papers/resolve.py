"""Papers known by title alone (a text capture, a Hugging Face page without an id) get their
arXiv id: looked up once, in a worker, after ingest.

Which papers need it is row state: a paper without an arXiv id that has no TitleLookup yet, or
one whose ``next_at`` has come. ``titles_resolve`` takes a few at a time, each claimed by a
conditional UPDATE that moves ``next_at`` a lease ahead (a worker that dies leaves it to be tried
again then). It asks the arXiv API for the exact title, and the Hugging Face papers search when
arXiv knows none, accepts an answer only when its title key is the paper's and the first authors
agree (when both are known), and stores it through ``upsert.paper_resolve``.

arXiv's API terms: at most one request every ``ARXIV_API_INTERVAL`` seconds (3) for all workers
together (the shared slot limit), a descriptive User-Agent (``INGEST_USER_AGENT``), backing off
on 429 and 503 (``http_get``, with Retry-After). When a lookup cannot be made (the upstream is
down, no network) the batch stops and that paper is tried again an hour later; this does not
count as an attempt. A title found nowhere, or found several times, is tried again after
``RETRY_AFTER_MISS`` (a paper can reach arXiv days after a listing shows it), at most
``MAX_ATTEMPTS`` times in all, then never.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlencode

import requests
from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone

from newsletter.lib.ratelimit import slot_wait
from newsletter.papers import http
from newsletter.papers.models import Paper, TitleLookup
from newsletter.papers.sources import PaperRecord, SourceError, arxiv, hf_json, normalize_title
from newsletter.papers.upsert import paper_resolve

logger = logging.getLogger(__name__)

ARXIV_API = "https://export.arxiv.org/api/query"
HF_SEARCH = "https://huggingface.co/api/papers/search"
BATCH = 20  # 20 lookups at 3 s each: a minute, well within a task's time limit
MAX_ATTEMPTS = 3
RETRY_AFTER_MISS = timedelta(days=7)
RETRY_AFTER_ERROR = timedelta(hours=1)
LEASE = timedelta(minutes=15)
Outcome = TitleLookup.Outcome


@dataclass(slots=True)
class ResolveResult:
    """How a batch went; ``more``: papers are still due (the task queues itself again)."""

    found: int = 0
    missed: int = 0
    failed: int = 0
    more: bool = False


def titles_resolve(
    *, limit: int = BATCH, seconds: float | None = None, session: requests.Session | None = None
) -> ResolveResult:
    """Look up to ``limit`` due papers up, starting no new lookup after ``seconds``."""
    started, now = time.monotonic(), timezone.now()
    _lookups_add(now)
    due = list(lookups_due(now=now).values_list("pk", flat=True)[: limit + 1])
    result = ResolveResult(more=len(due) > limit)
    for paper_id in due[:limit]:
        if seconds is not None and time.monotonic() - started > seconds:
            result.more = True
            break
        if not _claim(paper_id, now=now):
            continue
        try:
            outcome = title_resolve(paper_id=paper_id, session=session)
        except http.FetchError as exc:
            if not exc.transient:
                _record(paper_id, Outcome.ERROR, note=str(exc))
                result.failed += 1
                continue
            # The upstream is unhappy or out of reach: leave the rest for later.
            _record(paper_id, Outcome.ERROR, note=str(exc), after=RETRY_AFTER_ERROR, counts=False)
            logger.warning("title lookup stopped: %s", exc)
            result.failed, result.more = result.failed + 1, False
            break
        result.found += outcome == Outcome.FOUND
        result.missed += outcome != Outcome.FOUND
    return result


def lookups_due(*, now: datetime) -> QuerySet[TitleLookup]:
    """The lookups of papers still without an arXiv id whose time has come, oldest first."""
    return TitleLookup.objects.filter(next_at__lte=now, paper__arxiv_id__isnull=True).order_by(
        "next_at", "pk"
    )


def title_resolve(*, paper_id: int, session: requests.Session | None = None) -> str:
    """Look one paper up and record the outcome; FetchError when a lookup could not be made."""
    paper = Paper.objects.filter(pk=paper_id, arxiv_id__isnull=True).first()
    if paper is None:
        return Outcome.FOUND  # an ingest gave it an id meanwhile
    found = _matches(paper, _arxiv_candidates(paper.title, session=session))
    if not found:
        found = _matches(paper, _hf_candidates(paper.title, session=session))
    ids = sorted({record.arxiv_id for record in found})
    if len(ids) > 1:
        _record(paper_id, Outcome.AMBIGUOUS, note=", ".join(ids))
        return Outcome.AMBIGUOUS
    if not ids:
        _record(paper_id, Outcome.MISS)
        return Outcome.MISS
    survivor = paper_resolve(paper_id=paper_id, record=found[0])
    if survivor is not None:
        _record(survivor.pk, Outcome.FOUND, note=ids[0])
    return Outcome.FOUND


def arxiv_query_url(title: str) -> str:
    """The arXiv API query for an exact title: its words as one quoted phrase."""
    words = "".join(ch if ch.isalnum() else " " for ch in title).split()
    query = {"search_query": f'ti:"{" ".join(words)}"', "start": 0, "max_results": 10}
    return f"{ARXIV_API}?{urlencode(query)}"


def hf_search_url(title: str) -> str:
    return f"{HF_SEARCH}?{urlencode({'q': title})}"


def _arxiv_candidates(title: str, *, session: requests.Session | None) -> list[PaperRecord]:
    url = arxiv_query_url(title)
    body = http.http_get(url, session=session, pace=_arxiv_pace).content or b""
    return _parsed(lambda: arxiv.parse(body, name=url).records, url)


def _hf_candidates(title: str, *, session: requests.Session | None) -> list[PaperRecord]:
    url = hf_search_url(title)
    body = http.http_get(url, session=session).content or b""
    records = _parsed(lambda: hf_json.parse(body, name=url).records, url)
    # Upvotes are a listing's, not a search's.
    return [dataclasses.replace(record, upvotes=None) for record in records]


def _parsed(parse, url: str) -> list[PaperRecord]:
    try:
        return parse()
    except SourceError as exc:
        raise http.FetchError(exc.message, input_name=url, transient=False) from None


def _arxiv_pace() -> None:
    slot_wait("arxiv-api", gap=settings.ARXIV_API_INTERVAL)


def _matches(paper: Paper, candidates: list[PaperRecord]) -> list[PaperRecord]:
    """The candidates that are this paper: the same title key, and the same first author's
    family name when both name one."""
    first = _family(paper.authors[0]) if paper.authors else ""
    return [
        record
        for record in candidates
        if record.arxiv_id
        and normalize_title(record.title) == paper.normalized_title
        and (not first or not record.authors or _family(record.authors[0]) == first)
    ]


def _family(name: str) -> str:
    words = name.replace(",", " ").split()
    return normalize_title(words[-1]) if words else ""


def _lookups_add(now: datetime) -> None:
    """A pending lookup for each paper without an id that has none yet."""
    missing = Paper.objects.filter(arxiv_id__isnull=True, title_lookup__isnull=True)
    ids = list(missing.values_list("pk", flat=True)[:1000])
    TitleLookup.objects.bulk_create(
        [TitleLookup(paper_id=pk, next_at=now) for pk in ids], ignore_conflicts=True
    )


def _claim(paper_id: int, *, now: datetime) -> bool:
    lease = timezone.now() + LEASE
    return TitleLookup.objects.filter(pk=paper_id, next_at__lte=now).update(next_at=lease) == 1


def _record(
    paper_id: int,
    outcome: str,
    *,
    note: str = "",
    after: timedelta = RETRY_AFTER_MISS,
    counts: bool = True,
) -> None:
    now = timezone.now()
    lookup, _ = TitleLookup.objects.get_or_create(paper_id=paper_id)
    lookup.attempts += counts
    lookup.outcome, lookup.tried_at, lookup.note = outcome, now, note[:500]
    again = outcome != Outcome.FOUND and (not counts or lookup.attempts < MAX_ATTEMPTS)
    lookup.next_at = now + after if again else None
    lookup.save()
