"""The ranking engine: pure functions over arrays, for every subscriber at once.

Inputs are plain records (``PaperDoc``, ``Profile``), paper and profile vectors, document
frequencies and what each subscriber was already sent; nothing here touches the database, so the
same code ranks in the service, in ``preview_digest`` and in the benchmarks.

Score of paper p for subscriber s (weights chosen on the dev split, see ``bench/quality.py``)::

    rank score = w_sem * z(cosine(profile, paper)) + w_lex * z(BM25(terms, paper))
                 + w_cat * category affinity + w_pop * popularity

``z`` standardises a subscriber's scores over the day's candidates ("normalised per day"), so the
two signals mix on one scale whatever the day holds. Whether a paper is picked at all is decided on
absolute evidence, which a quiet day does not have: its cosine to the profile, or enough of the
query's weight in its title, or one of the reader's own keywords literally in its title: the
keyword's words as written (case, hyphens, stop words and a plural -s aside, not stems), in that
order, with at most ``TITLE_PHRASE_GAP`` other words between neighbours. So "mixture of experts"
is in "Mixture of Modality-Aware Experts" and in "Mixture-of-Experts", not in "Experts in a
Mixture"; "accessibility" is not in "Access Control". Hard rules come last: an excluded term
removes a paper, a paper already sent never comes again, a followed author always qualifies.
"""

from __future__ import annotations

import hashlib
import itertools
import math
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import NamedTuple

import numpy as np

from newsletter.matching import text

TITLE_WEIGHT = 2.5  # a title hit counts as much as 2.5 in the abstract
K1 = 1.2
B = 0.75
BIGRAM_WEIGHT = 1.0
UNIGRAM_IN_PHRASE_WEIGHT = 0.5
TOPIC_WEIGHT = 0.5  # a topic's curated phrases count half as much as the reader's own keywords
CHUNK = 10_000
TITLE_PHRASE_GAP = 2  # words a title may put between a keyword's words (a hyphenated modifier)


@dataclass(frozen=True)
class Params:
    """Weights and thresholds, chosen on the dev split (``bench/quality.py --tune``)."""

    w_sem: float = 0.9
    w_lex: float = 0.1
    w_cat: float = 2.0
    w_pop: float = 0.02
    z_floor: float = 0.02  # the smallest spread a day's scores are divided by
    min_cosine: float = 0.35  # on dev, 64% of pairs above it are relevant, 13 per day
    min_lex: float = 0.25  # ... or at least this share of the keyword's weight in the title
    similar_cosine: float = 0.5  # "similar to <a paper you liked>"


DEFAULT_PARAMS = Params()


@dataclass(frozen=True)
class PaperDoc:
    id: int
    arxiv_id: str | None
    title: str
    abstract: str
    authors: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    upvotes: int | None = None


class TopicRef(NamedTuple):
    """A chosen topic (a named tuple: it keys caches a million times a day, and hashes in C)."""

    name: str
    phrases: tuple[str, ...]


@dataclass(frozen=True)
class LikedPaper:
    arxiv_id: str
    title: str
    vector: np.ndarray | None = field(default=None, compare=False, repr=False)


@dataclass(slots=True)
class Profile:
    """What the engine knows about one subscriber (built by ``profiles.profile_build``).
    Fields in this order: ``services`` builds 100,000 a day positionally."""

    subscriber_id: int
    max_papers: int = 10
    keywords: tuple[str, ...] = ()
    topics: tuple[TopicRef, ...] = ()
    exclusions: tuple[str, ...] = ()
    authors: tuple[str, ...] = ()
    liked: tuple[LikedPaper, ...] = ()
    categories: Mapping[str, float] = field(default_factory=dict)


class Reason(NamedTuple):
    """Why a paper was picked. ``spans`` are (field, start, end) into the paper's title or abstract."""

    kind: str  # "keyword", "topic", "similar", "author", "semantic"
    label: str
    text: str
    spans: tuple[tuple[str, int, int], ...] = ()

    def as_dict(self) -> dict:
        return {
            "kind": self.kind,
            "label": self.label,
            "text": self.text,
            "spans": [{"field": f, "start": s, "end": e} for f, s, e in self.spans],
        }


class Pick(NamedTuple):
    """One paper for one subscriber (a named tuple: a day makes about a million of them)."""

    paper_id: int
    arxiv_id: str | None
    score: float
    reasons: tuple[Reason, ...]


# --- Papers of the day ---------------------------------------------------------------------


