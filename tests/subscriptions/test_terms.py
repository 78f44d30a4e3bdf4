"""Keywords, exclusions and followed authors: one term however its accents and case are typed."""

import unicodedata

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from subscriptions import tokens
from subscriptions.models import Subscriber
from subscriptions.parsing import term_key, terms_parse

COMPOSED = "café"  # é as one code point
DECOMPOSED = unicodedata.normalize("NFD", COMPOSED)  # e + combining acute


def test_cafe_typed_two_ways_is_one_keyword_stored_in_nfc():
    assert COMPOSED != DECOMPOSED
    assert terms_parse(f"{DECOMPOSED}\n{COMPOSED}\nCAFÉ") == [COMPOSED]
    assert term_key(DECOMPOSED) == term_key("CAFÉ") == "café"


@pytest.mark.django_db
@pytest.mark.parametrize("field", ["keywords", "excluded_terms", "followed_authors"])
def test_the_preference_centre_stores_one_row_for_cafe_typed_two_ways(client, topics, field):
    subscriber = Subscriber.objects.create(email="cafe@example.com", status="active")
    subscriber.topics.add(topics[0])
    data = {
        "topics": [topics[0].pk],
        "frequency": "daily",
        "weekday": "0",
        "send_hour": "7",
        "timezone": "UTC",
        "max_papers": "10",
        "format": "html",
        field: f"{DECOMPOSED}\n{COMPOSED}",
    }
    response = client.post(tokens.preferences_url(subscriber).split("testserver", 1)[1], data)
    assert response.status_code == 302
    assert getattr(Subscriber.objects.get(), field) == [COMPOSED]


@pytest.mark.django_db(transaction=True)
def test_the_migration_merges_stored_spellings_of_one_term():
    executor = MigrationExecutor(connection)
    before, after = (
        [("subscriptions", "0004_liked_paper_ids")],
        [("subscriptions", "0005_interest_terms_nfc")],
    )
    executor.migrate(before)
    apps = executor.loader.project_state(before).apps
    subscriber = apps.get_model("subscriptions", "Subscriber").objects.create(email="m@example.com")
    Interest = apps.get_model("subscriptions", "Interest")
    for position, (kind, value) in enumerate(
        [("keyword", DECOMPOSED), ("keyword", COMPOSED), ("keyword", "Café"), ("author", DECOMPOSED),
         ("keyword", "graphs")]
    ):  # fmt: skip
        Interest.objects.create(subscriber=subscriber, kind=kind, value=value, position=position)
    executor = MigrationExecutor(connection)
    executor.migrate(after)
    rows = Interest.objects.filter(subscriber=subscriber).order_by("kind", "position")
    assert [(r.kind, r.value) for r in rows] == [
        ("author", COMPOSED),
        ("keyword", COMPOSED),
        ("keyword", "graphs"),
    ]
    MigrationExecutor(connection).migrate(executor.loader.graph.leaf_nodes())


@pytest.mark.django_db
def test_the_preference_centre_refuses_zero_topics_and_zero_keywords_as_signup_does(client, topics):
    subscriber = Subscriber.objects.create(email="empty@example.com", status="active")
    subscriber.topics.add(topics[0])
    data = {
        "frequency": "daily",
        "weekday": "0",
        "send_hour": "7",
        "timezone": "UTC",
        "max_papers": "10",
        "format": "html",
        "followed_authors": "Ada Lovelace",
    }
    response = client.post(tokens.preferences_url(subscriber).split("testserver", 1)[1], data)
    assert response.status_code == 200
    assert "Choose at least one topic or type a keyword." in response.content.decode()
    assert [t.slug for t in Subscriber.objects.get().topics.all()] == [topics[0].slug]
    assert Subscriber.objects.get().followed_authors == []
    signup = client.post("/", {"email": "new@example.com", "frequency": "daily", "weekday": "0"})
    assert "Choose at least one topic or type a keyword." in signup.content.decode()
