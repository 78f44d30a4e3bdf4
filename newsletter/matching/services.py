"""Matching services: stored paper vectors, subscriber profiles, votes, and the day's rankings.

The interface the digest builds on::

    rankings_for_day(*, day: date, subscriber_ids: Iterable[int],
                     already_sent: Mapping[int, set[str]] | None = None,
                     limit: int | None = None, threshold: bool = True,
                     with_reasons: bool = True, since: date | None = None)
        -> dict[int, list[engine.Pick]]

For each subscriber id (every id given gets a key; an unknown id or a day without listings gives
an empty list), the papers listed on ``day`` that subscriber should get, best first, at most their
``max_papers`` (or ``limit``); ``threshold=False`` ranks every paper of the day. Call it with
batches of ids (it works in chunks of 10,000 either way). ``already_sent`` maps a
subscriber id to the arXiv ids already mailed to them: those never come again. A ``Pick`` (a named
tuple) has ``paper_id``, ``arxiv_id``, ``score`` and ``reasons``; each ``Reason`` (a named tuple) has ``kind`` ("author",
"keyword", "topic", "similar", "semantic"), ``label`` (the keyword, topic, liked paper's title or
author), ``text`` (a short human sentence) and ``spans``: ``(field, start, end)`` character
ranges into the paper's ``title`` or ``abstract`` to highlight. ``reason.as_dict()`` gives JSON.
``feedback_url(subscriber=..., paper_id=..., direction="more"|"less")`` is the signed link for
"more like this" / "less like this". Ranking computes any missing paper vectors and rebuilds only
the profiles whose preferences, topics, liked papers or votes changed; it sends and records
nothing else, so calling it twice gives the same lists.
"""

from __future__ import annotations

import gc
import hashlib
import json
import logging
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from pathlib import Path

import numpy as np
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.db.models import Count, Max, Min, Q
from django.urls import reverse
from django.utils import timezone

from newsletter.lib.arxiv import arxiv_id_normalize
from newsletter.matching import engine, profiles
from newsletter.matching.encoder import (
    DIMENSIONS,
    MODEL_DIR,
    PAPER_BATCH_SIZE,
    Encoder,
    encoder_get,
    paper_text,
)
from newsletter.matching.models import (
    PaperVector,
    SubscriberProfile,
    Vote,
    vector_pack,
    vector_unpack,
)
from newsletter.papers.models import Paper
from newsletter.papers.selectors import listings_in
from subscriptions.models import Interest, Subscriber, Topic
from subscriptions.tokens import Purpose, token_make

logger = logging.getLogger(__name__)

CHUNK = 10_000
CATEGORY_CORPUS = 5_000  # the most recent stored papers a profile's categories are read from


def _encoder() -> Encoder | None:
    return encoder_get() if settings.MATCHING_SEMANTIC else None


def _model_tag(encoder: Encoder | None) -> str:
    return "" if encoder is None else _manifest_tag(MODEL_DIR)


@cache  # read once per process: every chunk of a ranking asks
def _manifest_tag(model_dir: Path) -> str:
    return json.loads((model_dir / "manifest.json").read_text())["model_sha256"][:16]


def _among(field: str, ids: list[int]) -> Q:
    """A filter for rows whose ``field`` is one of ``ids``. Dense id lists (a batch of the daily
    run) become a range, which databases answer faster than 10,000 parameters; callers keep only
    the ids they asked for."""
    if ids and max(ids) - min(ids) < 2 * len(ids):
        return Q(**{f"{field}__range": (min(ids), max(ids))})
    return Q(**{f"{field}__in": ids})


def _chunks(items: list, size: int | None = None) -> Iterable[list]:
    size = size or CHUNK
    for start in range(0, len(items), size):
        yield items[start : start + size]


# --- Paper vectors -------------------------------------------------------------------------


def _text_hash(title: str, abstract: str) -> str:
    return hashlib.sha256(paper_text(title, abstract).encode()).hexdigest()