@dataclass
class Day:
    """The day's candidates, tokenised once for BM25, exclusions and reasons."""

    papers: list[PaperDoc]
    vectors: np.ndarray | None  # (papers, 384) unit rows, or None without a model
    title_tokens: list[list[text.Token]]
    abstract_tokens: list[list[text.Token]]
    tf: list[dict[str, float]]  # title-weighted term frequencies
    lengths: np.ndarray
    authors: dict[str, set[int]]  # author key -> paper rows
    _index: dict[int, tuple[dict, dict]] = field(default_factory=dict)
    reasons: dict[tuple, Reason | None] = field(default_factory=dict)  # shared by subscribers
    columns: dict[str, int] | None = None  # the day's terms (see _day_tables)
    phrase_papers: dict[tuple[str, ...], list[int]] = field(default_factory=dict)
    term_hashes: np.ndarray | None = None  # the columns' term hashes, sorted (see _day_columns)
    term_columns: np.ndarray | None = None  # ... and the column of each
    bm25: Postings | None = None
    title: Postings | None = None
    stem_rows: dict[str, set[int]] | None = None  # stem -> papers holding it (see _hits)
    hits: dict[tuple, dict[int, Reason]] = field(default_factory=dict)  # see _hits
    title_forms: list[dict[str, list[int]]] | None = None  # see _title_phrase_papers
    title_form_rows: dict[str, list[int]] | None = None  # word form -> papers with it in the title
    title_phrases: dict[tuple[str, ...], list[int]] = field(default_factory=dict)

    def index(self, row: int) -> tuple[dict[str, list[int]], dict[str, list[int]]]:
        """Stem positions in the title and abstract of a paper (built on first use)."""
        if row not in self._index:
            self._index[row] = (
                text.positions(self.title_tokens[row]),
                text.positions(self.abstract_tokens[row]),
            )
        return self._index[row]


def sent_key(arxiv_id: str | None, paper_id: int) -> str:
    """How ``already_sent`` names a paper: its arXiv id, else ``paper:<id>`` (listings without
    arXiv ids must not come twice either)."""
    return arxiv_id or f"paper:{paper_id}"


def day_prepare(papers: list[PaperDoc], vectors: np.ndarray | None) -> Day:
    title_tokens = [text.tokenize(p.title) for p in papers]
    abstract_tokens = [text.tokenize(p.abstract) for p in papers]
    tf = []
    for tt, at in zip(title_tokens, abstract_tokens, strict=True):
        counts: dict[str, float] = defaultdict(float)
        for term in text.text_terms(tt):
            counts[term] += TITLE_WEIGHT
        for term in text.text_terms(at):
            counts[term] += 1.0
        tf.append(counts)
    lengths = np.array(
        [
            TITLE_WEIGHT * len(t) + len(a)
            for t, a in zip(title_tokens, abstract_tokens, strict=True)
        ],
        dtype=np.float32,
    )
    authors: dict[str, set[int]] = defaultdict(set)
    for row, paper in enumerate(papers):
        for name in paper.authors:
            authors[text.author_key(name)].add(row)
            authors[text.author_short_key(name)].add(row)
    return Day(papers, vectors, title_tokens, abstract_tokens, tf, lengths, authors)


def paper_terms(title: str, abstract: str) -> list[str]:
    """The distinct terms of a paper: what its document frequencies count."""
    return sorted(
        set(text.text_terms(text.tokenize(title)) + text.text_terms(text.tokenize(abstract)))
    )


def idf(df: Mapping[str, int], n_docs: int, term: str) -> float:
    """BM25's idf with the usual +1 so common terms never score negative."""
    n = df.get(term, 0)
    return math.log(1 + (n_docs - n + 0.5) / (n + 0.5))


# --- Queries -------------------------------------------------------------------------------


@lru_cache(maxsize=100_000)
def _phrase_weights(phrase: str, weight: float) -> tuple[tuple[str, float], ...]:
    key = text.phrase_key(phrase)
    if len(key) <= 1:
        return tuple((k, weight) for k in key)
    pairs = [(term, weight * BIGRAM_WEIGHT) for term in text.phrase_terms(key)]
    return tuple(pairs + [(stem, weight * UNIGRAM_IN_PHRASE_WEIGHT) for stem in key])


def _merge(weights: dict[str, float], pairs: Iterable[tuple[str, float]]) -> None:
    """Each term at its highest weight, in the order terms first come."""
    for term, w in pairs:
        if w > weights.get(term, 0.0):
            weights[term] = w


@lru_cache(maxsize=10_000)
def _topic_weights(topic: TopicRef) -> tuple[tuple[str, float], ...]:
    """A topic's phrases merged once: many readers share a topic, few share all keywords."""
    weights: dict[str, float] = {}
    for phrase in topic.phrases:
        _merge(weights, _phrase_weights(phrase, TOPIC_WEIGHT))
    return tuple(weights.items())


def _query(
    keywords: tuple[str, ...], topics: tuple[TopicRef, ...]
) -> tuple[tuple[str, float], ...]:
    """A profile's BM25 query: each keyword's bigrams and stems, topic phrases at half weight.
    Not cached: its compiled arrays are (``query_compile``), in a tenth of the memory."""
    weights: dict[str, float] = {}
    for keyword in keywords:
        _merge(weights, _phrase_weights(keyword, 1.0))
    for topic in topics:
        _merge(weights, _topic_weights(topic))
    return tuple(weights.items())


