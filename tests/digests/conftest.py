"""Papers listed on two days, readers with interests, and the send settings of the digest tests."""

from __future__ import annotations

from datetime import date

import pytest
from django.core import mail

from newsletter.delivery.services import deliveries_send_due
from newsletter.papers.models import Paper
from subscriptions.models import Interest, Subscriber
from tests.matching.conftest import CRYPTO, ROBOTICS, VISION, list_on, paper_make

DAY1 = date(2026, 2, 2)  # a Monday
DAY2 = date(2026, 2, 3)


@pytest.fixture(autouse=True)
def _mail_settings(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.SITE_URL = "http://testserver"
    settings.DEFAULT_FROM_EMAIL = "Digest <digest@papers.example.org>"
    settings.SENDER_POSTAL_ADDRESS = "Daily Papers Digest, 1 Example Street, 10115 Berlin"
    settings.MATCHING_SEMANTIC = False  # keyword matching is enough here, and fast


@pytest.fixture
def papers(db) -> dict[str, list[Paper]]:
    """Seven papers listed on DAY1 (with upvotes, links, one AI summary) and three on DAY2."""
    made: dict[str, list[Paper]] = {}
    number = 1
    for field, rows in (("robotics", ROBOTICS), ("crypto", CRYPTO), ("vision", VISION)):
        made[field] = []
        for title, abstract, cats in rows:
            paper = paper_make(
                number,
                title,
                abstract,
                cats,
                authors=["Ada Lovelace", "Alan Turing", "Grace Hopper", "Edsger Dijkstra"][
                    : 1 + number % 4
                ],
                upvotes=number * 7,
            )
            made[field].append(paper)
            number += 1
    first = made["robotics"][0]
    first.hf_url = f"https://huggingface.co/papers/{first.arxiv_id}"
    first.code_url = "https://github.com/example/dexterous"
    first.project_url = "https://example.org/dexterous"
    first.published = date(2026, 1, 30)
    first.ai_summary = "Robots learn to grasp by watching people, and it transfers to hardware."
    first.save()
    list_on(DAY1, [p for rows in made.values() for p in rows])
    made["day2"] = [
        paper_make(
            100 + i,
            f"Robot manipulation benchmark number {i}",
            "A benchmark for robot manipulation with many tasks and a motion planning track.",
            ["cs.RO"],
            upvotes=3,
        )
        for i in range(3)
    ]
    list_on(DAY2, made["day2"] + made["robotics"])  # yesterday's robotics papers listed again
    return made


@pytest.fixture
def reader(db):
    def make(email="reader@example.com", *, keywords=("robot manipulation",), **fields):
        fields.setdefault("status", Subscriber.Status.ACTIVE)
        subscriber = Subscriber.objects.create(email=email, **fields)
        for position, value in enumerate(keywords):
            Interest.objects.create(
                subscriber=subscriber, kind="keyword", value=value, position=position
            )
        return subscriber

    return make


def sent() -> list:
    """Send what is due, in this process, and return the outbox."""
    deliveries_send_due()
    return mail.outbox
