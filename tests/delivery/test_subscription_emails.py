"""Subscription emails go through the ledger: forms never wait for, or fail because of, the provider."""

from __future__ import annotations

import time

import pytest
from django.core import mail
from django.core.cache import cache

from newsletter.delivery import services
from newsletter.delivery.models import Delivery
from subscriptions.models import Subscriber

pytestmark = pytest.mark.django_db

State = Delivery.State


@pytest.fixture(autouse=True)
def _clean_cache():
    cache.clear()
    yield
    cache.clear()


def signup(client, email: str):
    data = {"email": email, "keywords": "protein folding", "frequency": "daily", "weekday": "0"}
    return client.post("/", {**data, "excluded_terms": "", "website": ""})


def test_a_provider_outage_never_fails_a_signup_and_the_email_waits_in_the_ledger(client, settings):
    settings.EMAIL_BACKEND = "tests.delivery.backends.RaisingBackend"
    from tests.delivery.backends import RaisingBackend

    RaisingBackend.error = ConnectionRefusedError("provider down")
    response = signup(client, "new@example.com")
    assert response.status_code == 302 and response.url == "/check-your-inbox/"
    delivery = Delivery.objects.get()
    assert (delivery.kind, delivery.to_email, delivery.state) == (
        "confirmation",
        "new@example.com",
        State.QUEUED,
    )
    services.deliveries_send_due()
    delivery.refresh_from_db()
    assert delivery.state == State.RETRY and "provider down" in delivery.last_error


def test_known_and_unknown_addresses_get_their_answer_without_waiting_for_the_provider(
    client, settings
):
    settings.EMAIL_BACKEND = "tests.delivery.backends.HangingBackend"
    Subscriber.objects.create(email="known@example.com", status=Subscriber.Status.ACTIVE)
    answers = {}
    for email in ("known@example.com", "unknown@example.com"):
        started = time.monotonic()
        response = signup(client, email)
        answers[email] = (response.status_code, response.url, time.monotonic() - started)
    assert {(code, url) for code, url, _ in answers.values()} == {(302, "/check-your-inbox/")}
    assert all(seconds < 2.5 for _, _, seconds in answers.values())  # the provider takes 3 s
    kinds = dict(Delivery.objects.values_list("to_email", "kind"))
    assert kinds == {"known@example.com": "manage", "unknown@example.com": "confirmation"}


def test_the_send_task_is_enqueued_after_commit_with_ids_only(
    client, monkeypatch, django_capture_on_commit_callbacks
):
    enqueued = []
    monkeypatch.setattr(
        "newsletter.delivery.tasks.deliveries_send_task.delay", lambda ids: enqueued.append(ids)
    )
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        signup(client, "new@example.com")
    assert enqueued == []  # nothing before the commit
    for callback in callbacks:
        callback()
    assert enqueued == [[Delivery.objects.get().pk]]


def test_confirming_queues_one_welcome_with_an_unsubscribe_header(client):
    signup(client, "new@example.com")
    services.deliveries_send_due()
    [confirmation] = mail.outbox
    path = confirmation.body.split("http://testserver")[1].split()[0]
    client.post(path)
    client.post(path)  # a second click changes nothing
    services.deliveries_send_due()
    welcome = mail.outbox[1]
    assert len(mail.outbox) == 2 and welcome.subject.startswith("Welcome")
    assert welcome.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert Delivery.objects.filter(kind="welcome", state=State.SENT).count() == 1


def test_an_email_change_superseded_before_it_was_sent_is_skipped(client, settings):
    subscriber = Subscriber.objects.create(email="me@example.com", status=Subscriber.Status.ACTIVE)
    from subscriptions.services import subscriber_request_email_change

    subscriber_request_email_change(subscriber=subscriber, new_email="first@example.com")
    subscriber_request_email_change(subscriber=subscriber, new_email="second@example.com")
    services.deliveries_send_due()
    assert [m.to for m in mail.outbox] == [["second@example.com"]]
    first = Delivery.objects.get(to_email="first@example.com")
    assert first.state == State.SKIPPED