@dataclass
class Postings:
    """A (terms x papers) sparse table as posting lists: term t's papers and weights are
    ``papers[start[t]:start[t + 1]]`` and ``weights[...]``."""

    start: np.ndarray
    papers: np.ndarray
    weights: np.ndarray


def _postings(entries: list[dict[int, float]], n_terms: int) -> Postings:
    """Posting lists from each paper's {term column: weight}."""
    cols = np.fromiter((c for e in entries for c in e), dtype=np.int64)
    weights = np.fromiter((w for e in entries for w in e.values()), dtype=np.float32)
    papers = np.repeat(np.arange(len(entries)), [len(e) for e in entries])
    order = np.argsort(cols, kind="stable")
    start = np.zeros(n_terms + 1, dtype=np.int64)
    np.cumsum(np.bincount(cols, minlength=n_terms), out=start[1:])
    return Postings(start, papers[order], weights[order])


def _day_tables(day: Day, df: Mapping[str, int], n_docs: int) -> None:
    """The day's terms as columns, with BM25 weights and title presence as posting lists, built
    once a day. Only the day's own terms count: a query term no paper has adds nothing."""
    if day.columns is not None:
        return
    columns: dict[str, int] = {}
    for counts in day.tf:
        for term in counts:
            columns.setdefault(term, len(columns))
    avg = max(float(day.lengths.mean()) if len(day.lengths) else 1.0, 1.0)
    bm25, title = [], []
    for row, counts in enumerate(day.tf):
        norm = K1 * (1 - B + B * day.lengths[row] / avg)
        bm25.append(
            {columns[t]: idf(df, n_docs, t) * c * (K1 + 1) / (c + norm) for t, c in counts.items()}
        )
        in_title = {columns[t] for t in text.text_terms(day.title_tokens[row])}
        # Only the title's terms: a tenth of the postings, so title hits cost little on top.
        title.append({col: 1.0 for col in bm25[-1] if col in in_title})
    day.columns = columns
    day.bm25 = _postings(bm25, len(columns))
    day.title = _postings(title, len(columns))


