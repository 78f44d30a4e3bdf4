"""Papers known by title alone are looked up on arXiv (then Hugging Face) and get their arXiv id,
from recorded responses: nothing here reaches the network."""

from __future__ import annotations

import time
from datetime import date, timedelta

import pytest
import time_machine
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from newsletter.papers import resolve, tasks
from newsletter.papers.models import ListingEntry, Paper, TitleLookup
from newsletter.papers.resolve import arxiv_query_url, hf_search_url, titles_resolve
from newsletter.papers.sources import PaperRecord, arxiv, parse_listing
from newsletter.papers.upsert import papers_upsert

from .conftest import LISTINGS, Reply, data

pytestmark = pytest.mark.django_db
DAY = date(2024, 11, 10)
HIT = "Landscaping Linear Mode Connectivity"
LATEX = "LightHGNN: Distilling Hypergraph Neural Networks into MLPs for 100times Faster Inference"
AMBIGUOUS = "Poincaré ResNet"
MISS = "Piecewise-Velocity Model for Learning Continuous-time Dynamic Node Representations"
HF_ONLY = "Multi-marginal Schrödinger Bridges with Iterative Reference Refinement"
EMPTY = data("arxiv/api_empty_result.atom.xml")


def captured(*titles: str, authors: tuple[str, ...] = ()) -> list[Paper]:
    """The papers of these titles, stored from the text captures as an ingest stores them."""
    records = {}
    for path in sorted(LISTINGS.glob("*.txt")):
        listing = parse_listing(path.read_bytes(), name=path.name, today=DAY)
        records.update((r.title, r) for r in listing.records)
    chosen = [PaperRecord(**{**_fields(records[t]), "authors": authors}) for t in titles]
    papers_upsert(records=chosen, origin="capture", listing_date=DAY)
    return [Paper.objects.get(title=t) for t in titles]


def _fields(record: PaperRecord) -> dict:
    return {name: getattr(record, name) for name in record.__slots__}


def lookup(paper: Paper) -> TitleLookup:
    return TitleLookup.objects.get(paper_id=paper.pk)


def test_a_title_only_paper_gets_its_arxiv_id_links_and_authors(transport, settings):
    (paper,) = captured(HIT)
    transport.add(arxiv_query_url(HIT), Reply(body=data("arxiv/lookup_hit.atom.xml")))
    assert titles_resolve().found == 1
    paper.refresh_from_db()
    assert paper.arxiv_id == "2406.16300"  # not the other paper the phrase search brought
    assert (paper.abs_url, paper.pdf_url) == (
        "https://arxiv.org/abs/2406.16300",
        "https://arxiv.org/pdf/2406.16300",
    )
    assert paper.authors[0] == "Sidak Pal Singh" and paper.primary_category == "cs.LG"
    assert paper.title == HIT and paper.listings.count() == 1
    (request,) = transport.requests
    assert request.url.startswith("https://export.arxiv.org/api/query?search_query=ti%3A%22")
    assert request.headers["User-Agent"] == settings.INGEST_USER_AGENT
    assert (lookup(paper).outcome, lookup(paper).next_at) == ("found", None)


def test_a_latex_title_on_arxiv_matches_the_capture_that_dropped_the_markup(transport):
    (paper,) = captured(LATEX)
    transport.add(arxiv_query_url(LATEX), Reply(body=data("arxiv/lookup_latex_title.atom.xml")))
    titles_resolve()
    paper.refresh_from_db()
    assert paper.arxiv_id == "2402.04296"
    assert paper.title == LATEX  # the listing's title stays


def test_a_title_arxiv_holds_twice_stays_unresolved_and_says_ambiguous(transport):
    (paper,) = captured(AMBIGUOUS)
    transport.add(arxiv_query_url(AMBIGUOUS), Reply(body=data("arxiv/lookup_ambiguous.atom.xml")))
    assert titles_resolve().missed == 1
    paper.refresh_from_db()
    assert paper.arxiv_id is None
    assert (lookup(paper).outcome, lookup(paper).note) == ("ambiguous", "2303.14027, 2402.01234")
    assert len(transport.requests) == 1  # Hugging Face cannot settle it either


@pytest.mark.parametrize(
    ("first_author", "expected"),
    [("Max van Spengler", "2303.14027"), ("M. Spengler", "2303.14027"), ("Someone Else", None)],
)
def test_the_first_author_picks_between_papers_of_one_title(transport, first_author, expected):
    (paper,) = captured(AMBIGUOUS, authors=(first_author,))
    transport.add(arxiv_query_url(AMBIGUOUS), Reply(body=data("arxiv/lookup_ambiguous.atom.xml")))
    transport.add(hf_search_url(AMBIGUOUS), Reply(body=b"[]"))
    titles_resolve()
    paper.refresh_from_db()
    assert paper.arxiv_id == expected


def test_a_title_arxiv_does_not_know_is_found_on_hugging_face(transport):
    (paper,) = captured(HF_ONLY)
    transport.add(arxiv_query_url(HF_ONLY), Reply(body=EMPTY))
    transport.add(hf_search_url(HF_ONLY), Reply(body=data("hf/papers_search_schrodinger.json")))
    titles_resolve()
    paper.refresh_from_db()
    assert paper.arxiv_id == "2408.06277"
    assert paper.hf_url == "https://huggingface.co/papers/2408.06277"
    assert paper.code_url == "https://github.com/example/mmsb"
    assert paper.upvotes is None  # a search's upvotes are no listing's