def paper_vectors_compute(*, paper_ids: Iterable[int]) -> int:
    """Store the vector and terms of each paper whose text (or the model) changed since last
    time; returns how many were computed. A paper listed again is not computed again."""
    ids = sorted(set(paper_ids))
    encoder = _encoder()
    tag = _model_tag(encoder)
    computed = 0
    for chunk in _chunks(ids, 1000):
        known = dict(
            PaperVector.objects.filter(paper_id__in=chunk).values_list("paper_id", "text_hash")
        )
        tags = dict(PaperVector.objects.filter(paper_id__in=chunk).values_list("paper_id", "model"))
        todo = []
        for pk, title, abstract in Paper.objects.filter(pk__in=chunk).values_list(
            "pk", "title", "abstract"
        ):
            digest = _text_hash(title, abstract)
            if known.get(pk) != digest or tags.get(pk) != tag:
                todo.append((pk, title, abstract, digest))
        if not todo:
            continue
        vectors = (
            encoder.encode([paper_text(t, a) for _, t, a, _ in todo], batch_size=PAPER_BATCH_SIZE)
            if encoder is not None
            else [None] * len(todo)
        )
        now = timezone.now()
        rows = [
            PaperVector(
                paper_id=pk,
                text_hash=digest,
                model=tag,
                vector=vector_pack(vector),
                terms=engine.paper_terms(title, abstract),
                computed_at=now,
            )
            for (pk, title, abstract, digest), vector in zip(todo, vectors, strict=True)
        ]
        PaperVector.objects.bulk_create(
            rows,
            update_conflicts=True,
            unique_fields=["paper"],
            update_fields=["text_hash", "model", "vector", "terms", "computed_at"],
        )
        computed += len(rows)
    return computed


def _stale_paper_ids(paper_ids: list[int], tag: str) -> list[int]:
    """Papers with no vector yet, or one made from another text or model."""
    current = {
        pk: (digest, model)
        for pk, digest, model in PaperVector.objects.filter(paper_id__in=paper_ids).values_list(
            "paper_id", "text_hash", "model"
        )
    }
    stale = []
    for pk, title, abstract in Paper.objects.filter(pk__in=paper_ids).values_list(
        "pk", "title", "abstract"
    ):
        if current.get(pk) != (_text_hash(title, abstract), tag):
            stale.append(pk)
    return stale


def paper_vectors_ensure(*, paper_ids: list[int]) -> dict[int, np.ndarray | None]:
    """Each paper's stored vector, computing the missing or stale ones first."""
    tag = _model_tag(_encoder())
    stale = _stale_paper_ids(paper_ids, tag)
    if stale:
        paper_vectors_compute(paper_ids=stale)
    return {
        pk: vector_unpack(data)
        for pk, data in PaperVector.objects.filter(paper_id__in=paper_ids).values_list(
            "paper_id", "vector"
        )
    }


_df_cache: dict[str, object] = {}


def document_frequencies() -> tuple[dict[str, int], int]:
    """Document frequencies over every stored paper (cached until a vector is added or changed)."""
    key = tuple(PaperVector.objects.aggregate(n=Count("pk"), last=Max("computed_at")).values())
    if _df_cache.get("key") != key:
        terms = PaperVector.objects.values_list("terms", flat=True).iterator(chunk_size=2000)
        _df_cache["value"] = engine.document_frequencies(terms)
        _df_cache["key"] = key
    return _df_cache["value"]


# --- Subscriber profiles -------------------------------------------------------------------


@dataclass
class _Preferences:
    subscriber_id: int
    max_papers: int
    version: int  # the subscriber's interests_version, read before everything else
    keywords: list[str] = field(default_factory=list)
    exclusions: list[str] = field(default_factory=list)
    authors: list[str] = field(default_factory=list)
    liked: list[str] = field(default_factory=list)
    topic_ids: list[int] = field(default_factory=list)
    votes: list[tuple[int, str]] = field(default_factory=list)


