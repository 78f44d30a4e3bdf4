"""The service the digest calls: stored vectors and profiles, votes, the day's listings."""

from __future__ import annotations

import pytest

from newsletter.matching import services
from newsletter.matching.encoder import Encoder
from newsletter.matching.models import PaperVector, SubscriberProfile, Vote
from newsletter.papers.signals import papers_stored
from tests.matching.conftest import DAY1, DAY2, list_on, paper_make

pytestmark = pytest.mark.django_db


@pytest.fixture
def encoded(monkeypatch):
    """Every text the encoder is asked for, in order."""
    seen: list[str] = []
    original = Encoder.encode

    def spy(self, texts, **kwargs):
        seen.extend(texts)
        return original(self, texts, **kwargs)

    monkeypatch.setattr(Encoder, "encode", spy)
    return seen


def ids(picks) -> list[int]:
    return [p.paper_id for p in picks]


def test_a_reader_gets_their_field_with_reasons(papers, reader):
    subscriber = reader(keywords=["robot manipulation", "legged locomotion"])
    picks = services.rankings_for_day(day=DAY1, subscriber_ids=[subscriber.pk])[subscriber.pk]
    assert set(ids(picks)[:3]) == {p.pk for p in papers["robotics"]}
    assert all(p.pk not in ids(picks) for p in papers["crypto"])
    first = picks[0]
    assert first.arxiv_id.startswith("2602.")
    assert first.reasons and all(r.text for r in first.reasons)


def test_every_subscriber_asked_for_gets_a_key(papers, reader):
    robots = reader("r@example.com", keywords=["robot manipulation"])
    nobody = reader("n@example.com", keywords=["protein folding", "drug discovery"])
    result = services.rankings_for_day(day=DAY1, subscriber_ids=[robots.pk, nobody.pk])
    assert result[nobody.pk] == []
    assert result[robots.pk]


def test_ranking_in_chunks_gives_everyone_what_they_get_alone(papers, reader, monkeypatch):
    keywords = [["robot manipulation"], ["human videos"], ["cryptography"], ["legged locomotion"]]
    readers = [reader(f"r{n}@example.com", keywords=k) for n, k in enumerate(keywords)]
    alone = {
        r.pk: services.rankings_for_day(day=DAY1, subscriber_ids=[r.pk])[r.pk] for r in readers
    }
    SubscriberProfile.objects.filter(subscriber=readers[2]).delete()  # rebuilt on the way
    monkeypatch.setattr(services, "CHUNK", 1)  # the next chunk is read while one is ranked
    together = services.rankings_for_day(day=DAY1, subscriber_ids=[r.pk for r in readers])
    assert together == alone and all(together.values())


def test_nothing_is_picked_twice_across_days(papers, reader):
    subscriber = reader(keywords=["robot manipulation", "legged locomotion"])
    list_on(DAY2, papers["robotics"] + papers["vision"])
    first = services.rankings_for_day(day=DAY1, subscriber_ids=[subscriber.pk])[subscriber.pk]
    sent = {p.arxiv_id for p in first}
    second = services.rankings_for_day(
        day=DAY2, subscriber_ids=[subscriber.pk], already_sent={subscriber.pk: sent}
    )[subscriber.pk]
    assert sent.isdisjoint({p.arxiv_id for p in second})


def test_a_papers_vector_is_computed_once_however_often_it_is_listed(papers, reader, encoded):
    subscriber = reader(keywords=["object detection"])
    list_on(DAY2, papers["vision"])
    services.rankings_for_day(day=DAY1, subscriber_ids=[subscriber.pk])
    services.rankings_for_day(day=DAY2, subscriber_ids=[subscriber.pk])
    services.paper_vectors_compute(paper_ids=[p.pk for p in papers["vision"]])
    title = papers["vision"][0].title
    assert sum(text.startswith(title) for text in encoded) == 1
    assert PaperVector.objects.count() == 7


def test_a_papers_vector_is_recomputed_when_its_abstract_changes(papers, reader, encoded):
    paper = papers["vision"][0]
    services.paper_vectors_compute(paper_ids=[paper.pk])
    paper.abstract = "A new abstract about tracking objects in video."
    paper.save()
    assert services.paper_vectors_compute(paper_ids=[paper.pk]) == 1
    assert PaperVector.objects.get(paper=paper).terms.count("track") == 1


