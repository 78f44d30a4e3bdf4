"""The engine's rules, on real embeddings of a small day: pure functions, no database."""

from __future__ import annotations

import numpy as np
import pytest

from newsletter.matching import engine, profiles
from newsletter.matching.encoder import encoder_get, paper_text
from tests.matching.conftest import CRYPTO, ROBOTICS, VISION

ROWS = ROBOTICS + CRYPTO + VISION


@pytest.fixture(scope="module")
def day():
    papers = [
        engine.PaperDoc(
            id=n,
            arxiv_id=f"2602.{n:05d}",
            title=title,
            abstract=abstract,
            authors=("Ada Lovelace",) if n == 4 else ("B. Author",),
            categories=tuple(cats),
        )
        for n, (title, abstract, cats) in enumerate(ROWS)
    ]
    vectors = encoder_get().encode([paper_text(p.title, p.abstract) for p in papers])
    df, n_docs = engine.document_frequencies(
        engine.paper_terms(p.title, p.abstract) for p in papers
    )
    return papers, vectors, df, n_docs


def rank(day, *people: engine.Profile, **options):
    papers, vectors, df, n_docs = day
    cache: dict = {}
    profiles.phrase_vectors(encoder_get(), (k for p in people for k in p.keywords), cache)
    matrix = profiles.profile_vectors(
        keyword_vectors=[[cache[k] for k in p.keywords] for p in people],
        topic_vectors=[[] for _ in people],
        liked_vectors=[[] for _ in people],
    )
    return engine.rank(
        papers=papers,
        paper_vectors=vectors,
        profiles=list(people),
        profile_vectors=matrix,
        df=df,
        n_docs=n_docs,
        **options,
    )


def titles(day, picks) -> list[str]:
    return [day[0][p.paper_id].title for p in picks]


def test_a_reader_gets_their_field_first(day):
    picks = rank(day, engine.Profile(1, keywords=("robot manipulation", "legged locomotion")))[1]
    assert {p.paper_id for p in picks[:3]} == {0, 1, 2}


def test_the_keyword_that_matched_is_named_and_its_spans_point_at_it(day):
    picks = rank(day, engine.Profile(1, keywords=("motion planning", "quantum error correction")))[
        1
    ]
    pick = next(p for p in picks if p.paper_id == 1)
    reasons = [r for r in pick.reasons if r.kind == "keyword"]
    assert [r.label for r in reasons] == ["motion planning"]
    paper = day[0][1]
    spans = reasons[0].spans
    assert ("title", 15, 30) in spans
    for field, start, end in spans:
        assert getattr(paper, field)[start:end].lower() == "motion planning"


def test_excluded_terms_always_win(day):
    """Even over a followed author and a perfect keyword match."""
    reader = engine.Profile(
        1,
        keywords=("side-channel attacks", "elliptic curve"),
        exclusions=("timing leaks",),
        authors=("Ada Lovelace",),
    )
    picks = rank(day, reader)[1]
    assert 4 not in {p.paper_id for p in picks}


def test_a_followed_author_always_comes_through(day):
    """A crypto paper for a robotics reader: below the threshold, but by an author they follow."""
    reader = engine.Profile(1, keywords=("robot manipulation",), authors=("ada lovelace",))
    picks = rank(day, reader)[1]
    assert picks[0].paper_id == 4
    assert picks[0].reasons[0].kind == "author"
    assert picks[0].reasons[0].label == "Ada Lovelace"


def test_a_followed_author_written_with_an_initial_is_found_and_named(day):
    reader = engine.Profile(1, keywords=("robot manipulation",), authors=("A. Lovelace",))
    picks = rank(day, reader)[1]
    assert picks[0].paper_id == 4
    assert (picks[0].reasons[0].kind, picks[0].reasons[0].label) == ("author", "Ada Lovelace")


def test_a_quiet_day_gives_nothing(day):
    """Nothing on the day is about what this reader reads: the email would be empty."""
    reader = engine.Profile(1, keywords=("protein folding", "drug discovery", "molecular dynamics"))
    assert rank(day, reader)[1] == []
    assert len(rank(day, reader, threshold=False)[1]) == len(day[0])