def _preferences(subscriber_ids: list[int]) -> dict[int, _Preferences]:
    wanted = set(subscriber_ids)
    prefs = {
        pk: _Preferences(pk, max_papers, version)
        for pk, max_papers, version in Subscriber.objects.filter(
            _among("pk", subscriber_ids)
        ).values_list("pk", "max_papers", "interests_version")
        if pk in wanted
    }
    # One pass over some 750,000 rows on a big day: plain strings, no attribute lookups per row.
    keyword, exclude = str(Interest.Kind.KEYWORD), str(Interest.Kind.EXCLUDE)
    author, paper = str(Interest.Kind.AUTHOR), str(Interest.Kind.PAPER)
    interests = (
        Interest.objects.filter(_among("subscriber__pk", subscriber_ids))
        .order_by("subscriber_id", "kind", "position", "pk")
        .values_list("subscriber_id", "kind", "value")
    )
    for pk, kind, value in interests:
        pref = prefs.get(pk)
        if pref is None:
            continue
        if kind == paper:
            value = arxiv_id_normalize(value)
        if not value:
            continue
        if kind == keyword:
            pref.keywords.append(value)
        elif kind == exclude:
            pref.exclusions.append(value)
        elif kind == author:
            pref.authors.append(value)
        elif kind == paper:
            pref.liked.append(value)
    through = Subscriber.topics.through.objects.filter(_among("subscriber__pk", subscriber_ids))
    for pk, topic_id in through.order_by("subscriber_id", "topic_id").values_list(
        "subscriber_id", "topic_id"
    ):
        if pk in prefs:
            prefs[pk].topic_ids.append(topic_id)
    votes = Vote.objects.filter(_among("subscriber__pk", subscriber_ids))
    for pk, paper_id, direction in votes.order_by("subscriber_id", "paper_id").values_list(
        "subscriber_id", "paper_id", "direction"
    ):
        if pk in prefs:
            prefs[pk].votes.append((paper_id, direction))
    return prefs


@dataclass
class _Topics:
    refs: dict[int, engine.TopicRef]
    texts: dict[int, str]
    digests: dict[int, str]  # of each topic's text: a profile built from another is stale
    # A stored profile's topics ("id:digest id:digest") -> their refs, or None when one changed:
    # subscribers share their few topics, so this is one lookup per subscriber.
    chosen: dict[str, tuple[engine.TopicRef, ...] | None] = field(default_factory=dict)
    tokens: dict[str, engine.TopicRef] = field(default_factory=dict)  # "id:digest" -> ref

    def __post_init__(self) -> None:
        self.tokens = {f"{t}:{self.digests[t]}": ref for t, ref in self.refs.items()}

    def key(self, topic_ids: list[int]) -> str:
        return " ".join(f"{t}:{self.digests.get(t, '')}" for t in topic_ids)

    def of(self, key: str) -> tuple[engine.TopicRef, ...] | None:
        if key not in self.chosen:
            items, tokens = key.split(), self.tokens
            current = all(item in tokens for item in items)
            self.chosen[key] = tuple(tokens[item] for item in items) if current else None
        return self.chosen[key]

    def known(self, key: str) -> tuple[engine.TopicRef, ...]:
        """The refs of a stored profile's topics that exist now, changed or not."""
        found = self.of(key)
        if found is None:
            ids = [int(item.split(":")[0]) for item in key.split()]
            found = tuple(self.refs[t] for t in ids if t in self.refs)
        return found


def _topics() -> _Topics:
    refs, texts, digests = {}, {}, {}
    for topic in Topic.objects.all():
        phrases = tuple(p for p in topic.phrases or [] if isinstance(p, str))
        refs[topic.pk] = engine.TopicRef(topic.name, phrases)
        texts[topic.pk] = profiles.topic_text(topic.name, topic.description, phrases)
        digests[topic.pk] = hashlib.sha256(texts[topic.pk].encode()).hexdigest()[:16]
    return _Topics(refs, texts, digests)


# Keyword and topic vectors by model: a phrase is encoded once per process, whoever chose it.
_phrase_cache: dict[str, dict[str, np.ndarray]] = {}


@dataclass
class _PaperInfo:
    paper_id: int
    title: str
    vector: np.ndarray | None


@dataclass
class _LikedCache:
    """Liked papers already looked up by one ranking: its chunks share them (readers like the
    same few papers), so each is read once per ranking, not once per chunk."""

    found: dict[str, _PaperInfo] = field(default_factory=dict)
    asked: set[str] = field(default_factory=set)


def _liked_papers(arxiv_ids: set[str], seen: _LikedCache | None = None) -> dict[str, _PaperInfo]:
    seen = seen if seen is not None else _LikedCache()
    new = arxiv_ids - seen.asked
    if new:
        found = dict(Paper.objects.filter(arxiv_id__in=new).values_list("arxiv_id", "pk"))
        vectors = paper_vectors_ensure(paper_ids=list(found.values())) if found else {}
        titles = dict(Paper.objects.filter(pk__in=found.values()).values_list("pk", "title"))
        seen.found.update(
            {a: _PaperInfo(pk, titles[pk], vectors.get(pk)) for a, pk in found.items()}
        )
        seen.asked |= new
    return {a: seen.found[a] for a in arxiv_ids if a in seen.found}


