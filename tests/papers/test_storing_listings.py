"""Storing records: one Paper per paper, richer records fill gaps, re-ingesting changes nothing."""

from __future__ import annotations

from datetime import date

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from newsletter.papers.ingest import listing_ingest, papers_upsert
from newsletter.papers.models import IngestRun, ListingEntry, Paper, paper_links
from newsletter.papers.selectors import recent_papers
from newsletter.papers.sources import PaperRecord, SourceError

from .conftest import data

pytestmark = pytest.mark.django_db
DAY = date(2026, 11, 10)


def upsert(*records: PaperRecord, origin: str = "test", day: date = DAY):
    return papers_upsert(records=list(records), origin=origin, listing_date=day)


def snapshot() -> list[tuple]:
    return list(Paper.objects.order_by("pk").values_list()) + list(
        ListingEntry.objects.order_by("pk").values_list()
    )


def test_it_stores_one_paper_per_arxiv_id_however_often_it_is_listed():
    record = PaperRecord(title="A Paper", arxiv_id="2401.00001")
    counts = upsert(record, record, PaperRecord(title="A  paper!", arxiv_id="2401.00001"))
    assert (counts.new, counts.updated, counts.unchanged) == (1, 0, 0)
    assert Paper.objects.count() == 1
    assert ListingEntry.objects.get().rank == 1


def test_papers_without_arxiv_id_are_one_per_normalised_title():
    upsert(PaperRecord(title="What's in a Prior? Learned Proximal Networks"))
    counts = upsert(
        PaperRecord(title="what\u2019s in a prior \u2014 learned  proximal networks"),
        origin="other",
    )
    assert (counts.new, counts.unchanged) == (0, 1)
    assert Paper.objects.count() == 1


def test_two_arxiv_papers_with_the_same_title_stay_two_papers():
    upsert(
        PaperRecord(title="Introduction", arxiv_id="2401.00001"),
        PaperRecord(title="Introduction", arxiv_id="2401.00002"),
    )
    assert Paper.objects.count() == 2


def test_a_richer_record_fills_gaps_and_attaches_the_arxiv_id_to_a_title_only_paper():
    upsert(
        PaperRecord(
            title="Pointer Networks", abstract="We introduce a new...", author_count=3, upvotes=2
        )
    )
    counts = upsert(
        PaperRecord(
            title="Pointer Networks",
            arxiv_id="1506.03134",
            abstract="We introduce a new neural architecture to learn the conditional probability.",
            authors=("Oriol Vinyals", "Meire Fortunato", "Navdeep Jaitly"),
            categories=("stat.ML", "cs.LG"),
            published=date(2015, 6, 9),
            abs_url="https://arxiv.org/abs/1506.03134",
            upvotes=5,
        ),
        origin="arxiv",
    )
    assert (counts.new, counts.updated) == (0, 1)
    paper = Paper.objects.get()
    assert paper.arxiv_id == "1506.03134"
    assert paper.abstract.endswith("conditional probability.")
    assert paper.authors == ["Oriol Vinyals", "Meire Fortunato", "Navdeep Jaitly"]
    assert (paper.author_count, paper.upvotes, paper.primary_category) == (3, 5, "stat.ML")
    assert paper.url == "https://arxiv.org/abs/1506.03134"
    assert paper.listings.count() == 2


def test_a_poorer_record_never_erases_what_is_known():
    full = PaperRecord(
        title="Pointer Networks",
        arxiv_id="1506.03134",
        abstract="A long abstract about pointer networks and their uses.",
        authors=("Oriol Vinyals", "Meire Fortunato", "Navdeep Jaitly"),
        categories=("stat.ML",),
        published=date(2015, 6, 9),
        upvotes=9,
        ai_keywords=("pointers",),
    )
    upsert(full)
    before = snapshot()
    counts = upsert(
        PaperRecord(title="Pointer networks", abstract="A long", upvotes=1, author_count=2), day=DAY
    )
    assert (counts.new, counts.updated, counts.unchanged) == (0, 0, 1)
    assert snapshot() == before


def test_reingesting_the_same_listing_reports_nothing_new_and_changes_nothing():
    raw = data("hf/daily_papers_page_2024-08-01.html")
    first = listing_ingest(data=raw, name="page.html")
    before = snapshot()
    second = listing_ingest(data=raw, name="page.html")
    assert (
        first.counts.new,
        second.counts.new,
        second.counts.updated,
        second.counts.unchanged,
    ) == (13, 0, 0, 13)
    assert snapshot() == before


