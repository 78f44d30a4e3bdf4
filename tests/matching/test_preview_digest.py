"""``manage.py preview_digest``: what a subscriber would get, sending and recording nothing."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from newsletter.matching.models import Vote
from tests.matching.conftest import DAY1

pytestmark = pytest.mark.django_db


def preview(*args: str) -> str:
    out = StringIO()
    call_command("preview_digest", *args, stdout=out)
    return out.getvalue()


def test_json_lists_the_papers_in_rank_order_with_reasons(papers, reader):
    reader("reader@example.com", keywords=["legged locomotion", "motion planning"])
    data = json.loads(preview(" Reader@Example.COM ", "--date", DAY1.isoformat(), "--json"))
    assert data["email"] == "reader@example.com"
    assert data["date"] == "2026-02-02"
    first = data["papers"][0]
    assert first["title"] == papers["robotics"][1].title
    assert first["arxiv_id"] == papers["robotics"][1].arxiv_id
    scores = [p["score"] for p in data["papers"]]
    assert scores == sorted(scores, reverse=True)
    labels = {r["label"] for r in first["reasons"]}
    assert {"legged locomotion", "motion planning"} <= labels
    span = next(r for r in first["reasons"] if r["label"] == "motion planning")["spans"][0]
    assert first["title"][span["start"] : span["end"]] == "Motion Planning"


def test_text_output_names_the_reasons(papers, reader):
    reader(keywords=["elliptic curve"])
    out = preview("reader@example.com", "--date", DAY1.isoformat())
    assert papers["crypto"][1].title in out
    assert "mentions “elliptic curve”" in out


def test_limit_and_no_threshold(papers, reader):
    reader(keywords=["elliptic curve"], max_papers=3)
    only = json.loads(preview("reader@example.com", "--date", "2026-02-02", "--json"))
    assert len(only["papers"]) == 1
    every = json.loads(
        preview("reader@example.com", "--date", "2026-02-02", "--json", "--no-threshold")
    )
    assert len(every["papers"]) == 3  # max_papers
    more = preview(
        "reader@example.com", "--date", "2026-02-02", "--json", "--no-threshold", "--limit", "7"
    )
    assert len(json.loads(more)["papers"]) == 7


def test_an_unknown_address_is_a_clear_error(papers):
    with pytest.raises(CommandError, match=r"No subscriber with the address 'nobody@example.com'"):
        preview("nobody@example.com", "--date", "2026-02-02")
    with pytest.raises(CommandError, match="not an email address"):
        preview("not-an-address", "--date", "2026-02-02")


def test_a_day_without_listings_is_a_clear_error(papers, reader):
    reader(keywords=["robot"])
    with pytest.raises(
        CommandError, match=r"No listings for 2026-03-01.*latest day with listings is 2026-02-02"
    ):
        preview("reader@example.com", "--date", "2026-03-01")
    with pytest.raises(CommandError, match="YYYY-MM-DD"):
        preview("reader@example.com", "--date", "yesterday")


def test_it_records_nothing(papers, reader):
    reader(keywords=["robot"])
    preview("reader@example.com", "--date", "2026-02-02")
    assert not Vote.objects.exists()