def _category_corpus() -> tuple[np.ndarray, list[list[str]]]:
    rows = list(
        PaperVector.objects.exclude(vector=None)
        .order_by("-paper__first_seen", "-paper_id")
        .values_list("vector", "paper__categories")[:CATEGORY_CORPUS]
    )
    if not rows:
        return np.zeros((0, 384), dtype=np.float32), []
    vectors = np.stack([vector_unpack(v) for v, _ in rows]).astype(np.float32)
    return vectors, [list(c or []) for _, c in rows]


def _profiles_rebuild(
    prefs: list[_Preferences],
    topics: _Topics,
    liked: Mapping[str, _PaperInfo],
    encoder: Encoder | None,
    tag: str,
) -> None:
    now = timezone.now()
    if encoder is None:
        vectors = [None] * len(prefs)
        categories = [{} for _ in prefs]
    else:
        voted = {pid for p in prefs for pid, _ in p.votes}
        vote_vectors = paper_vectors_ensure(paper_ids=sorted(voted)) if voted else {}

        def pick(p: _Preferences, direction: str) -> list[np.ndarray]:
            return [
                vote_vectors[pid].astype(np.float32)
                for pid, d in p.votes
                if d == direction and vote_vectors.get(pid) is not None
            ]

        cache = _phrase_cache.setdefault(tag, {})
        profiles.phrase_vectors(encoder, (k for p in prefs for k in p.keywords), cache)
        profiles.phrase_vectors(
            encoder,
            (topics.texts[t] for p in prefs for t in p.topic_ids if t in topics.texts),
            cache,
        )
        matrix = profiles.profile_vectors(
            keyword_vectors=[[cache[k] for k in p.keywords] for p in prefs],
            topic_vectors=[
                [cache[topics.texts[t]] for t in p.topic_ids if t in topics.texts] for p in prefs
            ],
            liked_vectors=[
                [
                    liked[a].vector.astype(np.float32)
                    for a in p.liked
                    if a in liked and liked[a].vector is not None
                ]
                for p in prefs
            ],
            more=[pick(p, Vote.Direction.MORE) for p in prefs],
            less=[pick(p, Vote.Direction.LESS) for p in prefs],
        )
        corpus, corpus_categories = _category_corpus()
        categories = profiles.category_weights(
            profile_vectors=matrix, corpus_vectors=corpus, corpus_categories=corpus_categories
        )
        vectors = [row if row.any() else None for row in matrix]
    rows = []
    for p, vector, cats in zip(prefs, vectors, categories, strict=True):
        terms, weights, total = engine.query_compile(
            tuple(p.keywords), tuple(topics.refs[t] for t in p.topic_ids if t in topics.refs)
        )
        rows.append(
            SubscriberProfile(
                subscriber_id=p.subscriber_id,
                version=p.version,
                model=tag,
                vector=vector_pack(vector),
                categories=cats,
                inputs=_inputs(p, topics, liked),
                query_terms=terms.tobytes(),
                query_weights=weights.tobytes(),
                query_total=total,
                built_at=now,
            )
        )
    SubscriberProfile.objects.bulk_create(
        rows,
        update_conflicts=True,
        unique_fields=["subscriber"],
        update_fields=[
            "version",
            "model",
            "vector",
            "categories",
            "inputs",
            "query_terms",
            "query_weights",
            "query_total",
            "built_at",
        ],
    )


def _inputs(pref: _Preferences, topics: _Topics, liked: Mapping[str, _PaperInfo]) -> dict:
    """What a stored profile keeps of its inputs: what the engine reads besides the vector and
    the query, and what tells whether it is stale (its topics' digests, its liked papers found)."""
    return {
        "keywords": pref.keywords,
        "exclusions": pref.exclusions,
        "authors": pref.authors,
        "liked": pref.liked,
        "found": sorted(a for a in pref.liked if a in liked),
        "topics": topics.key(pref.topic_ids),
    }


@dataclass
class StoredProfiles:
    """A chunk of subscribers as the engine takes them, in the order asked for."""

    profiles: list[engine.Profile]
    vectors: np.ndarray | None  # (profiles, 384) float16, or None without a model
    queries: engine.Queries


