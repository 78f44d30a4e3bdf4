"""Papers known by title alone (the text captures: no arXiv id, no URL) still link somewhere
real, in the email, the web copy, the admin preview and the home page, and leave no empty lines
in the text part."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.cache import cache

from newsletter.digests.links import digest_url
from newsletter.digests.rendering import digest_message
from newsletter.digests.services import digests_build
from newsletter.papers.models import Paper, paper_links
from newsletter.papers.sources import parse_listing
from newsletter.papers.upsert import papers_upsert
from tests.digests.conftest import DAY1
from tests.papers.conftest import LISTINGS

pytestmark = pytest.mark.django_db
HREF_RE = re.compile(r'href="([^"]*)"')
TITLE_LINK_RE = re.compile(r'font-weight:700;margin:0 0 4px;"><a href="([^"]*)"')


@pytest.fixture
def captures(db) -> None:
    """The three sample captures, filed under DAY1 as ``manage.py ingest --date`` files them."""
    for path in sorted(LISTINGS.glob("*.txt")):
        listing = parse_listing(path.read_bytes(), name=path.name, today=DAY1)
        papers_upsert(records=listing.records, origin=path.name, listing_date=DAY1)
    assert not Paper.objects.exclude(arxiv_id=None).exists()


@pytest.fixture
def digest(captures, reader):
    subscriber = reader(keywords=["diffusion", "graph neural networks"])
    [digest] = digests_build(day=DAY1, subscriber_ids=[subscriber.pk])
    assert digest.papers_count >= 3
    return digest


def _real_url(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def _assert_every_link_is_real(html: str) -> None:
    assert 'href=""' not in html
    assert all(_real_url(url.replace("&amp;", "&")) for url in HREF_RE.findall(html))


def test_every_title_links_to_the_arxiv_search_for_it(digest):
    html = digest_message(digest).alternatives[0][0]
    _assert_every_link_is_real(html)
    titles = TITLE_LINK_RE.findall(html)
    assert len(titles) == digest.items.count()
    for url in titles:
        parts = urlsplit(url.replace("&amp;", "&"))
        assert (parts.netloc, parts.path) == ("arxiv.org", "/search/")
        query = parse_qs(parts.query)
        assert query["searchtype"] == ["title"]
        assert Paper.objects.filter(title=query["query"][0]).exists()
    # Nothing known to link as a PDF or code: no label for it.
    assert ">PDF</a>" not in html and ">Code</a>" not in html


def test_the_text_part_has_no_empty_filler_lines(digest):
    text = digest_message(digest).body
    assert [line for line in text.splitlines() if line and not line.strip()] == []
    for paper in Paper.objects.filter(pk__in=digest.items.values("paper_id")):
        assert paper_links(paper).page in text
    # A capture without authors or a date: its title, then straight its link.
    bare = digest.items.filter(paper__author_count=None, paper__published=None).first()
    if bare is not None:
        assert f"{bare.paper.title}\n   {bare.paper.url}\n" in text


def test_the_web_copy_and_the_admin_preview_link_every_title(digest, client, admin_client):
    page = client.get(digest_url(digest).split("http://testserver", 1)[1]).content.decode()
    _assert_every_link_is_real(page)
    preview = admin_client.get(f"/admin/digests/digest/{digest.pk}/preview/").content.decode()
    _assert_every_link_is_real(preview)
    assert TITLE_LINK_RE.findall(page) == TITLE_LINK_RE.findall(preview) != []


def test_the_home_page_sample_links_every_title(captures, client):
    cache.clear()
    page = client.get("/").content.decode()
    assert 'href=""' not in page
    samples = re.findall(r'<li><a href="(https://arxiv\.org/search/\?[^"]+)">', page)
    assert len(samples) == 5
