"""Every digest stays within what mailboxes show whole: under 100 KB of HTML (Gmail clips past
102 KB, hiding the footer with the unsubscribe link and the postal address), whatever it holds."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from newsletter.digests.models import Digest, DigestItem
from newsletter.digests.rendering import digest_html, digest_message
from newsletter.digests.services import TRENDING_COUNT, digests_build
from newsletter.papers.models import Paper
from subscriptions.models import Interest, Subscriber
from tests.digests.conftest import DAY1
from tests.matching.conftest import list_on

pytestmark = pytest.mark.django_db

POSTAL = "Daily Papers Digest, 1 Example Street, 10115 Berlin"


def _max_papers() -> int:
    """The largest ``max_papers`` the database allows (its check constraint)."""
    [check] = [c for c in Subscriber._meta.constraints if c.name == "subscriber_max_papers_range"]
    return dict(check.condition.children)["max_papers__lte"]


def _paper(number: int, *, title: str, abstract: str) -> Paper:
    long_url = f"https://example.org/{number}/" + "p" * 1900
    return Paper.objects.create(
        arxiv_id=f"2602.{number:05d}",
        title=title,
        normalized_title=f"{number} {title.lower()}"[:500],
        abstract=abstract,
        ai_summary="",
        authors=[f"Author Number{n} With A Rather Long Double-Barrelled Name" for n in range(300)],
        categories=["cs.RO"],
        primary_category="cs.RO",
        upvotes=999_999,
        published=DAY1,
        hf_url=long_url + "h",
        pdf_url=long_url + "f",
        code_url=long_url + "c",
        project_url=long_url + "r",
        first_seen=datetime(2026, 2, 1, tzinfo=UTC),
        updated_at=datetime(2026, 2, 1, tzinfo=UTC),
    )


def _reasons(title: str, abstract: str, count: int = 8) -> list[dict]:
    """Matching's reasons as stored: keywords and topics with their spans, a liked paper."""
    reasons = []
    for n in range(count):
        spans = [
            {"field": "title", "start": m.start(), "end": m.end()}
            for m in re.finditer(r"\w+", title)
        ]
        spans += [
            {"field": "abstract", "start": m.start(), "end": m.end()}
            for m in re.finditer(r"\w+", abstract[:400])
        ]
        reasons.append(
            {"kind": "keyword", "label": f"keyword number {n} " * 4, "text": "", "spans": spans}
        )
    reasons.append({"kind": "similar", "label": "A liked paper " * 20, "text": "", "spans": []})
    return reasons


def _largest_digest(subscriber: Subscriber, *, title: str, abstract: str) -> Digest:
    picks = _max_papers()
    digest = Digest.objects.create(subscriber=subscriber, day=DAY1, papers_count=picks)
    for number in range(picks + TRENDING_COUNT):
        paper = _paper(number + 1, title=f"{number} {title}"[:1000], abstract=abstract)
        section = DigestItem.Section.PICK if number < picks else DigestItem.Section.TRENDING
        DigestItem.objects.create(
            digest=digest,
            paper=paper,
            section=section,
            rank=number + 1 if number < picks else number - picks + 1,
            score=1.0,
            reasons=_reasons(paper.title, abstract),
        )
    return digest


@pytest.fixture
def reader(db, settings) -> Subscriber:
    settings.SENDER_POSTAL_ADDRESS = POSTAL
    return Subscriber.objects.create(
        email="reader@example.com", status=Subscriber.Status.ACTIVE, max_papers=_max_papers()
    )


def _assert_within_limits(digest: Digest) -> str:
    message = digest_message(digest)
    [(html, _)] = message.alternatives
    assert len(html.encode()) < 100_000
    unsubscribe = re.search(r"^Unsubscribe: (\S+)$", message.body, re.M).group(1)
    assert f'href="{unsubscribe}"' in html and POSTAL in html and POSTAL in message.body
    return html