_PROFILE_COLUMNS = (
    "max_papers",
    "interests_version",
    "version",
    "model",
    "vector",
    "inputs",
    "categories",
    "query_terms",
    "query_weights",
    "query_total",
)


def _profile_rows(subscriber_ids: list[int], db=None) -> dict[int, tuple]:
    """One row per subscriber (of those that exist): its max_papers and interests_version, and
    its stored profile's columns (None without one). A raw query: at 100,000 subscribers a day
    the ORM's per-row work was most of the ranking's time. ``db``: the connection to read
    through (``_read_ahead`` passes the calling thread's)."""
    db = db or connection
    quote = db.ops.quote_name
    subscriber, profile = Subscriber._meta, SubscriberProfile._meta
    if subscriber_ids and max(subscriber_ids) - min(subscriber_ids) < 2 * len(subscriber_ids):
        where, params = "s.id BETWEEN %s AND %s", [min(subscriber_ids), max(subscriber_ids)]
    else:
        where, params = f"s.id IN ({', '.join(['%s'] * len(subscriber_ids))})", subscriber_ids
    columns = ", ".join(
        [f"s.{quote(c)}" for c in _PROFILE_COLUMNS[:2]]
        + [f"p.{quote(profile.get_field(c).column)}" for c in _PROFILE_COLUMNS[2:]]
    )
    # Only names from the models' metadata and placeholders go into the text.
    sql = (
        f"SELECT s.id, {columns} FROM {quote(subscriber.db_table)} s "  # noqa: S608
        f"LEFT JOIN {quote(profile.db_table)} p ON p.{quote('subscriber_id')} = s.id "
        f"WHERE {where}"
    )
    wanted = set(subscriber_ids)
    with db.cursor() as cursor:
        cursor.execute(sql, params)
        return {row[0]: row[1:] for row in cursor.fetchall() if row[0] in wanted}


@contextmanager
def _read_ahead():
    """A function that starts reading a chunk's profile rows in a second thread, through this
    thread's connection (so inside the same transaction), and returns a future of them.
    Meanwhile the caller ranks the chunk before it: the database's work (another process, on
    PostgreSQL) and the ranking's numpy work run at once. The caller must not use the
    connection until the future is done."""
    db = connections[DEFAULT_DB_ALIAS]  # this thread's (``connection`` resolves in each thread)
    db.inc_thread_sharing()
    try:
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="profile-rows") as pool:
            yield lambda ids: pool.submit(_profile_rows, ids, db)
    finally:
        db.dec_thread_sharing()


def _json_all(values: list) -> list:
    """JSON columns as objects, parsed in one call (a raw query returns them as text)."""
    if all(isinstance(v, str) for v in values):
        return json.loads("[" + ",".join(values) + "]")
    return [json.loads(v) if isinstance(v, str | bytes) else v for v in values]


def _profile_stale(
    row: tuple, inputs: dict, topics: _Topics, liked: Mapping[str, _PaperInfo], tag: str
) -> bool:
    """Whether a stored profile was built from other inputs than the current ones."""
    _, interests_version, version, model = row[:4]
    if version != interests_version or model != tag or not inputs:
        return True
    if topics.of(inputs["topics"]) is None:
        return True
    return bool(inputs["liked"]) and inputs["found"] != sorted(
        a for a in inputs["liked"] if a in liked
    )


def profiles_for(
    *,
    subscriber_ids: list[int],
    liked_cache: _LikedCache | None = None,
    rows: dict[int, tuple] | None = None,
) -> StoredProfiles:
    """The engine's view of these subscribers, rebuilding the stored profiles that are stale
    (``SubscriberProfile``): one row per subscriber, and the interests of only the stale ones.
    ``liked_cache``: liked papers an earlier chunk of the same ranking already read; ``rows``:
    their ``_profile_rows``, when already read."""
    encoder = _encoder()
    tag = _model_tag(encoder)
    topics = _topics()
    rows = _profile_rows(subscriber_ids) if rows is None else rows
    stored = {pk: row for pk, row in rows.items() if row[2] is not None}
    inputs = dict(zip(stored, _json_all([row[5] for row in stored.values()]), strict=True))
    liked = _liked_papers({a for i in inputs.values() for a in i.get("liked", ())}, liked_cache)
    stale = [
        pk
        for pk, row in rows.items()
        if pk not in stored or _profile_stale(row, inputs[pk], topics, liked, tag)
    ]
    if stale:
        prefs = _preferences(stale)
        more_liked = {a for p in prefs.values() for a in p.liked} - liked.keys()
        if more_liked:
            liked = {**liked, **_liked_papers(more_liked, liked_cache)}
        _profiles_rebuild(list(prefs.values()), topics, liked, encoder, tag)
        rebuilt = _profile_rows(stale)
        rows.update(rebuilt)
        inputs.update(zip(rebuilt, _json_all([r[5] for r in rebuilt.values()]), strict=True))
    order = [pk for pk in subscriber_ids if pk in rows]
    return StoredProfiles(
        profiles=_engine_profiles(order, rows, inputs, topics, liked),
        vectors=_vectors(order, rows) if encoder is not None else None,
        queries=_queries(order, rows),
    )