def _postings_of(
    table: Postings, terms: np.ndarray, counts: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Where the postings of ``terms`` lie in ``table``, one run per term in the order given:
    (each term's number of postings, the index of every posting). ``counts``: the first, when
    the caller has it."""
    if counts is None:
        counts = table.start[terms + 1] - table.start[terms]
    total = int(counts.sum())
    offsets = np.repeat(table.start[terms] - (np.cumsum(counts) - counts), counts)
    offsets += np.arange(total)
    return counts, offsets


def _rows_times(
    indptr: np.ndarray,
    cols: np.ndarray,
    vals: np.ndarray,
    table: Postings,
    n_papers: int,
    budget: int = 2_000_000,
) -> np.ndarray:
    """(queries x papers): each sparse query row (indptr/cols/vals) times the sparse table,
    expanding each query term into its postings and summing with one bincount per block of rows
    (at most ``budget`` postings at a time). numpy only, no scipy."""
    n = len(indptr) - 1
    out = np.zeros((n, n_papers), dtype=np.float32)
    if not len(cols) or not n_papers:
        return out
    rows = np.repeat(np.arange(n), np.diff(indptr))
    counts = table.start[cols + 1] - table.start[cols]
    per_row = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, weights=counts, minlength=n).astype(np.int64), out=per_row[1:])
    begin = 0
    while begin < n:
        end = int(np.searchsorted(per_row, per_row[begin] + budget, side="right")) - 1
        end = min(n, max(end, begin + 1))
        first, last = indptr[begin], indptr[end]
        c, offsets = _postings_of(table, cols[first:last], counts[first:last])
        if len(offsets):
            flat = (np.repeat(rows[first:last] - begin, c)) * n_papers + table.papers[offsets]
            weights = table.weights[offsets] * np.repeat(vals[first:last], c)
            block = np.bincount(flat, weights=weights, minlength=(end - begin) * n_papers)
            out[begin:end] = block.reshape(end - begin, n_papers)
        begin = end
    return out


# The query-by-table product, block of rows by block: densely (BLAS) when the block's queries
# share few terms, as readers who pick from the same topics and phrases do, else along the
# posting lists. Measured on 10,000 synthetic readers x 300 papers (410 distinct query terms of
# the day among them): 0.05-0.1 s densely, 0.5 s along the postings.
DENSE_ROWS = 2048  # rows per block
DENSE_POSTINGS_FACTOR = 500  # dense when rows x terms x papers x tables <= this x postings
DENSE_MAX_CELLS = 4_000_000  # rows x distinct terms of one block: 32 MB of float64 at most


def _dense_table(table: Postings, terms: np.ndarray, out: np.ndarray, offset: int) -> None:
    """``table``'s rows for ``terms`` (sorted, distinct) written densely into ``out``'s rows,
    papers from column ``offset`` on."""
    counts, at = _postings_of(table, terms)
    out[np.repeat(np.arange(len(terms)), counts), offset + table.papers[at]] = table.weights[at]


def _rows_times_tables(
    indptr: np.ndarray,
    cols: np.ndarray,
    vals: np.ndarray,
    tables: list[Postings],
    n_papers: int,
    block: int = DENSE_ROWS,
) -> list[np.ndarray]:
    """(queries x papers) for each of ``tables``: each sparse query row (indptr/cols/vals) times
    the table. A block of rows whose queries share few distinct terms is multiplied densely, all
    tables in one matrix product (float64, as the posting lists sum); any other block along the
    posting lists (``_rows_times``). Either way a row's result depends only on its own query."""
    n = len(indptr) - 1
    outs = [np.zeros((n, n_papers), dtype=np.float32) for _ in tables]
    if not len(cols) or not n_papers:
        return outs
    postings = sum(t.start[cols + 1] - t.start[cols] for t in tables)
    rows = np.repeat(np.arange(n), np.diff(indptr))
    for begin in range(0, n, block):
        end = min(n, begin + block)
        first, last = int(indptr[begin]), int(indptr[end])
        if first == last:
            continue
        terms, at = np.unique(cols[first:last], return_inverse=True)
        cells = (end - begin) * len(terms)
        dense = cells <= DENSE_MAX_CELLS and cells * n_papers * len(tables) <= (
            DENSE_POSTINGS_FACTOR * int(postings[first:last].sum())
        )
        if dense:
            queries = np.zeros((end - begin, len(terms)), dtype=np.float64)
            queries[rows[first:last] - begin, at] = vals[first:last]
            table = np.zeros((len(terms), n_papers * len(tables)), dtype=np.float64)
            for k, t in enumerate(tables):
                _dense_table(t, terms, table, k * n_papers)
            product = queries @ table
            for k, out in enumerate(outs):
                out[begin:end] = product[:, k * n_papers : (k + 1) * n_papers]
        else:
            part = indptr[begin : end + 1] - first
            for t, out in zip(tables, outs, strict=True):
                out[begin:end] = _rows_times(part, cols[first:last], vals[first:last], t, n_papers)
    return outs


# A term is known by a 64-bit hash of it, the same in every process: a query compiled into
# arrays once (and stored with its profile) maps to any day's columns with one sorted lookup.
@lru_cache(maxsize=500_000)
def term_hash(term: str) -> int:
    digest = hashlib.blake2b(term.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little", signed=True)


def query_compile(
    keywords: tuple[str, ...], topics: tuple[TopicRef, ...]
) -> tuple[np.ndarray, np.ndarray, float]:
    """A profile's BM25 query as arrays: its terms' hashes (int64), their weights (float32) and
    the weights' sum. What ``Profile.query`` and the stored profile hold."""
    pairs = _query(keywords, topics)
    hashes = np.array([term_hash(t) for t, _ in pairs], dtype=np.int64)
    weights = np.array([w for _, w in pairs], dtype=np.float32)
    return hashes, weights, float(weights.sum())


_query_compiled = lru_cache(maxsize=200_000)(query_compile)


@dataclass
class Queries:
    """The queries of a list of profiles, compiled, as CSR arrays: profile i's term hashes and
    weights are ``terms[indptr[i]:indptr[i + 1]]`` and ``weights[...]``; ``totals[i]`` their
    sum. A service that stores compiled queries passes them to ``rank_day`` as they are."""

    indptr: np.ndarray
    terms: np.ndarray
    weights: np.ndarray
    totals: np.ndarray

    def rows(self, start: int, end: int) -> Queries:
        first, last = self.indptr[start], self.indptr[min(end, len(self.indptr) - 1)]
        return Queries(
            self.indptr[start : end + 1] - first,
            self.terms[first:last],
            self.weights[first:last],
            self.totals[start:end],
        )


def queries_of(profiles: list[Profile]) -> Queries:
    """The profiles' compiled queries (cached per keywords and topics)."""
    compiled = [_query_compiled(p.keywords, p.topics) for p in profiles]
    lengths = np.array([len(c[0]) for c in compiled], dtype=np.int64)
    indptr = np.zeros(len(profiles) + 1, dtype=np.int64)
    np.cumsum(lengths, out=indptr[1:])
    empty = not compiled or not indptr[-1]
    return Queries(
        indptr,
        np.concatenate([c[0] for c in compiled]) if not empty else np.zeros(0, dtype=np.int64),
        np.concatenate([c[1] for c in compiled]) if not empty else np.zeros(0, dtype=np.float32),
        np.array([c[2] for c in compiled], dtype=np.float32),
    )


def _day_columns(day: Day, hashes: np.ndarray) -> np.ndarray:
    """The day's column of each term hash, or -1 when no paper of the day has that term."""
    if day.term_hashes is None:
        known = np.array([term_hash(t) for t in day.columns], dtype=np.int64)
        order = np.argsort(known, kind="stable")
        day.term_hashes, day.term_columns = known[order], order
    if not len(day.term_hashes) or not len(hashes):
        return np.full(len(hashes), -1, dtype=np.int64)
    at = np.minimum(np.searchsorted(day.term_hashes, hashes), len(day.term_hashes) - 1)
    return np.where(day.term_hashes[at] == hashes, day.term_columns[at], -1)


def _query_arrays(
    day: Day, profiles: list[Profile], queries: Queries | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The profiles' queries as CSR arrays over the day's columns, without the terms no paper of
    the day has (most bigrams), and each query's total weight (all its terms)."""
    if queries is None:
        queries = queries_of(profiles)
    n = len(queries.indptr) - 1
    if not queries.indptr[-1]:
        return np.zeros(n + 1, dtype=np.int64), queries.terms, queries.weights, queries.totals
    cols = _day_columns(day, queries.terms)
    rows = np.repeat(np.arange(n), np.diff(queries.indptr))
    keep = cols >= 0
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows[keep], minlength=n), out=indptr[1:])
    return indptr, cols[keep], queries.weights[keep], queries.totals


def _phrase_papers(day: Day, key: tuple[str, ...]) -> list[int]:
    """The day's papers whose title or abstract holds the phrase (cached for the day)."""
    if key not in day.phrase_papers:
        needed = text.phrase_terms(key)
        day.phrase_papers[key] = [
            col
            for col, counts in enumerate(day.tf)
            if all(t in counts for t in needed) and (len(key) <= 2 or _spans(day, col, key))
        ]
    return day.phrase_papers[key]


def _title_phrase_papers(day: Day, key: tuple[str, ...]) -> list[int]:
    """The day's papers whose title holds the keyword ``key`` (its ``text.phrase_forms``), words
    between allowed up to ``TITLE_PHRASE_GAP`` (cached for the day)."""
    if day.title_forms is None:
        day.title_forms = [
            text.form_positions(p.title, t)
            for p, t in zip(day.papers, day.title_tokens, strict=True)
        ]
        rows: dict[str, list[int]] = defaultdict(list)
        for row, forms in enumerate(day.title_forms):
            for form in forms:
                rows[form].append(row)
        day.title_form_rows = dict(rows)
    if key not in day.title_phrases:
        day.title_phrases[key] = [
            row
            for row in day.title_form_rows.get(key[0], ())
            if text.phrase_within(key, day.title_forms[row], TITLE_PHRASE_GAP)
        ]
    return day.title_phrases[key]


def _phrase_mask(day: Day, profiles: list[Profile], kind: str) -> np.ndarray:
    """(profiles x papers) True where one of a profile's exclusions (``kind`` "exclusions") is in
    the title or abstract, or one of its keywords ("keywords") in the title."""
    mask = np.zeros((len(profiles), len(day.papers)), dtype=bool)
    key_of, papers_of = (
        (text.phrase_key, _phrase_papers)
        if kind == "exclusions"
        else (text.phrase_forms, _title_phrase_papers)
    )
    readers: dict[str, list[int]] = defaultdict(list)  # each term's profiles, then its papers
    for row, profile in enumerate(profiles):
        for term in getattr(profile, kind):
            readers[term].append(row)
    for term, rows in readers.items():
        key = key_of(term)
        cols = papers_of(day, key) if key else ()
        if cols:
            mask[np.ix_(rows, cols)] = True
    return mask


def _zscore(scores: np.ndarray, floor: float, weight: float = 1.0) -> np.ndarray:
    """``weight`` times each row standardised (a new array; one pass fewer than numpy's std)."""
    if scores.shape[1] == 0:
        return scores.copy()
    mean = scores.mean(axis=1, keepdims=True)
    out = np.subtract(scores, mean)
    spread = np.sqrt(np.einsum("ij,ij->i", out, out) / scores.shape[1])[:, None]
    np.maximum(spread, floor, out=spread)
    out *= weight / spread
    return out


def _category_matrix(day: Day, profiles: list[Profile]) -> np.ndarray:
    """(profiles x papers) affinity: the profile's weight of the paper's categories, primary first."""
    names = sorted({c for p in profiles for c in p.categories})
    if not names:
        return np.zeros((len(profiles), len(day.papers)), dtype=np.float32)
    index = {c: i for i, c in enumerate(names)}
    paper_cats = np.zeros((len(day.papers), len(names)), dtype=np.float32)
    for row, paper in enumerate(day.papers):
        for position, cat in enumerate(paper.categories):
            if cat in index:
                paper_cats[row, index[cat]] = max(
                    paper_cats[row, index[cat]], 1.0 if position == 0 else 0.5
                )
    weights = np.zeros((len(profiles), len(names)), dtype=np.float32)
    rows = np.repeat(np.arange(len(profiles)), [len(p.categories) for p in profiles])
    cols = [index[c] for p in profiles for c in p.categories]
    weights[rows, cols] = [w for p in profiles for w in p.categories.values()]
    return weights @ paper_cats.T


def _popularity(day: Day) -> np.ndarray:
    votes = np.array([p.upvotes or 0 for p in day.papers], dtype=np.float32)
    top = np.log1p(votes.max()) if len(votes) and votes.max() > 0 else 1.0
    return np.log1p(votes) / top


@dataclass
class Scores:
    """Everything known about one chunk of profiles against the day's papers."""

    rank: np.ndarray  # (profiles x papers) the mixed score papers are ordered by
    cosine: np.ndarray | None
    lexical: np.ndarray
    title_share: np.ndarray  # share of the query's weight found in the title
    eligible: np.ndarray  # bool: passes the threshold
    blocked: np.ndarray  # bool: excluded or already sent
    followed: np.ndarray  # bool: by a followed author


def day_scores(
    *,
    day: Day,
    profiles: list[Profile],
    profile_vectors: np.ndarray | None,
    df: Mapping[str, int],
    n_docs: int,
    already_sent: Mapping[int, set[str]],
    params: Params = DEFAULT_PARAMS,
    queries: Queries | None = None,
) -> Scores:
    """Scores of one chunk of profiles against every paper of the day (vectorised).
    ``queries``: the profiles' compiled queries, when stored (else compiled from their keywords
    and topics)."""
    n_s, n_p = len(profiles), len(day.papers)
    _day_tables(day, df, n_docs)
    indptr, cols, vals, totals = _query_arrays(day, profiles, queries)
    lexical, title_hits = _rows_times_tables(indptr, cols, vals, [day.bm25, day.title], n_p)
    title_share = title_hits / np.maximum(totals, 1e-9)[:, None]

    cosine = None
    if day.vectors is not None and profile_vectors is not None and n_p:
        as_float = profile_vectors.astype(np.float32)  # float16 arithmetic is slow in numpy
        cosine = as_float @ day.vectors.astype(np.float32).T
        cosine[~as_float.any(axis=1)] = 0.0
    if cosine is not None:
        rank = _zscore(cosine, params.z_floor, params.w_sem)
        rank += _zscore(lexical, params.z_floor, params.w_lex)
        eligible = (cosine >= params.min_cosine) | (title_share >= params.min_lex)
    else:
        rank = _zscore(lexical, params.z_floor)
        eligible = title_share >= params.min_lex
    eligible |= _phrase_mask(day, profiles, "keywords")
    rank += params.w_cat * _category_matrix(day, profiles)
    rank += params.w_pop * _popularity(day)

    blocked = _phrase_mask(day, profiles, "exclusions")
    followed = np.zeros((n_s, n_p), dtype=bool)
    columns = {sent_key(p.arxiv_id, p.id): col for col, p in enumerate(day.papers)}
    day_ids = set(columns)
    for row, profile in enumerate(profiles):
        sent = already_sent.get(profile.subscriber_id)
        if sent:
            for arxiv_id in day_ids & sent:
                blocked[row, columns[arxiv_id]] = True
        for liked in profile.liked:  # they know it already
            if liked.arxiv_id in columns:
                blocked[row, columns[liked.arxiv_id]] = True
        for name in profile.authors:
            for col in day.authors.get(text.author_key(name), ()):
                followed[row, col] = True
    return Scores(rank, cosine, lexical, title_share, eligible, blocked, followed)


# --- Picks and reasons ---------------------------------------------------------------------


# Spans kept per field of a reason: a digest highlights the first few, and a listing repeating
# one word thousands of times must not store (and mark) thousands per paper and reader.
MAX_SPANS_PER_FIELD = 8


def _capped(spans: tuple[tuple[str, int, int], ...]) -> tuple[tuple[str, int, int], ...]:
    seen: dict[str, int] = defaultdict(int)
    kept = []
    for span in spans:
        seen[span[0]] += 1
        if seen[span[0]] <= MAX_SPANS_PER_FIELD:
            kept.append(span)
    return tuple(kept)


def _spans(day: Day, row: int, key: tuple[str, ...]) -> tuple[tuple[str, int, int], ...]:
    title_index, abstract_index = day.index(row)
    if key and key[0] not in title_index and key[0] not in abstract_index:
        return ()
    title = text.phrase_spans(key, day.title_tokens[row], title_index)
    abstract = text.phrase_spans(key, day.abstract_tokens[row], abstract_index)
    return _capped(
        tuple([("title", s, e) for s, e in title] + [("abstract", s, e) for s, e in abstract])
    )


def _keyword_reason(day: Day, row: int, keyword: str) -> Reason | None:
    # The same keyword in the same paper reads the same for every subscriber: computed once a day.
    cache_key = ("k", row, keyword)
    if cache_key not in day.reasons:
        spans = _spans(day, row, text.phrase_key(keyword))
        day.reasons[cache_key] = (
            Reason("keyword", keyword, f"mentions “{keyword}”", spans) if spans else None
        )
    return day.reasons[cache_key]


def _topic_reason(day: Day, row: int, topic: TopicRef) -> Reason | None:
    cache_key = ("t", row, topic)
    if cache_key not in day.reasons:
        spans: tuple[tuple[str, int, int], ...] = ()
        matched = []
        for phrase in topic.phrases:
            found = _spans(day, row, text.phrase_key(phrase))
            if found:
                matched.append(phrase)
                spans += found
        day.reasons[cache_key] = (
            Reason("topic", topic.name, f"{topic.name}: {', '.join(matched[:3])}", _capped(spans))
            if matched
            else None
        )
    return day.reasons[cache_key]


def _candidate_rows(day: Day, key: tuple[str, ...]) -> set[int]:
    """The papers holding every stem of ``key`` in their title or abstract: the only ones a
    phrase can have spans in."""
    if day.stem_rows is None:
        stem_rows: dict[str, set[int]] = defaultdict(set)
        for row in range(len(day.papers)):
            title_index, abstract_index = day.index(row)
            for stem in itertools.chain(title_index, abstract_index):
                stem_rows[stem].add(row)
        day.stem_rows = dict(stem_rows)
    if not key:
        return set()
    return set.intersection(*(day.stem_rows.get(stem, set()) for stem in key))


def _hits(day: Day, kind: str, item: str | TopicRef) -> dict[int, Reason]:
    """The day's papers a keyword (``kind`` "k") or topic ("t") has a reason in, with that reason:
    found once a day, so a subscriber's reasons are a lookup per keyword, not per pick."""
    cache_key = (kind, item)
    found = day.hits.get(cache_key)
    if found is None:
        if kind == "k":
            rows = _candidate_rows(day, text.phrase_key(item))
            reasons = {row: _keyword_reason(day, row, item) for row in sorted(rows)}
        else:
            rows = set().union(*(_candidate_rows(day, text.phrase_key(p)) for p in item.phrases))
            reasons = {row: _topic_reason(day, row, item) for row in sorted(rows)}
        found = day.hits[cache_key] = {row: r for row, r in reasons.items() if r is not None}
    return found


def _matched_reasons(day: Day, profile: Profile, rows: list[int]) -> dict[int, list[Reason]]:
    """Each of ``rows``' author, keyword and topic reasons for ``profile``, in that order."""
    found: dict[int, list[Reason]] = {row: [] for row in rows}
    wanted = found.keys()
    if profile.authors:
        for row in rows:
            found[row].extend(_author_reasons(day, row, profile))
    for kind, items in (("k", profile.keywords), ("t", profile.topics)):
        for item in items:
            hits = _hits(day, kind, item)
            if hits:
                for row in wanted & hits.keys():
                    found[row].append(hits[row])
    return found


def _author_reasons(day: Day, row: int, profile: Profile) -> list[Reason]:
    followed = {text.author_key(a) for a in profile.authors}
    return [
        Reason("author", name, f"by {name}, whom you follow")
        for name in day.papers[row].authors
        if text.author_key(name) in followed or text.author_short_key(name) in followed
    ]


def reasons_for(
    *,
    day: Day,
    row: int,
    profile: Profile,
    cosine: float | None,
    params: Params = DEFAULT_PARAMS,
    matched: list[Reason] | None = None,
) -> tuple[Reason, ...]:
    """Human-readable reasons a paper suits a profile, with spans of what matched.
    ``matched``: the author, keyword and topic reasons when already found (``_matched_reasons``)."""
    if matched is None:
        matched = _matched_reasons(day, profile, [row])[row]
    reasons = list(matched)
    paper = day.papers[row]
    if day.vectors is not None and profile.liked:
        best: tuple[float, LikedPaper] | None = None
        for liked in profile.liked:
            if liked.vector is not None and liked.arxiv_id != paper.arxiv_id:
                sim = float(liked.vector.astype(np.float32) @ day.vectors[row].astype(np.float32))
                if sim >= params.similar_cosine and (best is None or sim > best[0]):
                    best = (sim, liked)
        if best:
            reasons.append(Reason("similar", best[1].title, f"similar to “{best[1].title}”"))
    if not reasons and cosine is not None:
        reasons.append(Reason("semantic", "", "close to your interests in meaning"))
    return tuple(reasons)


def top_picks(
    *, profiles: list[Profile], scores: Scores, limit: int | None = None, threshold: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """Each profile's picked paper rows in rank order, as a (profiles x k) matrix and how many of
    each row count: the top ``max_papers`` (or ``limit``) of what qualifies, followed authors
    first. Vectorised over the chunk."""
    qualifies = (scores.eligible if threshold else np.ones_like(scores.blocked)) | scores.followed
    qualifies &= ~scores.blocked
    n_p = qualifies.shape[1]
    caps = np.array(
        [limit if limit is not None else p.max_papers for p in profiles], dtype=np.int64
    )
    counts = np.minimum(caps, qualifies.sum(axis=1))
    k = int(min(counts.max(initial=0), n_p))
    if k == 0:
        return np.zeros((len(profiles), 0), dtype=np.int64), counts
    # Followed authors first; without any in the chunk the float32 scores order alone (exactly
    # as they would in float64, in half the memory and time).
    lifted = scores.rank + 1000.0 * scores.followed if scores.followed.any() else scores.rank
    key = np.where(qualifies, lifted, np.float32(-np.inf))
    top = (
        np.argpartition(-key, k - 1, axis=1)[:, :k]
        if k < n_p
        else np.tile(np.arange(n_p), (len(profiles), 1))
    )
    # Equal scores keep the papers' input order: sort by column, then stably by score.
    top = np.sort(top, axis=1)
    order = np.argsort(-np.take_along_axis(key, top, axis=1), axis=1, kind="stable")
    return np.take_along_axis(top, order, axis=1), counts


def picks_from_scores(
    *,
    day: Day,
    profiles: list[Profile],
    scores: Scores,
    limit: int | None = None,
    threshold: bool = True,
    params: Params = DEFAULT_PARAMS,
    with_reasons: bool = True,
) -> dict[int, list[Pick]]:
    """Each profile's picks, with their reasons, in rank order."""
    top, counts = top_picks(profiles=profiles, scores=scores, limit=limit, threshold=threshold)
    values = np.round(np.take_along_axis(scores.rank, top, axis=1).astype(np.float64), 4).tolist()
    cosines = (
        np.take_along_axis(scores.cosine, top, axis=1).tolist()
        if scores.cosine is not None
        else None
    )
    ids = [p.id for p in day.papers]
    arxiv_ids = [p.arxiv_id for p in day.papers]
    new = tuple.__new__
    result: dict[int, list[Pick]] = {}
    rows = zip(profiles, top.tolist(), counts.tolist(), values, strict=True)
    for row, (profile, cols, count, scored) in enumerate(rows):
        if not with_reasons:
            # tuple.__new__ skips the named tuple's Python-level __new__: a million picks a day.
            result[profile.subscriber_id] = [
                new(Pick, (ids[c], arxiv_ids[c], v, ()))
                for c, v in zip(cols[:count], scored, strict=False)
            ]
            continue
        matched = _matched_reasons(day, profile, cols[:count])
        result[profile.subscriber_id] = [
            Pick(
                ids[c],
                arxiv_ids[c],
                v,
                reasons_for(
                    day=day,
                    row=c,
                    profile=profile,
                    cosine=None if cosines is None else cosines[row][i],
                    params=params,
                    matched=matched[c],
                ),
            )
            for i, (c, v) in enumerate(zip(cols[:count], scored, strict=False))
        ]
    return result


def rank(
    *, papers: list[PaperDoc], paper_vectors: np.ndarray | None, **options
) -> dict[int, list[Pick]]:
    """Every profile's picks among ``papers`` (see ``rank_day``)."""
    return rank_day(day=day_prepare(papers, paper_vectors), **options)


def rank_day(
    *,
    day: Day,
    profiles: list[Profile],
    profile_vectors: np.ndarray | None,
    df: Mapping[str, int],
    n_docs: int,
    already_sent: Mapping[int, set[str]] | None = None,
    limit: int | None = None,
    threshold: bool = True,
    params: Params = DEFAULT_PARAMS,
    chunk: int = CHUNK,
    with_reasons: bool = True,
    queries: Queries | None = None,
) -> dict[int, list[Pick]]:
    """Every profile's picks among the day's papers, in chunks of profiles so memory stays flat.
    ``queries``: the profiles' compiled queries, in the same order, when they are stored."""
    result: dict[int, list[Pick]] = {}
    for start in range(0, len(profiles), chunk):
        part = profiles[start : start + chunk]
        vectors = None if profile_vectors is None else profile_vectors[start : start + chunk]
        scores = day_scores(
            day=day,
            profiles=part,
            profile_vectors=vectors,
            df=df,
            n_docs=n_docs,
            already_sent=already_sent or {},
            params=params,
            queries=None if queries is None else queries.rows(start, start + chunk),
        )
        result.update(
            picks_from_scores(
                day=day,
                profiles=part,
                scores=scores,
                limit=limit,
                threshold=threshold,
                params=params,
                with_reasons=with_reasons,
            )
        )
    return result


def document_frequencies(term_lists: Iterable[Iterable[str]]) -> tuple[dict[str, int], int]:
    """Document frequencies and the number of documents, from each paper's distinct terms."""
    df: dict[str, int] = defaultdict(int)
    n = 0
    for terms in term_lists:
        n += 1
        for term in terms:
            df[term] += 1
    return dict(df), n
