"""The admin pages for papers, sources and ingest runs work on real data."""

from __future__ import annotations

from datetime import date

import pytest
from django.urls import reverse

from newsletter.papers.daily import source_ingest
from newsletter.papers.ingest import listing_ingest
from newsletter.papers.models import IngestRun, Paper, Source

from .conftest import Reply, data
from .feeds import atom_feed

pytestmark = pytest.mark.django_db


@pytest.fixture
def papers(transport):
    transport.add(
        "https://rss.arxiv.org/atom/cs.LG",
        Reply(body=atom_feed(data("arxiv/api_query_10_entries.atom.xml"))),
    )
    source_ingest(source_id=Source.objects.get(name="arXiv cs.LG").pk, day=date(2025, 10, 20))
    listing_ingest(data=data("hf/paper_page_2509.24002.html"), name="paper.html")


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"q": "Explainable Test Case"}, 1),
        ({"q": "2202.12139"}, 1),
        ({"q": "Helge Spieker"}, 1),
        ({"category": "cs.LG"}, None),
        ({"listings__source__id__exact": "SOURCE"}, 10),
        ({"listings__listing_date__gte": "2000-01-01"}, 11),
    ],
)
def test_papers_can_be_searched_and_filtered(admin_client, papers, query, expected):
    if "listings__source__id__exact" in query:
        query = {"listings__source__id__exact": Source.objects.get(name="arXiv cs.LG").pk}
    response = admin_client.get(reverse("admin:papers_paper_changelist"), query)
    assert response.status_code == 200
    if expected is not None:
        assert response.context["cl"].result_count == expected
    else:
        assert all("cs.LG" in p.categories for p in response.context["cl"].result_list)
        assert response.context["cl"].result_count > 0


def test_a_paper_page_shows_its_listing_history(admin_client, papers):
    paper = Paper.objects.get(arxiv_id="2509.24002")
    response = admin_client.get(reverse("admin:papers_paper_change", args=[paper.pk]))
    assert response.status_code == 200
    assert b"paper.html" in response.content


def test_sources_are_editable_and_runs_are_listed(admin_client, papers):
    source = Source.objects.get(name="arXiv cs.LG")
    url = reverse("admin:papers_source_change", args=[source.pk])
    assert admin_client.get(url).status_code == 200
    response = admin_client.post(
        url,
        {
            "name": "arXiv cs.LG",
            "format": "arxiv",
            "url_template": source.url_template,
            "categories": "cs.LG cs.NE",
            "enabled": "",
        },
    )
    assert response.status_code == 302
    source.refresh_from_db()
    assert (source.category_list, source.enabled) == (["cs.LG", "cs.NE"], False)
    runs = admin_client.get(reverse("admin:papers_ingestrun_changelist"))
    assert runs.status_code == 200
    run = IngestRun.objects.first()
    assert (
        admin_client.get(reverse("admin:papers_ingestrun_change", args=[run.pk])).status_code == 200
    )