def _engine_profiles(
    order: list[int],
    rows: Mapping[int, tuple],
    inputs: Mapping[int, dict],
    topics: _Topics,
    liked: Mapping[str, _PaperInfo],
) -> list[engine.Profile]:
    # 100,000 of these a day: locals, and no tuple built for the many empty lists.
    categories = _json_all([rows[pk][6] for pk in order])
    make, known, none = engine.Profile, topics.known, ()
    result = []
    append = result.append
    for pk, cats in zip(order, categories, strict=True):
        i = inputs[pk]
        likes = i["liked"]
        append(
            make(
                pk,
                rows[pk][0],
                tuple(i["keywords"]),
                known(i["topics"]),
                tuple(i["exclusions"]) if i["exclusions"] else none,
                tuple(i["authors"]) if i["authors"] else none,
                tuple(
                    engine.LikedPaper(a, liked[a].title, liked[a].vector)
                    for a in likes
                    if a in liked
                )
                if likes
                else none,
                cats or {},
            )
        )
    return result


def _vectors(order: list[int], rows: Mapping[int, tuple]) -> np.ndarray:
    """One matrix from the joined bytes of the stored vectors (zeros for an empty profile)."""
    empty = bytes(2 * DIMENSIONS)
    joined = b"".join(rows[pk][4] if rows[pk][4] is not None else empty for pk in order)
    return np.frombuffer(joined, dtype="<f2").reshape(len(order), DIMENSIONS)


