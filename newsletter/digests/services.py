"""What each subscriber gets on a day, and handing it to the delivery ledger.

The interface the daily run builds on::

    digests_build(*, day, subscriber_ids, since=None) -> list[Digest]
    digests_enqueue(*, digests) -> list[int]          # delivery ids
    digests_missing_enqueue(*, day) -> int
    digest_send_now(*, subscriber, day=None) -> str

``digests_build`` is idempotent: a subscriber who already has a digest for ``day`` keeps it
unchanged; the others are ranked in chunks (a constant number of queries per chunk, whatever its
size) by matching's ``rankings_for_day``, never with a paper already in one of their digests, and
stored with their picks and up to ``TRENDING_COUNT`` "trending today" papers. A day with no picks
is stored too (``papers_count`` 0): a quiet day. ``digests_enqueue`` records one "digest"
delivery per digest worth an email; the message itself is built at send time
(``rendering.digest_message_build``).
"""

from __future__ import annotations

import logging
import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import date

from django.db import transaction
from django.db.models import Max, Q
from django.db.models.functions import Coalesce

from newsletter.delivery.models import Delivery
from newsletter.delivery.services import (
    Email,
    deliveries_enqueue,
    deliveries_nudge,
    deliveries_send,
)
from newsletter.digests.models import Digest, DigestItem
from newsletter.digests.selectors import (
    digest_deliveries,
    digest_key,
    digest_since,
    digest_wanted,
    digests_wanted,
)
from newsletter.lib import days
from newsletter.lib.bulk import values_insert
from newsletter.matching.engine import sent_key
from newsletter.matching.services import rankings_for_day
from newsletter.papers.models import Paper
from newsletter.papers.selectors import listings_in
from subscriptions.models import Interest, Subscriber

logger = logging.getLogger(__name__)

CHUNK = 500
TRENDING_COUNT = 3
# Candidates read once per build for the trending section: enough to fill three slots for a
# subscriber whose picks and past digests took the most upvoted ones.
_TRENDING_POOL = 60

Section = DigestItem.Section