def test_a_miss_is_asked_again_only_days_later_and_at_most_three_times(transport):
    (paper,) = captured(MISS)
    transport.add(arxiv_query_url(MISS), Reply(body=data("arxiv/lookup_near_miss.atom.xml")))
    transport.add(hf_search_url(MISS), Reply(body=data("hf/papers_search_empty.json")))
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        assert titles_resolve().missed == 1
        assert titles_resolve().missed == 0  # not asked again the same day
    first = lookup(paper)
    assert (first.outcome, first.attempts) == ("miss", 1)
    assert first.next_at == start + resolve.RETRY_AFTER_MISS
    for week in (1, 2, 3):
        with time_machine.travel(start + timedelta(days=7 * week, minutes=1), tick=False):
            titles_resolve()
    assert (lookup(paper).attempts, lookup(paper).next_at) == (3, None)
    assert len(transport.requests) == 2 * 3  # arXiv and Hugging Face, three times, then never
    paper.refresh_from_db()
    assert paper.arxiv_id is None


def test_a_503_stops_the_batch_and_the_paper_is_tried_again_an_hour_later(transport, settings):
    settings.INGEST_HTTP_RETRIES = 1
    first, second = captured(HIT, LATEX)
    transport.add(arxiv_query_url(HIT), Reply(status=503, headers={"Retry-After": "0"}))
    result = titles_resolve()
    assert (result.failed, result.more) == (1, False)
    assert [r.url for r in transport.requests] == [arxiv_query_url(HIT)] * 2  # retried once
    failed = lookup(first)
    assert (failed.outcome, failed.attempts) == ("error", 0)
    assert failed.next_at - failed.tried_at == timedelta(hours=1)
    assert "HTTP 503" in failed.note
    assert lookup(second).outcome == "pending"  # never asked while arXiv was unwell


def test_arxiv_is_asked_at_most_once_per_interval_even_between_retries(
    transport, settings, tmp_path
):
    settings.REDIS_URL, settings.VAR_DIR = "", tmp_path
    settings.ARXIV_API_INTERVAL = 0.4
    captured(HIT)
    transport.add(
        arxiv_query_url(HIT),
        Reply(status=503, headers={"Retry-After": "0"}),
        Reply(body=data("arxiv/lookup_hit.atom.xml")),
    )
    started = time.monotonic()
    assert titles_resolve().found == 1
    assert time.monotonic() - started >= 0.4 - 0.02
    assert (tmp_path / "arxiv-api-rate.slot").exists()


def test_a_paper_found_under_an_id_already_stored_joins_that_paper(transport):
    (title_only,) = captured(HIT)
    # Listed before the paper was retitled: no title key joins the two.
    earlier = PaperRecord(title="Landscapes of linear mode connectivity", arxiv_id="2406.16300")
    papers_upsert(records=[earlier], origin="arXiv cs.LG", listing_date=DAY + timedelta(days=1))
    assert Paper.objects.count() == 2
    transport.add(arxiv_query_url(HIT), Reply(body=data("arxiv/lookup_hit.atom.xml")))
    titles_resolve()
    (paper,) = Paper.objects.all()
    assert paper.arxiv_id == "2406.16300"
    assert not Paper.objects.filter(pk=title_only.pk).exists()
    assert sorted(ListingEntry.objects.values_list("paper_id", "origin")) == [
        (paper.pk, "arXiv cs.LG"),
        (paper.pk, "capture"),
    ]
    assert paper.first_seen == title_only.first_seen
    assert paper.abstract.startswith("The presence of linear paths")  # the capture's, longer
    assert lookup(paper).outcome == "found"


def test_an_ingest_of_title_only_papers_queues_the_lookup(
    monkeypatch, settings, django_capture_on_commit_callbacks
):
    settings.TITLE_LOOKUP = True
    queued = []
    monkeypatch.setattr(tasks.titles_resolve_task, "delay_on_commit", lambda: queued.append(1))
    listed = arxiv.parse(data("arxiv/lookup_hit.atom.xml"), name="feed").records
    with django_capture_on_commit_callbacks(execute=True):
        papers_upsert(records=listed, origin="arXiv cs.LG", listing_date=DAY)
    assert queued == []  # every paper has its id
    with django_capture_on_commit_callbacks(execute=True):
        captured(MISS)
    assert queued == [1]
    settings.TITLE_LOOKUP = False
    with django_capture_on_commit_callbacks(execute=True):
        captured(HIT)
    assert queued == [1]  # turned off: never looked up


def test_the_task_queues_the_next_batch_while_papers_are_due(monkeypatch, settings):
    settings.TITLE_LOOKUP = True
    queued = []
    monkeypatch.setattr(tasks.titles_resolve_task, "delay", lambda: queued.append(1))
    monkeypatch.setattr(
        resolve, "titles_resolve", lambda seconds: resolve.ResolveResult(found=2, more=True)
    )
    assert tasks.titles_resolve_task() == 2
    assert queued == [1]


def test_a_migration_adds_the_lookup_to_the_beat_schedule():
    entry = PeriodicTask.objects.get(task="newsletter.papers.titles_resolve")
    assert entry.enabled and (entry.interval.every, entry.interval.period) == (15, "minutes")
