"""The preference centre offers "trending today" (on by default) and the quiet-day note (off)."""

from __future__ import annotations

import pytest

from subscriptions import tokens
from subscriptions.models import Subscriber, Topic

pytestmark = pytest.mark.django_db


def test_readers_turn_trending_off_and_the_quiet_day_note_on(client):
    topic = Topic.objects.create(slug="ro", name="Robotics", group="Robots", description="Robots.")
    subscriber = Subscriber.objects.create(email="r@example.com", status="active")
    subscriber.topics.add(topic)
    assert subscriber.trending and not subscriber.quiet_day_note
    path = tokens.preferences_url(subscriber).split("testserver", 1)[1]
    page = client.get(path).content.decode()
    assert 'name="trending"' in page and 'name="quiet_day_note"' in page
    data = {
        "topics": [topic.pk],
        "frequency": "daily",
        "weekday": 0,
        "send_hour": 7,
        "timezone": "UTC",
        "max_papers": 10,
        "format": "html",
        "quiet_day_note": "on",
    }
    assert "saved=1" in client.post(path, data)["Location"]
    subscriber.refresh_from_db()
    assert not subscriber.trending and subscriber.quiet_day_note


def test_the_data_export_includes_both_choices(client):
    subscriber = Subscriber.objects.create(email="r@example.com", status="active", trending=False)
    path = tokens.preferences_url(subscriber).split("testserver", 1)[1] + "export/"
    preferences = client.get(path).json()["preferences"]
    assert preferences["trending"] is False and preferences["quiet_day_note"] is False