def test_papers_already_sent_never_come_again(day):
    reader = engine.Profile(1, keywords=("robot manipulation", "legged locomotion"))
    first = rank(day, reader)[1]
    sent = {p.arxiv_id for p in first[:2]}
    again = rank(day, reader, already_sent={1: sent})[1]
    assert sent.isdisjoint({p.arxiv_id for p in again})
    assert again


def test_the_cap_is_the_subscribers_max_papers_or_the_limit(day):
    reader = engine.Profile(1, max_papers=2, keywords=("robot",))
    assert len(rank(day, reader, threshold=False)[1]) == 2
    assert len(rank(day, reader, threshold=False, limit=5)[1]) == 5


def test_the_ranking_is_stable_for_equal_inputs(day):
    reader = engine.Profile(1, keywords=("object detection",))
    first = rank(day, reader, threshold=False)[1]
    assert rank(day, reader, threshold=False)[1] == first
    # Two identical papers keep their listing order.
    papers, vectors, df, n_docs = day
    twin = [
        *papers,
        engine.PaperDoc(
            id=99, arxiv_id="2602.99999", title=papers[5].title, abstract=papers[5].abstract
        ),
    ]
    twin_vectors = np.vstack([vectors, vectors[5:6]])
    picks = rank((twin, twin_vectors, df, n_docs), reader, threshold=False)[1]
    order = [p.paper_id for p in picks]
    assert order.index(5) == order.index(99) - 1


def test_one_subscribers_results_do_not_depend_on_who_else_is_subscribed(day):
    alone = rank(day, engine.Profile(1, keywords=("object detection",)))[1]
    crowd = rank(
        day,
        engine.Profile(7, keywords=("lattice signatures",), exclusions=("detection",)),
        engine.Profile(1, keywords=("object detection",)),
        engine.Profile(8, keywords=("quadruped",)),
        chunk=2,
    )
    assert crowd[1] == alone


def test_without_a_model_keywords_still_rank(day):
    papers, _, df, n_docs = day
    picks = engine.rank(
        papers=papers,
        paper_vectors=None,
        profiles=[engine.Profile(1, keywords=("elliptic curve",))],
        profile_vectors=None,
        df=df,
        n_docs=n_docs,
    )[1]
    assert [p.paper_id for p in picks] == [4]
    assert picks[0].reasons[0].label == "elliptic curve"


def test_phrases_match_across_plurals_hyphens_and_acronyms():
    papers = [
        engine.PaperDoc(
            1, None, "Chain of thought for LLMs", "We study chain-of-thought prompting."
        ),
        engine.PaperDoc(2, None, "Thought experiments", "A chain of shops."),
    ]
    df, n = engine.document_frequencies(engine.paper_terms(p.title, p.abstract) for p in papers)
    picks = engine.rank(
        papers=papers,
        paper_vectors=None,
        profiles=[engine.Profile(1, keywords=("chain-of-thought", "LLM"))],
        profile_vectors=None,
        df=df,
        n_docs=n,
        threshold=False,
    )[1]
    assert picks[0].paper_id == 1
    labels = {r.label: r.spans for r in picks[0].reasons}
    assert labels["LLM"] == (("title", 21, 25),)
    assert ("abstract", 9, 25) in labels["chain-of-thought"]


def test_lexical_scores_are_the_sum_over_the_query_terms_even_with_empty_queries():
    """The numpy-only sparse product gives what a dense product gives, rows without terms too."""
    rng = np.random.default_rng(3)
    table = rng.random((6, 4)).astype(np.float32) * (rng.random((6, 4)) > 0.4)
    entries = [{t: float(table[t, p]) for t in range(6) if table[t, p]} for p in range(4)]
    dense = np.zeros((5, 6), dtype=np.float32)
    dense[0, [1, 4]] = [0.5, 1.0]
    dense[2, 3] = 2.0
    dense[4, [0, 1, 5]] = [1.0, 1.0, 0.25]
    indptr = np.array([0, 2, 2, 3, 3, 6])
    cols = np.array([1, 4, 3, 0, 1, 5])
    vals = dense[dense > 0]
    postings = engine._postings(entries, 6)
    got = engine._rows_times(indptr, cols, vals, postings, 4, budget=2)
    assert np.allclose(got, dense @ table)


