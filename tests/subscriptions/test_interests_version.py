"""``interests_version`` goes up on every path that changes what a reader's matches are built
from (matching rebuilds a stored profile when it moved), and on no other."""

import pytest

from subscriptions import services
from subscriptions.models import Interest, Subscriber
from subscriptions.preferences import Preferences

pytestmark = pytest.mark.django_db


def version(subscriber: Subscriber) -> int:
    return Subscriber.objects.get(pk=subscriber.pk).interests_version


@pytest.fixture
def reader(make_subscriber):
    return make_subscriber()


def test_setting_interests_moves_it(reader):
    before = version(reader)
    services.interests_set(subscriber=reader, kind="keyword", values=["rag", "agents"])
    assert version(reader) > before


def test_preferences_move_it_only_when_interests_or_topics_change(reader, topics):
    prefs = Preferences(topics=[topics[0]], keywords=["rag"])
    services.preferences_apply(subscriber=reader, preferences=prefs)
    after_first = version(reader)
    services.preferences_apply(subscriber=reader, preferences=prefs)
    services.preferences_apply(subscriber=reader, preferences=Preferences(send_hour=9))
    assert version(reader) == after_first
    services.preferences_apply(subscriber=reader, preferences=Preferences(topics=[topics[1]]))
    assert version(reader) > after_first


def test_single_rows_saved_or_deleted_by_hand_move_it(reader):
    before = version(reader)
    interest = Interest.objects.create(subscriber=reader, kind="keyword", value="rag")
    created = version(reader)
    assert created > before
    interest.value = "agents"
    interest.save()
    edited = version(reader)
    assert edited > created
    Interest.objects.filter(pk=interest.pk).delete()
    assert version(reader) > edited


@pytest.mark.parametrize(
    "change",
    [
        lambda s, t: s.topics.add(t),
        lambda s, t: t.subscribers.add(s),
        lambda s, t: s.topics.set([t]),
    ],
)
def test_adding_a_topic_from_either_side_moves_it(reader, topics, change):
    before = version(reader)
    change(reader, topics[0])
    assert version(reader) > before


@pytest.mark.parametrize(
    "change",
    [
        lambda s, t: s.topics.remove(t),
        lambda s, t: t.subscribers.remove(s),
        lambda s, t: s.topics.clear(),
        lambda s, t: t.subscribers.clear(),
    ],
)
def test_removing_a_topic_from_either_side_moves_it(reader, topics, change):
    reader.topics.add(topics[0])
    before = version(reader)
    change(reader, topics[0])
    assert version(reader) > before


def test_adding_a_topic_already_chosen_leaves_it(reader, topics):
    reader.topics.add(topics[0])
    before = version(reader)
    reader.topics.add(topics[0])
    assert version(reader) == before


def test_deleting_a_subscriber_with_interests_and_topics_works(reader, topics):
    reader.topics.add(topics[0])
    Interest.objects.create(subscriber=reader, kind="keyword", value="rag")
    other = Subscriber.objects.create(email="other@example.com")
    Interest.objects.create(subscriber=other, kind="keyword", value="rag")
    Subscriber.objects.filter(pk=reader.pk).delete()
    other.delete()
    assert not Subscriber.objects.exists() and not Interest.objects.exists()