def _queries(order: list[int], rows: Mapping[int, tuple]) -> engine.Queries:
    """The stored compiled queries, joined: no query is compiled again on a normal day."""
    terms = [rows[pk][7] for pk in order]
    indptr = np.zeros(len(order) + 1, dtype=np.int64)
    np.cumsum(np.fromiter((len(t) // 8 for t in terms), np.int64, len(order)), out=indptr[1:])
    return engine.Queries(
        indptr,
        np.frombuffer(b"".join(terms), dtype="<i8").astype(np.int64),
        np.frombuffer(b"".join(rows[pk][8] for pk in order), dtype="<f4").astype(np.float32),
        np.array([rows[pk][9] for pk in order], dtype=np.float32),
    )


# --- The day's rankings --------------------------------------------------------------------


def papers_for_day(*, day: date, since: date | None = None) -> list[engine.PaperDoc]:
    """The papers listed on ``day`` (or any day from ``since`` to ``day``: a weekly digest), in
    listing order, with the best upvotes seen when known."""
    entries = (
        listings_in(day=day, since=since)
        .values("paper_id")
        .annotate(rank=Min("rank"), upvotes=Max("upvotes"))
        .order_by("rank", "paper_id")
    )
    listed = {e["paper_id"]: e for e in entries}
    papers = Paper.objects.filter(pk__in=listed).values_list(
        "pk", "arxiv_id", "title", "abstract", "authors", "categories", "upvotes"
    )
    docs = {
        pk: engine.PaperDoc(
            id=pk,
            arxiv_id=arxiv_id,
            title=title,
            abstract=abstract,
            authors=tuple(a for a in authors or [] if isinstance(a, str)),
            categories=tuple(c for c in categories or [] if isinstance(c, str)),
            upvotes=listed[pk]["upvotes"] if listed[pk]["upvotes"] is not None else upvotes,
        )
        for pk, arxiv_id, title, abstract, authors, categories, upvotes in papers
    }
    return [docs[pk] for pk in listed]


# The day's papers prepared for scoring (tokens, term tables), kept for the next call: the daily
# run ranks a day in many chunks, and a worker would otherwise prepare the same day each time.
_days: dict[tuple, engine.Day] = {}


def _day_prepared(papers: list[engine.PaperDoc], vectors: np.ndarray | None) -> engine.Day:
    """``engine.day_prepare``, once per process for the same papers, vectors and frequencies
    (its term tables hold the frequencies' IDF)."""
    key = (
        tuple(papers),
        None if vectors is None else hashlib.sha256(vectors.tobytes()).hexdigest(),
        _df_cache.get("key"),  # which document frequencies (``document_frequencies``)
    )
    day = _days.get(key)
    if day is None:
        if len(_days) >= 4:
            _days.clear()
        day = _days[key] = engine.day_prepare(papers, vectors)
    return day


def rankings_for_day(
    *,
    day: date,
    subscriber_ids: Iterable[int],
    already_sent: Mapping[int, set[str]] | None = None,
    limit: int | None = None,
    threshold: bool = True,
    with_reasons: bool = True,
    since: date | None = None,
) -> dict[int, list[engine.Pick]]:
    """What each subscriber should get from ``day``'s listings (see the module docstring);
    ``since``: from the listings of every day from ``since`` to ``day`` (a weekly digest)."""
    # Hundreds of thousands of small objects and no cycles: the cyclic collector would rescan
    # them all again and again as they accumulate (quadratic time on a big day).
    paused = gc.isenabled()
    gc.disable()
    try:
        return _rankings(
            day=day,
            subscriber_ids=subscriber_ids,
            already_sent=already_sent,
            limit=limit,
            threshold=threshold,
            with_reasons=with_reasons,
            since=since,
        )
    finally:
        if paused:
            gc.enable()


def _rankings(
    *,
    day: date,
    subscriber_ids: Iterable[int],
    already_sent: Mapping[int, set[str]] | None,
    limit: int | None,
    threshold: bool,
    with_reasons: bool,
    since: date | None,
) -> dict[int, list[engine.Pick]]:
    ids = list(dict.fromkeys(subscriber_ids))
    result: dict[int, list[engine.Pick]] = {pk: [] for pk in ids}
    papers = papers_for_day(day=day, since=since)
    if not papers or not ids:
        return result
    stored = paper_vectors_ensure(paper_ids=[p.id for p in papers])
    paper_vectors = None
    if _encoder() is not None and all(stored.get(p.id) is not None for p in papers):
        paper_vectors = np.stack([stored[p.id] for p in papers])
    df, n_docs = document_frequencies()
    prepared = _day_prepared(papers, paper_vectors)
    liked = _LikedCache()
    chunks = list(_chunks(ids))
    with _read_ahead() as read:
        rows = None
        for chunk, following in zip(chunks, [*chunks[1:], None], strict=True):
            stored = profiles_for(subscriber_ids=chunk, liked_cache=liked, rows=rows)
            # The next chunk's rows are read while this one is ranked (no database use).
            ahead = read(following) if following else None
            result.update(
                engine.rank_day(
                    day=prepared,
                    profiles=stored.profiles,
                    profile_vectors=stored.vectors if paper_vectors is not None else None,
                    queries=stored.queries,
                    df=df,
                    n_docs=n_docs,
                    already_sent=already_sent or {},
                    limit=limit,
                    threshold=threshold,
                    with_reasons=with_reasons,
                )
            )
            rows = ahead.result() if ahead else None
    return result


# --- Votes ---------------------------------------------------------------------------------


def vote_record(*, subscriber: Subscriber, paper: Paper, direction: str) -> Vote:
    """Record (or change) a subscriber's "more / less like this" on a paper. The profile is
    rebuilt at the next ranking: a vote bumps the subscriber's ``interests_version`` (see
    ``receivers.vote_changed``)."""
    if direction not in Vote.Direction.values:
        raise ValueError(f"Unknown direction {direction!r}.")
    vote, _ = Vote.objects.update_or_create(
        subscriber=subscriber, paper=paper, defaults={"direction": direction}
    )
    return vote


def feedback_url(*, subscriber: Subscriber, paper_id: int, direction: str) -> str:
    """The signed "more like this" / "less like this" link for a paper in an email."""
    token = token_make(subscriber=subscriber, purpose=Purpose.FEEDBACK)
    path = reverse(
        "matching:feedback", kwargs={"token": token, "paper_id": paper_id, "direction": direction}
    )
    return settings.SITE_URL + path