def _chunks(items: list, size: int = CHUNK) -> Iterable[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _already_sent(
    subscriber_ids: list[int], candidates: tuple[list[int], list[str]]
) -> dict[int, set[str]]:
    """Which of the period's candidate papers (ids, arXiv ids) are in each subscriber's digests
    so far, named by ``sent_key`` (one query that reads no more rows as the months go by)."""
    paper_ids, arxiv_ids = candidates
    sent: dict[int, set[str]] = defaultdict(set)
    rows = (
        DigestItem.objects.filter(digest__subscriber_id__in=subscriber_ids)
        .filter(Q(paper_id__in=paper_ids) | Q(paper__arxiv_id__in=arxiv_ids))
        .values_list("digest__subscriber_id", "paper__arxiv_id", "paper_id")
    )
    for subscriber_id, arxiv_id, paper_id in rows:
        sent[subscriber_id].add(sent_key(arxiv_id, paper_id))
    return sent


def _candidates(day: date, since: date | None) -> tuple[list[int], list[str]]:
    """The papers listed in the period: their ids and arXiv ids."""
    rows = (
        Paper.objects.filter(pk__in=listings_in(day=day, since=since).values("paper_id"))
        .values_list("pk", "arxiv_id")
        .order_by()
    )
    paper_ids, arxiv_ids = [], []
    for pk, arxiv_id in rows:
        paper_ids.append(pk)
        if arxiv_id:
            arxiv_ids.append(arxiv_id)
    return paper_ids, arxiv_ids


def _trending_pool(day: date, since: date | None) -> list[tuple[int, str | None, str]]:
    """The period's most upvoted papers, best first: (paper id, arXiv id, title + abstract)."""
    best = (
        listings_in(day=day, since=since)
        .values("paper_id")
        .annotate(votes=Coalesce(Max("upvotes"), Max("paper__upvotes")))
        .filter(votes__gt=0)
        .order_by("-votes", "paper_id")[:_TRENDING_POOL]
    )
    order = {row["paper_id"]: i for i, row in enumerate(best)}
    papers = Paper.objects.filter(pk__in=list(order)).values_list(
        "pk", "arxiv_id", "title", "abstract"
    )
    rows = [
        (pk, arxiv_id, f"{title}\n{abstract}".casefold())
        for pk, arxiv_id, title, abstract in papers
    ]
    return sorted(rows, key=lambda row: order[row[0]])


def _exclusions(subscriber_ids: list[int]) -> dict[int, list[str]]:
    excluded: dict[int, list[str]] = defaultdict(list)
    rows = Interest.objects.filter(
        subscriber_id__in=subscriber_ids, kind=Interest.Kind.EXCLUDE
    ).values_list("subscriber_id", "value")
    for subscriber_id, value in rows:
        excluded[subscriber_id].append(value.casefold())
    return excluded


def _trending_for(
    pool: list[tuple[int, str | None, str]],
    taken_ids: set[int],
    sent: set[str],
    excluded: list[str],
) -> list[int]:
    chosen = []
    for pk, arxiv_id, text in pool:
        if pk in taken_ids or sent_key(arxiv_id, pk) in sent:
            continue
        if any(term in text for term in excluded):  # "leave out" holds for trending papers too
            continue
        chosen.append(pk)
        if len(chosen) == TRENDING_COUNT:
            break
    return chosen


def _chunk_build(
    day: date,
    since: date | None,
    chunk: list[int],
    pool: list[tuple[int, str | None, str]],
    candidates: tuple[list[int], list[str]],
) -> None:
    subscribers = dict(
        Subscriber.objects.filter(pk__in=chunk).values_list("pk", "trending").order_by()
    )
    chunk = [pk for pk in chunk if pk in subscribers]
    sent = _already_sent(chunk, candidates)
    rankings = rankings_for_day(day=day, subscriber_ids=chunk, already_sent=sent, since=since)
    excluded = _exclusions([pk for pk in chunk if subscribers[pk]])
    public_ids = {pk: uuid.uuid4() for pk in chunk}
    with transaction.atomic():
        # Another builder of the same day may have stored some meanwhile: theirs stand.
        Digest.objects.bulk_create(
            [
                Digest(
                    subscriber_id=pk,
                    day=day,
                    since=since,
                    public_id=public_ids[pk],
                    papers_count=len(rankings.get(pk, [])),
                )
                for pk in chunk
            ],
            ignore_conflicts=True,
        )
        ours = dict(
            Digest.objects.filter(public_id__in=public_ids.values()).values_list(
                "subscriber_id", "pk"
            )
        )
        # Rows as tuples, not model instances (a day writes about a million); the reasons of a
        # pick as one list per distinct set, which the insert writes out as JSON once.
        rows: list[tuple] = []
        reasons_lists: dict[tuple, list[dict]] = {}
        pick, trend = Section.PICK.value, Section.TRENDING.value
        for subscriber_id, digest_id in ours.items():
            picks = rankings.get(subscriber_id, [])
            for rank, chosen in enumerate(picks, start=1):
                reasons = reasons_lists.get(chosen.reasons)
                if reasons is None:
                    reasons = reasons_lists[chosen.reasons] = [r.as_dict() for r in chosen.reasons]
                rows.append((digest_id, chosen.paper_id, pick, rank, float(chosen.score), reasons))
            if subscribers[subscriber_id]:
                taken = {chosen.paper_id for chosen in picks}
                trending = _trending_for(
                    pool, taken, sent.get(subscriber_id, set()), excluded.get(subscriber_id, [])
                )
                rows += [
                    (digest_id, pk, trend, r, 0.0, []) for r, pk in enumerate(trending, start=1)
                ]
        values_insert(DigestItem, ["digest", "paper", "section", "rank", "score", "reasons"], rows)


def digests_build(
    *, day: date, subscriber_ids: Sequence[int], since: date | None = None
) -> list[Digest]:
    """Build and store the digests of ``day`` that do not exist yet; returns every one asked for.

    ``since`` (a weekly digest): candidates are the listings from ``since`` to ``day``. The
    digests come back in the order of ``subscriber_ids`` (ids of unknown subscribers are left
    out), with ``subscriber`` loaded.
    """
    ids = list(dict.fromkeys(subscriber_ids))
    pool: list | None = None
    candidates: tuple | None = None
    for chunk in _chunks(ids):
        existing = set(
            Digest.objects.filter(day=day, subscriber_id__in=chunk).values_list(
                "subscriber_id", flat=True
            )
        )
        todo = [pk for pk in chunk if pk not in existing]
        if not todo:
            continue
        if pool is None:
            pool = _trending_pool(day, since)
            candidates = _candidates(day, since)
        _chunk_build(day, since, todo, pool, candidates)
    return digests_for(day=day, subscriber_ids=ids)


def digests_for(*, day: date, subscriber_ids: Sequence[int]) -> list[Digest]:
    """The stored digests of ``day`` for these subscribers, in that order."""
    found = {
        digest.subscriber_id: digest
        for digest in Digest.objects.filter(day=day, subscriber_id__in=subscriber_ids)
        .select_related("subscriber")
        .order_by()
    }
    return [found[pk] for pk in subscriber_ids if pk in found]


def digests_enqueue(*, digests: Sequence[Digest]) -> list[int]:
    """One "digest" delivery per digest worth an email (idempotent), then one nudge for all:
    a constant number of queries for any number of digests.

    Returns the ids of the deliveries (new or already recorded).
    """
    wanted = [digest for digest in digests if digest_wanted(digest)]
    with transaction.atomic():
        rows = deliveries_enqueue(
            items=[
                Email(
                    kind="digest",
                    key=digest_key(subscriber_id=digest.subscriber_id, day=digest.day),
                    subscriber=digest.subscriber,
                    to_email=digest.subscriber.email,
                    payload={"digest_id": digest.pk},
                )
                for digest in wanted
            ]
        )
        fresh = [row.pk for row in rows if row.state == Delivery.State.QUEUED and not row.attempts]
        if fresh:
            deliveries_nudge(delivery_ids=fresh)
    return [row.pk for row in rows]


def digests_missing_enqueue(*, day: date) -> int:
    """Queue the email of each digest of ``day`` that should have one and has none (its worker
    died between building and queueing). Queueing is idempotent, so a chunk still at work is
    not disturbed. Two counts first: usually nothing is missing."""
    wanted = digests_wanted(day=day)
    queued = digest_deliveries(day=day)
    if queued.count() >= wanted.count():
        return 0
    keys = set(queued.values_list("key", flat=True))
    missing = [
        digest
        for digest in wanted.select_related("subscriber")
        if digest_key(subscriber_id=digest.subscriber_id, day=day) not in keys
    ]
    return len(digests_enqueue(digests=missing)) if missing else 0


def digest_send_now(*, subscriber: Subscriber, day: date | None = None) -> str:
    """Staff: build (if needed) and send ``subscriber``'s digest of ``day`` (default: the
    current listing day) right now. Returns what happened: "sent", "quiet" (no email is due
    for it), "already <state>" (its email was sent, or is uncertain, before), or the state the
    ledger ended in ("suppressed", "skipped", "failed", "retry", ...)."""
    day = day or days.listing_day_now()
    since = digest_since(frequency=subscriber.frequency, day=day)
    [digest] = digests_build(day=day, subscriber_ids=[subscriber.pk], since=since)
    if not digest_wanted(digest):
        return "quiet"
    key = digest_key(subscriber_id=subscriber.pk, day=day)
    before = digest_deliveries(day=day).filter(key=key).values_list("state", flat=True).first()
    [delivery_id] = digests_enqueue(digests=[digest])
    if before in (Delivery.State.SENT, Delivery.State.UNCERTAIN, Delivery.State.SENDING):
        return f"already {before}"
    counts = deliveries_send(delivery_ids=[delivery_id])
    return next(iter(counts), "busy")