def test_the_same_paper_from_the_page_and_the_api_is_merged():
    listing_ingest(data=data("hf/daily_papers_page_2024-08-01.html"), name="page.html")
    result = listing_ingest(data=data("hf/paper_page_2509.24002.html"), name="paper.html")
    assert result.counts.new == 1
    paper = Paper.objects.get(arxiv_id="2509.24002")
    assert paper.code_url == "https://github.com/eval-sys/mcpmark"
    assert paper.ai_keywords[:2] == ["MCP", "LLMs"]


def test_it_stores_a_listing_with_a_few_bulk_queries_not_one_per_paper():
    raw = data("arxiv/api_query_100_entries.atom.xml")
    with CaptureQueriesContext(connection) as first:
        listing_ingest(data=raw, name="100.xml")
    with CaptureQueriesContext(connection) as again:
        listing_ingest(data=raw, name="100.xml")
    assert Paper.objects.count() == 100
    assert len(first.captured_queries) <= 15
    assert len(again.captured_queries) <= 10


def test_a_dry_run_counts_but_stores_nothing():
    result = listing_ingest(
        data=data("hf/api_daily_papers_2024-10-25.json"), name="api.json", dry_run=True
    )
    assert result.counts.new == 4
    assert (Paper.objects.count(), ListingEntry.objects.count(), IngestRun.objects.count()) == (
        0,
        0,
        0,
    )


def test_each_ingest_is_recorded_as_a_run_with_its_counts_and_refused_records():
    raw = data("listings/000_6fe003334612920c.txt")
    cut = raw[: raw.index(b"Replica symmetry breaking") + 200]
    result = listing_ingest(data=cut, name="cut.txt", today=date(2026, 11, 24))
    run = IngestRun.objects.get(pk=result.run_id)
    assert (run.status, run.new_count, run.refused_count) == ("partial", 50, 1)
    assert run.listing_date == date(2026, 11, 10)
    assert "record 51" in run.error


def test_a_refused_input_changes_nothing_and_records_why():
    listing_ingest(data=data("hf/api_daily_papers_2024-10-25.json"), name="api.json")
    before = snapshot()
    with pytest.raises(SourceError, match=r"api_error_400\.atom\.xml: arXiv API error"):
        listing_ingest(data=data("arxiv/api_error_400.atom.xml"), name="api_error_400.atom.xml")
    assert snapshot() == before
    failed = IngestRun.objects.get(status="failed")
    assert "incorrect id format" in failed.error


def test_listing_entries_keep_rank_and_the_upvotes_of_the_day():
    listing_ingest(data=data("hf/daily_papers_page_2024-08-01.html"), name="page.html")
    entry = ListingEntry.objects.get(paper__arxiv_id="2407.21783")
    assert (entry.origin, entry.listing_date, entry.rank, entry.upvotes) == (
        "page.html",
        date(2024, 8, 1),
        1,
        94,
    )


def test_authors_display_and_url_pick_the_best_known_values():
    paper = Paper(
        title="T",
        authors=["A", "B", "C", "D"],
        hf_url="https://huggingface.co/papers/1",
        pdf_url="https://x/pdf",
    )
    assert (paper.authors_display, paper.url) == (
        "A, B, C et al.",
        "https://huggingface.co/papers/1",
    )
    assert Paper(title="T", author_count=12).authors_display == "12 authors"
    assert Paper(title="T", authors=["A", "B"]).authors_display == "A, B"


def test_recent_papers_are_the_latest_listed_first():
    upsert(PaperRecord(title="Old"), day=date(2026, 1, 1))
    upsert(PaperRecord(title="New one"), PaperRecord(title="New two"), day=date(2026, 2, 1))
    titles = [p.title for p in recent_papers(limit=2)]
    assert sorted(titles) == ["New one", "New two"]
    assert [p.title for p in recent_papers(limit=5)][-1] == "Old"


def test_titles_made_only_of_punctuation_do_not_collapse_into_one_paper():
    upsert(PaperRecord(title="???"), PaperRecord(title="!!!"), PaperRecord(title="? ? ?"))
    assert Paper.objects.count() == 3


def test_a_paper_known_by_title_alone_links_to_the_arxiv_search_for_its_title():
    links = paper_links(Paper(title="Pointer Networks & more"))
    assert (
        links.page == "https://arxiv.org/search/?query=Pointer+Networks+%26+more&searchtype=title"
    )
    assert (links.pdf, links.code, links.project) == ("", "", "")
    by_id = paper_links(Paper(title="Pointer Networks", arxiv_id="1506.03134"))
    assert by_id.page == "https://arxiv.org/abs/1506.03134"
    assert by_id.pdf == "https://arxiv.org/pdf/1506.03134"
