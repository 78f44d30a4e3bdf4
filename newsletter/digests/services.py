"""What each subscriber gets on a day, and handing it to the delivery ledger.

The interface the daily run builds on::

    digests_build(*, day, subscriber_ids, since=None) -> list[Digest]
    digests_enqueue(*, digests) -> list[int]          # delivery ids
    digests_send_day(*, day, email=None, dry_run=False) -> Counter

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
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from datetime import date, timedelta

from django.db import transaction
from django.db.models import Max, Q
from django.db.models.functions import Coalesce
from django.utils import timezone

from newsletter.delivery.models import Delivery
from newsletter.delivery.services import (
    Email,
    deliveries_enqueue,
    deliveries_nudge,
    deliveries_send,
)
from newsletter.digests.models import Digest, DigestItem
from newsletter.lib.bulk import values_insert
from newsletter.matching.engine import sent_key
from newsletter.matching.services import rankings_for_day
from newsletter.papers.models import ListingEntry, Paper
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
        Paper.objects.filter(listings__listing_date__range=(since or day, day))
        .values_list("pk", "arxiv_id")
        .distinct()
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
        ListingEntry.objects.filter(listing_date__range=(since or day, day))
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


def digest_key(*, subscriber_id: int, day: date) -> str:
    """The delivery key of a subscriber's digest of ``day``."""
    return f"{subscriber_id}:{day.isoformat()}"


def digest_wanted(digest: Digest) -> bool:
    """Whether ``digest`` is worth an email: papers, or a quiet day its reader asked to hear of."""
    return digest.papers_count > 0 or digest.subscriber.quiet_day_note


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


WEEK = timedelta(days=6)  # a weekly digest covers its day and the six before


def _subscribers_due(day: date, email: str | None) -> tuple[list[int], list[int], int]:
    """(daily readers, weekly readers whose weekday ``day`` is, how many others are not due)."""
    subscribers = Subscriber.objects.filter(status=Subscriber.Status.ACTIVE)
    if email is not None:
        subscribers = subscribers.filter(email=email)
    daily, weekly, not_due = [], [], 0
    for pk, frequency, weekday in subscribers.order_by("pk").values_list(
        "pk", "frequency", "weekday"
    ):
        if frequency == Subscriber.Frequency.WEEKLY:
            if weekday == day.weekday():
                weekly.append(pk)
            else:
                not_due += 1
        else:
            daily.append(pk)
    return daily, weekly, not_due


def _build_due(day: date, daily: list[int], weekly: list[int]) -> list[Digest]:
    digests = digests_build(day=day, subscriber_ids=daily)
    if weekly:
        digests += digests_build(day=day, subscriber_ids=weekly, since=day - WEEK)
    return digests


def digests_send_day(*, day: date, email: str | None = None, dry_run: bool = False) -> Counter:
    """Build and send ``day``'s digests for every active subscriber (or the one at ``email``), in
    this process, through the same services as the tasks. Weekly readers get the week's digest
    on their weekday, and nothing on the other days. Returns counts per state.

    Safe to run again: built digests are kept and a sent delivery is never sent twice. A dry
    run builds and counts without storing or sending anything.
    """
    daily, weekly, not_due = _subscribers_due(day, email)
    counts: Counter = Counter(subscribers=len(daily) + len(weekly))
    if not_due:
        counts["weekly, not today"] = not_due
    if dry_run:
        with transaction.atomic():
            digests = _build_due(day, daily, weekly)
            counts["would send"] = sum(1 for d in digests if digest_wanted(d))
            counts["quiet"] = sum(1 for d in digests if not digest_wanted(d))
            transaction.set_rollback(True)
        return counts
    digests = _build_due(day, daily, weekly)
    counts["quiet"] = sum(1 for d in digests if not digest_wanted(d))
    delivery_ids = digests_enqueue(digests=digests)
    states = dict(Delivery.objects.filter(pk__in=delivery_ids).values_list("pk", "state"))
    todo = []
    for pk in delivery_ids:
        if states[pk] in (Delivery.State.QUEUED, Delivery.State.RETRY):
            todo.append(pk)
        else:
            counts[f"already {states[pk]}"] += 1
    for start in range(0, len(todo), 50):
        counts.update(deliveries_send(delivery_ids=todo[start : start + 50]))
    return counts


def digest_send_now(*, subscriber: Subscriber, day: date | None = None) -> str:
    """Staff: build (if needed) and send ``subscriber``'s digest of ``day`` (today) right now."""
    day = day or timezone.localdate()
    since = day - WEEK if subscriber.frequency == Subscriber.Frequency.WEEKLY else None
    [digest] = digests_build(day=day, subscriber_ids=[subscriber.pk], since=since)
    if not digest_wanted(digest):
        return "quiet"
    [delivery_id] = digests_enqueue(digests=[digest])
    deliveries_send(delivery_ids=[delivery_id])
    return Delivery.objects.values_list("state", flat=True).get(pk=delivery_id)
