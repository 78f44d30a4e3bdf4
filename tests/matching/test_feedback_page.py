"""The signed "more like this / less like this" page: GET shows, POST records, votes change."""

from __future__ import annotations

from datetime import date

import pytest

from newsletter.digests.models import Digest, DigestItem
from newsletter.matching.models import Vote
from newsletter.matching.services import feedback_url

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _site(settings):
    settings.SITE_URL = "http://testserver"


def path(subscriber, paper, direction, *, shown: bool = True) -> str:
    """The link of ``paper`` in ``subscriber``'s digest (``shown``), or forged for a paper that was
    in none of their digests."""
    if shown:
        digest, _ = Digest.objects.get_or_create(subscriber=subscriber, day=date(2026, 2, 2))
        section = DigestItem.Section.TRENDING if paper.upvotes else DigestItem.Section.PICK
        rank = digest.items.count() + 1
        DigestItem.objects.get_or_create(
            digest=digest, paper=paper, defaults={"section": section, "rank": rank}
        )
    return feedback_url(subscriber=subscriber, paper_id=paper.pk, direction=direction).removeprefix(
        "http://testserver"
    )


def test_opening_the_link_shows_the_page_and_records_nothing(client, papers, reader):
    subscriber = reader(keywords=["robot"])
    paper = papers["robotics"][0]
    response = client.get(path(subscriber, paper, "more"))
    assert response.status_code == 200
    assert paper.title in response.content.decode()
    assert not Vote.objects.exists()


def test_posting_records_the_vote_and_a_second_post_changes_it(client, papers, reader):
    subscriber = reader(keywords=["robot"])
    paper = papers["robotics"][0]
    response = client.post(path(subscriber, paper, "more"))
    assert response.status_code == 200
    assert "Thanks" in response.content.decode()
    client.post(path(subscriber, paper, "less"))
    vote = Vote.objects.get()
    assert (vote.subscriber, vote.paper, vote.direction) == (subscriber, paper, "less")


def test_a_forged_or_revoked_link_records_nothing(client, papers, reader):
    subscriber = reader(keywords=["robot"])
    paper = papers["robotics"][0]
    good = path(subscriber, paper, "more")
    forged = good.replace("/feedback/", "/feedback/x")
    assert client.post(forged).status_code == 400
    subscriber.link_version += 1
    subscriber.save()
    assert client.post(good).status_code == 404
    assert not Vote.objects.exists()


def test_an_unknown_paper_or_direction_is_not_found(client, papers, reader):
    subscriber = reader(keywords=["robot"])
    paper = papers["robotics"][0]
    assert (
        client.get(path(subscriber, paper, "more").replace("/more/", "/sideways/")).status_code
        == 404
    )
    url = path(subscriber, paper, "more").replace(f"/{paper.pk}/", "/999999/")
    assert client.post(url).status_code == 404
    assert not Vote.objects.exists()


def test_a_vote_for_a_paper_that_was_in_none_of_the_readers_digests_is_refused(
    client, papers, reader
):
    """A forged link: the signed token is theirs, the paper id another (in someone else's digest
    or in none): a page that says so, never a 500, and no vote."""
    subscriber, other = reader(keywords=["robot"]), reader("other@example.com")
    mine, theirs, nobodys = papers["robotics"][0], papers["robotics"][1], papers["vision"][0]
    path(subscriber, mine, "more")
    path(other, theirs, "more")
    for paper in (theirs, nobodys):
        forged = path(subscriber, paper, "more", shown=False)
        for response in (client.get(forged), client.head(forged), client.post(forged)):
            assert response.status_code == 404
        assert "not for a paper of one of your digests" in client.post(forged).content.decode()
    assert not Vote.objects.exists()
    assert client.post(path(subscriber, mine, "less", shown=False)).status_code == 200
    assert Vote.objects.get().paper == mine