def test_profiles_are_rebuilt_only_when_preferences_or_votes_change(papers, reader):
    subscriber = reader(keywords=["object detection"])
    services.rankings_for_day(day=DAY1, subscriber_ids=[subscriber.pk])
    built = SubscriberProfile.objects.get(subscriber=subscriber).built_at
    services.rankings_for_day(day=DAY1, subscriber_ids=[subscriber.pk])
    assert SubscriberProfile.objects.get(subscriber=subscriber).built_at == built
    services.vote_record(subscriber=subscriber, paper=papers["vision"][1], direction="less")
    services.rankings_for_day(day=DAY1, subscriber_ids=[subscriber.pk])
    assert SubscriberProfile.objects.get(subscriber=subscriber).built_at > built


def _next_day(papers):
    """DAY2: a medical segmentation paper and an object detection paper among five others."""
    medical = paper_make(
        20,
        "Segmenting Tumours in MRI with Transformers",
        "We segment tumours in MRI scans with a vision transformer trained on hospital data.",
        ["cs.CV", "eess.IV"],
    )
    detection = paper_make(
        21,
        "Real-Time Object Detection on Edge Devices",
        "A compact object detector that finds pedestrians and cars in camera images at 60 "
        "frames per second on a phone.",
        ["cs.CV"],
    )
    list_on(DAY2, [medical, detection, *papers["robotics"], *papers["crypto"]])
    return medical, detection


def _gap(subscriber, medical, detection) -> float:
    """How far the medical paper scores above the detection paper on DAY2."""
    picks = services.rankings_for_day(day=DAY2, subscriber_ids=[subscriber.pk], threshold=False)
    score = {p.paper_id: p.score for p in picks[subscriber.pk]}
    return score[medical.pk] - score[detection.pk]


def test_less_like_this_lowers_papers_like_it_next_day(papers, reader):
    medical, detection = _next_day(papers)
    subscriber = reader(keywords=["computer vision"])
    before = _gap(subscriber, medical, detection)
    services.vote_record(subscriber=subscriber, paper=papers["vision"][1], direction="less")
    after = _gap(subscriber, medical, detection)
    assert after < before - 0.1


def test_more_like_this_lifts_papers_like_it_next_day(papers, reader):
    medical, detection = _next_day(papers)
    subscriber = reader(keywords=["computer vision"])
    before = _gap(subscriber, medical, detection)
    services.vote_record(subscriber=subscriber, paper=papers["vision"][1], direction="more")
    after = _gap(subscriber, medical, detection)
    assert after > before + 0.1


def test_a_vote_is_one_per_paper_and_can_change(papers, reader):
    subscriber = reader(keywords=["computer vision"])
    paper = papers["vision"][0]
    services.vote_record(subscriber=subscriber, paper=paper, direction="more")
    services.vote_record(subscriber=subscriber, paper=paper, direction="less")
    assert list(Vote.objects.values_list("direction", flat=True)) == ["less"]


def test_liked_papers_shape_the_profile_and_are_named(papers, reader):
    liked = papers["robotics"][1]
    subscriber = reader(liked=[f"https://arxiv.org/abs/{liked.arxiv_id}v2"])
    picks = services.rankings_for_day(day=DAY1, subscriber_ids=[subscriber.pk])[subscriber.pk]
    assert liked.pk not in ids(picks)  # they know it already
    assert ids(picks)[0] == papers["robotics"][2].pk  # the other legged-robot paper
    similar = [r for p in picks for r in p.reasons if r.kind == "similar"]
    assert similar and similar[0].label == liked.title


def test_without_the_semantic_signal_keywords_still_rank(papers, reader, settings):
    settings.MATCHING_SEMANTIC = False
    subscriber = reader(keywords=["elliptic curve"])
    picks = services.rankings_for_day(day=DAY1, subscriber_ids=[subscriber.pk])[subscriber.pk]
    assert ids(picks) == [papers["crypto"][1].pk]
    assert picks[0].reasons[0].spans


def test_stored_papers_are_queued_for_their_vectors(monkeypatch):
    from newsletter.matching import tasks

    queued = []
    monkeypatch.setattr(tasks.paper_vectors_compute, "delay_on_commit", queued.append)
    papers_stored.send(sender=None, paper_ids=[3, 5])
    assert queued == [[3, 5]]


def test_the_task_computes_the_vectors(papers):
    from newsletter.matching import tasks

    assert tasks.paper_vectors_compute([papers["crypto"][0].pk]) == 1
    assert PaperVector.objects.filter(paper=papers["crypto"][0]).exclude(vector=None).exists()