def test_the_largest_digest_the_settings_allow_stays_under_100_kb_with_its_footer(reader):
    words = "Scalable dexterous robot manipulation with diffusion policies and tactile sensing"
    title = " ".join([words] * 15)
    abstract = " ".join([f"{words}, sentence {n}." for n in range(250)])
    digest = _largest_digest(reader, title=title, abstract=abstract)
    html = _assert_within_limits(digest)
    shown = len(re.findall(r'href="https://example\.org/\d+/p+h"', html))
    hidden = _max_papers() + TRENDING_COUNT - shown
    assert hidden > 0 and f"{hidden} more paper" in html
    web_url = re.search(r"^View in browser: (\S+)$", digest_message(digest).body, re.M).group(1)
    assert re.search(
        rf'{hidden} more papers?</a>|href="{re.escape(web_url)}"[^>]*>{hidden} more', html
    )
    whole = digest_html(digest)  # the web copy shows every paper
    assert (
        len(re.findall(r'href="https://example\.org/\d+/p+h"', whole))
        == _max_papers() + TRENDING_COUNT
    )


def test_a_listing_repeating_one_word_makes_a_small_email(reader, settings):
    settings.MATCHING_SEMANTIC = False
    papers = [
        _paper(n, title=f"{n} " + "robot " * 160, abstract="robot " * 3300) for n in range(1, 11)
    ]
    list_on(DAY1, papers)
    Interest.objects.create(subscriber=reader, kind="keyword", value="robot", position=0)
    [digest] = digests_build(day=DAY1, subscriber_ids=[reader.pk])
    items = list(digest.items.all())
    assert len(items) == 10
    for item in items:  # what is stored per paper and reader stays small
        assert len(str(item.reasons)) < 3_000
    html = _assert_within_limits(digest)
    assert html.count("<mark") <= 10 * 2 * 10


def test_an_ordinary_ten_paper_digest_is_shown_whole(reader):
    reader.max_papers = 10
    reader.save()
    digest = Digest.objects.create(subscriber=reader, day=DAY1, papers_count=10)
    for number in range(10):
        paper = _paper(
            number + 1, title=f"Paper {number} on robots", abstract="About robots. " * 40
        )
        Paper.objects.filter(pk=paper.pk).update(
            authors=["A. Author"], pdf_url="", code_url="", project_url=""
        )
        DigestItem.objects.create(
            digest=digest, paper=Paper.objects.get(pk=paper.pk), rank=number + 1
        )
    html = _assert_within_limits(digest)
    assert "more paper" not in html
    assert html.count("About robots.") >= 10


def test_fifty_ordinary_papers_are_all_shown_compact_rather_than_cut(reader):
    digest = Digest.objects.create(subscriber=reader, day=DAY1, papers_count=_max_papers())
    abstract = "We study robot manipulation with diffusion policies on real hardware. " * 30
    for number in range(_max_papers()):
        paper = Paper.objects.create(
            arxiv_id=f"2602.{number + 1:05d}",
            title=f"Paper {number}: dexterous robot manipulation from human video at scale",
            normalized_title=f"paper {number}",
            abstract=abstract,
            authors=["Ada Lovelace", "Alan Turing", "Grace Hopper", "Edsger Dijkstra"],
            upvotes=40,
            code_url=f"https://github.com/example/paper-{number}",
            first_seen=datetime(2026, 2, 1, tzinfo=UTC),
            updated_at=datetime(2026, 2, 1, tzinfo=UTC),
        )
        DigestItem.objects.create(
            digest=digest, paper=paper, rank=number + 1, reasons=_reasons(paper.title, abstract, 4)
        )
    full = digest_html(digest)
    assert len(full.encode()) > 100_000  # shown in full it would be clipped
    html = _assert_within_limits(digest)
    assert "more paper" not in html
    assert all(f"Paper {n}: dexterous" in html for n in range(_max_papers()))


def test_a_field_shows_at_most_a_few_highlights_however_many_spans_were_stored():
    from newsletter.digests.rendering import highlight
    from newsletter.matching.engine import MAX_SPANS_PER_FIELD as MAX_MARKS

    text = "robot " * 500
    spans = [(n * 6, n * 6 + 5) for n in range(500)]  # as digests stored before spans were capped
    assert str(highlight(text, spans)).count("<mark") == MAX_MARKS
