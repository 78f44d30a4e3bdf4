"""A stored profile is rebuilt whenever what it was built from changes, whatever path changed it:
the next day's ranking follows the reader's new interests, and an unchanged reader's profile is
read as it is."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from newsletter.matching import services
from newsletter.matching.models import SubscriberProfile, Vote
from subscriptions import tokens
from subscriptions.models import Interest, Subscriber, Topic
from tests.matching.conftest import DAY1, paper_make

pytestmark = pytest.mark.django_db


def ranked(subscriber: Subscriber, **options) -> list:
    return services.rankings_for_day(day=DAY1, subscriber_ids=[subscriber.pk], **options)[
        subscriber.pk
    ]


def ids(picks) -> list[int]:
    return [p.paper_id for p in picks]


def built_at(subscriber: Subscriber):
    return SubscriberProfile.objects.get(subscriber=subscriber).built_at


def test_new_keywords_and_cap_in_the_preference_centre_change_the_next_ranking(
    client, settings, papers, reader
):
    settings.SITE_URL = "http://testserver"
    subscriber = reader(keywords=["elliptic curve"])
    assert ids(ranked(subscriber)) == [papers["crypto"][1].pk]
    path = tokens.preferences_url(subscriber).removeprefix("http://testserver")
    form = {
        "keywords": "motion planning\nquadruped locomotion",
        "frequency": "daily",
        "weekday": "0",
        "send_hour": "7",
        "timezone": "UTC",
        "max_papers": "1",
        "format": "html",
    }
    assert client.post(path, form).status_code == 302
    [pick] = ranked(subscriber)
    assert pick.paper_id in {p.pk for p in papers["robotics"]}
    assert {r.label for r in pick.reasons} & {"motion planning", "quadruped locomotion"}


def test_a_csv_import_that_changes_keywords_changes_the_next_ranking(tmp_path, papers, reader):
    subscriber = reader("ada@example.com", keywords=["elliptic curve"])
    assert ids(ranked(subscriber)) == [papers["crypto"][1].pk]
    path = tmp_path / "subscribers.csv"
    path.write_text("email,keywords\nada@example.com,object detection\n", encoding="utf-8")
    call_command("import_subscribers", str(path), "--confirmed", stdout=io.StringIO())
    assert ids(ranked(subscriber))[0] == papers["vision"][0].pk


def test_interests_edited_in_the_admin_change_the_next_ranking(admin_client, papers, reader):
    subscriber = reader(keywords=["elliptic curve"])
    assert ids(ranked(subscriber)) == [papers["crypto"][1].pk]
    interest = subscriber.interests.get()
    form = {
        "email": subscriber.email,
        "status": "active",
        "pending_email": "",
        **{f: getattr(subscriber, f) for f in ("frequency", "weekday", "send_hour", "timezone")},
        "max_papers": 10,
        "format": "html",
        "trending": "on",
        "interests-TOTAL_FORMS": 1,
        "interests-INITIAL_FORMS": 1,
        "interests-0-id": interest.pk,
        "interests-0-subscriber": subscriber.pk,
        "interests-0-kind": "keyword",
        "interests-0-value": "object detection",
        "interests-0-position": 0,
        "consents-TOTAL_FORMS": 0,
        "consents-INITIAL_FORMS": 0,
    }
    response = admin_client.post(f"/admin/subscriptions/subscriber/{subscriber.pk}/change/", form)
    assert response.status_code == 302, response.content.decode()[:2000]
    assert ids(ranked(subscriber))[0] == papers["vision"][0].pk


def test_an_interest_deleted_by_hand_no_longer_counts(papers, reader):
    subscriber = reader(keywords=["elliptic curve", "object detection"])
    assert papers["crypto"][1].pk in ids(ranked(subscriber))
    Interest.objects.get(subscriber=subscriber, value="elliptic curve").delete()
    assert papers["crypto"][1].pk not in ids(ranked(subscriber))


def _gap(subscriber: Subscriber, papers) -> float:
    """How far the medical segmentation paper scores above the object detection paper."""
    score = {p.paper_id: p.score for p in ranked(subscriber, threshold=False)}
    return score[papers["vision"][1].pk] - score[papers["vision"][0].pk]


def test_taking_a_vote_back_undoes_what_it_did(papers, reader):
    subscriber = reader(keywords=["computer vision"])
    before = _gap(subscriber, papers)
    vote = Vote.objects.create(
        subscriber=subscriber, paper=papers["robotics"][0], direction=Vote.Direction.LESS
    )
    voted = _gap(subscriber, papers)
    assert voted != pytest.approx(before, abs=1e-3)
    vote.delete()  # as the admin deletes it
    assert _gap(subscriber, papers) == pytest.approx(before, abs=1e-3)


def test_a_topic_text_edited_anywhere_changes_its_readers_next_ranking(papers, reader):
    topic = Topic.objects.create(
        slug="t-robots",
        name="Robot learning",
        group="Robotics",
        description="Robots that learn to grasp and walk.",
        phrases=["robot manipulation"],
    )
    subscriber = reader()
    subscriber.topics.add(topic)
    first = ranked(subscriber, threshold=False)
    reasons = {r.text for p in first for r in p.reasons if r.kind == "topic"}
    assert reasons == {"Robot learning: robot manipulation"}
    # A queryset update sends no signal: the profile notices the topic's text all the same.
    Topic.objects.filter(pk=topic.pk).update(
        description="Cryptography: signatures, lattices and side channels.",
        phrases=["elliptic curve"],
    )
    then = ranked(subscriber, threshold=False)
    reasons = {r.text for p in then for r in p.reasons if r.kind == "topic"}
    assert reasons == {"Robot learning: elliptic curve"}
    score = {p.paper_id: p.score for p in then}
    before = {p.paper_id: p.score for p in first}
    crypto = papers["crypto"][0].pk  # matches neither phrase: only the description moved it
    assert score[crypto] > before[crypto]


def test_a_deleted_topic_no_longer_counts(papers, reader):
    topic = Topic.objects.create(
        slug="t-crypto", name="Crypto", group="Security", description="", phrases=["lattice"]
    )
    subscriber = reader(keywords=["object detection"])
    subscriber.topics.add(topic)

    def topic_reasons() -> set[str]:
        picks = ranked(subscriber, threshold=False)
        return {r.text for p in picks for r in p.reasons if r.kind == "topic"}

    assert topic_reasons() == {"Crypto: lattice"}
    topic.delete()
    assert topic_reasons() == set()


def test_a_liked_paper_stored_later_shapes_the_profile_from_then_on(papers, reader):
    subscriber = reader(keywords=["computer vision"], liked=["2602.00099"])
    assert not [r for p in ranked(subscriber) for r in p.reasons if r.kind == "similar"]
    liked = paper_make(
        99,
        "Quadruped Robots Learn to Walk on Ice",
        "A legged robot learns a locomotion policy in simulation and walks on slippery ground "
        "outdoors, with a sampling-based planner for its footholds.",
        ["cs.RO"],
    )
    similar = [r for p in ranked(subscriber) for r in p.reasons if r.kind == "similar"]
    assert similar and similar[0].label == liked.title


def test_a_new_model_rebuilds_every_profile(papers, reader, monkeypatch):
    subscriber = reader(keywords=["object detection"])
    ranked(subscriber)
    built = built_at(subscriber)
    ranked(subscriber)
    assert built_at(subscriber) == built
    monkeypatch.setattr(services, "_model_tag", lambda encoder: "another-model")
    ranked(subscriber)
    assert built_at(subscriber) > built
    assert SubscriberProfile.objects.get(subscriber=subscriber).model == "another-model"


def test_profiles_stored_before_the_upgrade_are_rebuilt_once(papers, reader):
    subscriber = reader(keywords=["object detection"])
    first = ids(ranked(subscriber))
    # What the migration leaves: the old row, at version 0, with nothing compiled.
    SubscriberProfile.objects.update(version=0, inputs={}, query_terms=b"", query_weights=b"")
    assert ids(ranked(subscriber)) == first
    profile = SubscriberProfile.objects.get(subscriber=subscriber)
    assert profile.version == Subscriber.objects.get(pk=subscriber.pk).interests_version
    assert profile.query_terms and profile.inputs["keywords"] == ["object detection"]
