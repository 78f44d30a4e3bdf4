"""The home page shows a sample of the most recently listed papers above the signup form."""

import io

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.utils.html import escape

from tests.helpers import ROOT


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.mark.django_db
def test_home_shows_papers_from_the_latest_listing(client):
    call_command(
        "ingest",
        str(ROOT / "tests/data/hf/daily_papers_page_2024-08-01.html"),
        stdout=io.StringIO(),
    )
    response = client.get("/")
    assert response.status_code == 200
    papers = response.context["sample_papers"]
    assert len(papers) == 5
    for paper in papers:
        assert escape(paper.title) in response.content.decode()
    assert "have not arrived yet" not in response.content.decode()


@pytest.mark.django_db
def test_home_without_papers_says_so_and_still_offers_signup(client):
    response = client.get("/")
    assert response.status_code == 200
    assert "have not arrived yet" in response.content.decode()
    assert 'name="email"' in response.content.decode()
