"""What each reader gets on a day: picks, trending, quiet days, weeks, never a paper twice."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from newsletter.delivery.models import Delivery
from newsletter.digests import services
from newsletter.digests.models import Digest, DigestItem
from newsletter.digests.services import digests_build, digests_enqueue
from newsletter.matching.services import rankings_for_day
from newsletter.papers.ingest import listing_ingest
from subscriptions.models import Interest
from tests.digests.conftest import DAY1, DAY2

pytestmark = pytest.mark.django_db


def _papers(digest: Digest, section: str = "pick") -> list[str]:
    return list(
        digest.items.filter(section=section).order_by("rank").values_list("paper__title", flat=True)
    )


def test_a_reader_gets_the_papers_that_match_their_keywords_with_reasons(papers, reader):
    subscriber = reader(keywords=["robot manipulation"])
    [digest] = digests_build(day=DAY1, subscriber_ids=[subscriber.pk])
    assert _papers(digest)[0] == "Learning Dexterous Robot Manipulation from Human Videos"
    assert digest.papers_count == len(_papers(digest))
    item = digest.items.get(section="pick", rank=1)
    assert item.reasons[0]["label"] == "robot manipulation"
    assert {"field": "title", "start": 19, "end": 37} in item.reasons[0]["spans"]


def test_it_never_sends_a_paper_twice_across_days(papers, reader):
    subscriber = reader(keywords=["robot manipulation", "motion planning", "quadruped"])
    [first] = digests_build(day=DAY1, subscriber_ids=[subscriber.pk])
    [second] = digests_build(day=DAY2, subscriber_ids=[subscriber.pk])
    day1 = set(first.items.values_list("paper_id", flat=True))
    day2 = set(second.items.values_list("paper_id", flat=True))
    assert len({p.pk for p in papers["robotics"]} & day1) >= 2  # listed again on DAY2 ...
    assert not day1 & day2  # ... and not sent again, neither picked nor trending
    assert set(_papers(second)) == {p.title for p in papers["day2"]}


def test_building_again_keeps_the_stored_digest_unchanged(papers, reader):
    subscriber = reader()
    [digest] = digests_build(day=DAY1, subscriber_ids=[subscriber.pk])
    before = list(DigestItem.objects.values_list("pk", "paper_id", "section", "rank"))
    Interest.objects.filter(subscriber=subscriber).update(value="elliptic curve")
    [again] = digests_build(day=DAY1, subscriber_ids=[subscriber.pk, subscriber.pk])
    assert again.pk == digest.pk and again.created_at == digest.created_at
    assert list(DigestItem.objects.values_list("pk", "paper_id", "section", "rank")) == before


def test_trending_shows_the_days_most_upvoted_papers_that_were_not_picked(papers, reader):
    subscriber = reader(keywords=["medical image segmentation"])
    [digest] = digests_build(day=DAY1, subscriber_ids=[subscriber.pk])
    assert _papers(digest) == ["Medical Image Segmentation with Diffusion Priors"]  # 49 upvotes
    assert _papers(digest, "trending") == [
        "Open-Vocabulary Object Detection with Region Prompts",  # 42
        "Side-Channel Attacks on Constant-Time Elliptic Curve Code",  # 35
        "Lattice-Based Signatures with Smaller Keys",  # 28
    ]


def test_trending_leaves_out_what_the_reader_excluded(papers, reader):
    subscriber = reader(keywords=["medical image segmentation"])
    Interest.objects.create(subscriber=subscriber, kind="exclude", value="Object Detector")
    [digest] = digests_build(day=DAY1, subscriber_ids=[subscriber.pk])
    assert "Open-Vocabulary Object Detection with Region Prompts" not in _papers(digest, "trending")


def test_a_reader_who_turned_trending_off_gets_only_their_picks(papers, reader):
    subscriber = reader(trending=False)
    [digest] = digests_build(day=DAY1, subscriber_ids=[subscriber.pk])
    assert _papers(digest) and not _papers(digest, "trending")


def test_a_quiet_day_is_recorded_and_mailed_only_to_readers_who_asked_for_a_note(papers, reader):
    silent = reader("silent@example.com", keywords=["gravitational waves"])
    noted = reader("noted@example.com", keywords=["gravitational waves"], quiet_day_note=True)
    digests = digests_build(day=DAY1, subscriber_ids=[silent.pk, noted.pk])
    assert [d.papers_count for d in digests] == [0, 0]
    assert not _papers(digests[0])
    ids = digests_enqueue(digests=digests)
    assert list(Delivery.objects.filter(pk__in=ids).values_list("to_email", flat=True)) == [
        "noted@example.com"
    ]


def test_a_weekly_digest_picks_from_every_day_of_the_week(papers, reader):
    subscriber = reader(keywords=["robot manipulation"], frequency="weekly")
    [digest] = digests_build(
        day=DAY2, subscriber_ids=[subscriber.pk], since=DAY1 - timedelta(days=5)
    )
    assert digest.since == DAY1 - timedelta(days=5)
    titles = _papers(digest)
    assert "Learning Dexterous Robot Manipulation from Human Videos" in titles  # DAY1
    assert "Robot manipulation benchmark number 0" in titles  # DAY2


def test_enqueueing_twice_records_one_delivery_per_digest(papers, reader):
    digests = digests_build(day=DAY1, subscriber_ids=[reader().pk])
    first = digests_enqueue(digests=digests)
    assert digests_enqueue(digests=digests) == first
    delivery = Delivery.objects.get()
    assert (delivery.kind, delivery.key) == ("digest", f"{digests[0].subscriber_id}:2026-02-02")


def _build_queries(reader, monkeypatch, start: int, count: int) -> tuple[int, int]:
    """(queries of the whole build, queries of matching's ranking inside it)."""
    ids = [
        reader(f"q{start + n}@example.com", keywords=["robot manipulation", f"topic {n}"]).pk
        for n in range(count)
    ]
    ranking = []

    def rankings_counted(**kwargs):
        before = len(connection.queries)
        result = rankings_for_day(**kwargs)
        ranking.append(len(connection.queries) - before)
        return result

    monkeypatch.setattr(services, "rankings_for_day", rankings_counted)
    with CaptureQueriesContext(connection) as queries:
        digests_build(day=DAY1, subscriber_ids=ids)
    return len(queries), sum(ranking)


def test_building_a_chunk_of_digests_takes_the_same_queries_for_3_or_30_readers(
    papers, reader, monkeypatch
):
    _build_queries(reader, monkeypatch, 1000, 1)  # paper vectors and frequencies, once
    few = _build_queries(reader, monkeypatch, 0, 3)
    many = _build_queries(reader, monkeypatch, 100, 30)
    assert few == many
    # Pinned, besides matching's own: existing digests, the period's papers, readers, those of
    # them sent before, exclusions, trending candidates (2), a savepoint and its release, the
    # digests written and read back, their items, and the digests returned.
    total, ranking = many
    assert total - ranking == 13


def _send_queries(reader, start: int, count: int) -> tuple[int, int]:
    """(queries to queue the emails of ``count`` digests, queries to send them)."""
    from newsletter.delivery.services import deliveries_send

    ids = [
        reader(f"s{start + n}@example.com", keywords=["robot manipulation"]).pk
        for n in range(count)
    ]
    digests = digests_build(day=DAY1, subscriber_ids=ids)
    with CaptureQueriesContext(connection) as queued:
        delivery_ids = digests_enqueue(digests=digests)
    with CaptureQueriesContext(connection) as sent:
        counts = deliveries_send(delivery_ids=delivery_ids)
    assert counts == {Delivery.State.SENT: count}
    return len(queued), len(sent)


def test_queueing_and_sending_a_batch_costs_one_query_per_email_and_a_fixed_few(papers, reader):
    from django.core import mail

    few = _send_queries(reader, 0, 3)
    many = _send_queries(reader, 100, 30)
    assert len(mail.outbox) == 33
    assert few[0] == many[0]  # queueing: constant
    # Sending: one statement per email marks it handed over and the one before it sent; the
    # rest is per batch: the claim, the rows, their digests, items and papers, the suppression
    # list, the last email's outcome and the readers' "last emailed" time.
    assert many[1] - few[1] == 27
    assert few[1] - 3 == 8


def test_a_paper_with_one_of_the_readers_keywords_in_its_title_is_a_pick_not_trending(reader):
    """The sample Hugging Face capture: "MoMa: ... with Mixture of Modality-Aware Experts" for a
    reader of "mixture of experts" among other interests, who saw it only under "Trending"."""
    day = date(2024, 8, 1)
    capture = (
        Path(__file__).resolve().parent.parent / "data" / "hf" / f"daily_papers_page_{day}.html"
    )
    listing_ingest(data=capture.read_bytes(), name=capture.name, listing_date=day, today=day)
    subscriber = reader(
        keywords=["mixture of experts", "reinforcement learning", "diffusion models"]
    )
    [digest] = digests_build(day=day, subscriber_ids=[subscriber.pk])
    assert _papers(digest)[0].startswith("MoMa: Efficient Early-Fusion Pre-training")
    assert not any(title.startswith("MoMa") for title in _papers(digest, "trending"))
