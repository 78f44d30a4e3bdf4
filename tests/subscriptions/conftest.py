import re

import pytest
from django.core import mail
from django.core.cache import cache

from newsletter.delivery.services import deliveries_send_due
from subscriptions.models import Subscriber, Topic


@pytest.fixture(autouse=True)
def _fresh_state(settings):
    """Rate-limit counters live in the cache; Django's locmem mail outbox for assertions."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.SITE_URL = "http://testserver"
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def topics(db):
    """Three topics of our own (tests do not depend on the catalogue migration's rows)."""
    rows = [
        ("Language", "t-llms", "Test LLMs"),
        ("Language", "t-agents", "Test agents"),
        ("Vision", "t-vision", "Test vision"),
    ]
    return [
        Topic.objects.update_or_create(
            slug=slug,
            defaults={"group": group, "name": name, "description": f"{name}.", "position": i},
        )[0]
        for i, (group, slug, name) in enumerate(rows)
    ]


@pytest.fixture
def make_subscriber(db):
    def make(email="reader@example.com", status=Subscriber.Status.ACTIVE, **fields) -> Subscriber:
        return Subscriber.objects.create(email=email, status=status, **fields)

    return make


def signup_data(**overrides) -> dict:
    data = {
        "email": "reader@example.com",
        "keywords": "protein folding",
        "excluded_terms": "",
        "frequency": "daily",
        "weekday": "0",
        "website": "",
    }
    data.update(overrides)
    return data


def link_in(message, kind: str) -> str:
    """The path of the first link of ``kind`` (confirm, preferences, ...) in a message."""
    match = re.search(rf"http://testserver(/{kind}/[^/\s\"]+/)", message.body)
    assert match, f"no /{kind}/ link in:\n{message.body}"
    return match.group(1)


def sent_mail() -> list:
    """What a worker would have sent by now: sends every due delivery, then returns the outbox."""
    deliveries_send_due()
    return mail.outbox


def outbox_to(address: str) -> list:
    return [m for m in sent_mail() if address in m.to]