def test_dense_and_posting_list_products_give_the_same_scores(monkeypatch):
    """Blocks whose queries share few terms are multiplied densely, the others along the posting
    lists: both give the dense product, for every table, rows without terms included."""
    rng = np.random.default_rng(5)
    n_terms, n_papers, n_rows = 40, 7, 9
    tables = [rng.random((n_terms, n_papers)) * (rng.random((n_terms, n_papers)) > 0.6)]
    tables.append(tables[0] * (rng.random((n_terms, n_papers)) > 0.5))
    postings = [
        engine._postings(
            [
                {t: float(table[t, p]) for t in range(n_terms) if table[t, p]}
                for p in range(n_papers)
            ],
            n_terms,
        )
        for table in tables
    ]
    queries = rng.random((n_rows, n_terms)) * (rng.random((n_rows, n_terms)) > 0.8)
    queries[3] = 0.0
    rows, cols = np.nonzero(queries)
    indptr = np.searchsorted(rows, np.arange(n_rows + 1))
    vals = queries[rows, cols].astype(np.float32)
    expected = [queries.astype(np.float32) @ t for t in tables]
    for factor in (0, 10**9):  # never dense, always dense
        monkeypatch.setattr(engine, "DENSE_POSTINGS_FACTOR", factor)
        got = engine._rows_times_tables(indptr, cols, vals, postings, n_papers, block=4)
        for g, e in zip(got, expected, strict=True):
            assert np.allclose(g, e, atol=1e-5)


def test_upvotes_break_ties_but_never_bring_in_an_off_topic_paper(day):
    papers, vectors, df, n_docs = day
    twin = engine.PaperDoc(
        id=99, arxiv_id="2602.99999", title=papers[5].title, abstract=papers[5].abstract, upvotes=40
    )
    loud = [
        *[p if p.id != 3 else engine.PaperDoc(**{**p.__dict__, "upvotes": 10_000}) for p in papers],
        twin,
    ]
    reader = engine.Profile(1, keywords=("object detection",))
    picks = rank((loud, np.vstack([vectors, vectors[5:6]]), df, n_docs), reader)[1]
    order = [p.paper_id for p in picks]
    assert order.index(99) < order.index(5)  # the same paper, more upvotes: first
    assert 3 not in order  # lattice signatures, however popular


def _title_picks(titles: list[str], reader: engine.Profile, **options) -> list[int]:
    """Picks without a model: only the lexical evidence counts."""
    papers = [engine.PaperDoc(n, None, title, "") for n, title in enumerate(titles)]
    df, n = engine.document_frequencies(engine.paper_terms(p.title, p.abstract) for p in papers)
    ranked = engine.rank(
        papers=papers,
        paper_vectors=None,
        profiles=[reader],
        profile_vectors=None,
        df=df,
        n_docs=n,
        **options,
    )
    return [p.paper_id for p in ranked[reader.subscriber_id]]


def test_a_title_with_one_of_the_readers_keywords_in_it_is_a_pick_however_many_they_have():
    """The words as written, in order, a hyphenated modifier between them; not reversed, not a
    mere shared stem ("accessibility" is not "Access")."""
    titles = [
        "MoMa: Efficient Early-Fusion Pre-training with Mixture of Modality-Aware Experts",
        "Experts in a Mixture of Opinions",
        "Open Access Control for Agents",
        "Sparse Mixture-of-Experts Routing",
    ]
    reader = engine.Profile(
        1, keywords=("mixture of experts", "reinforcement learning", "accessibility")
    )
    assert sorted(_title_picks(titles, reader)) == [0, 3]


def test_an_exclusion_or_an_earlier_digest_still_rules_a_title_keyword_out():
    titles = ["Mixture of Modality-Aware Experts", "Mixture-of-Experts for Early Fusion"]
    reader = engine.Profile(
        1, keywords=("mixture of experts", "reinforcement learning"), exclusions=("early fusion",)
    )
    assert _title_picks(titles, reader) == [0]
    assert _title_picks(titles, reader, already_sent={1: {"paper:0"}}) == []
