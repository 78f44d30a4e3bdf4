"""The daily ranking reads the database in bulk: its queries do not grow with the subscribers."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from newsletter.matching import services
from newsletter.matching.models import Vote
from tests.matching.conftest import DAY1

pytestmark = pytest.mark.django_db


def queries_of_ranking(subscriber_ids: list[int]) -> int:
    services.rankings_for_day(day=DAY1, subscriber_ids=subscriber_ids)  # profiles stored
    with CaptureQueriesContext(connection) as captured:
        result = services.rankings_for_day(day=DAY1, subscriber_ids=subscriber_ids)
    assert set(result) == set(subscriber_ids)
    assert any(result.values())
    return len(captured)


def readers_of_every_kind(papers, reader, name: str) -> list[int]:
    """Keywords, exclusions, a liked paper, a followed author and a vote."""
    ids = [
        reader(f"{name}-k@example.com", keywords=["robot manipulation"]).pk,
        reader(f"{name}-x@example.com", keywords=["object detection"], exclude=["diffusion"]).pk,
        reader(
            f"{name}-l@example.com",
            keywords=["motion planning"],
            liked=[papers["robotics"][0].arxiv_id],
        ).pk,
        reader(f"{name}-a@example.com", keywords=["elliptic curve"], authors=["A. Author"]).pk,
    ]
    Vote.objects.create(
        subscriber_id=ids[-1], paper=papers["crypto"][0], direction=Vote.Direction.MORE
    )
    return ids


def test_ranking_more_subscribers_takes_no_more_queries(papers, reader):
    few = readers_of_every_kind(papers, reader, "few")
    many = few + [pk for n in range(5) for pk in readers_of_every_kind(papers, reader, f"many{n}")]
    assert queries_of_ranking(many) == queries_of_ranking(few)
