"""Unsubscribe: a page with a button, RFC 8058 one-click POST, and one click back."""

import pytest
from django.test import Client

from subscriptions import tokens
from subscriptions.models import Subscriber
from tests.subscriptions.conftest import sent_mail

pytestmark = pytest.mark.django_db


@pytest.fixture
def subscriber(make_subscriber):
    return make_subscriber()


def unsub_path(subscriber) -> str:
    return tokens.unsubscribe_url(subscriber).removeprefix("http://testserver")


def test_get_shows_one_button_and_changes_nothing(client, subscriber):
    response = client.get(unsub_path(subscriber))
    assert response.status_code == 200
    assert "<button" in response.content.decode() and "Stop sending" in response.content.decode()
    subscriber.refresh_from_db()
    assert subscriber.status == Subscriber.Status.ACTIVE


def test_the_button_unsubscribes_and_offers_to_resubscribe(client, subscriber):
    response = client.post(unsub_path(subscriber))
    assert response.status_code == 200
    html = response.content.decode()
    assert "You are unsubscribed" in html and "Subscribe again" in html
    subscriber.refresh_from_db()
    assert subscriber.status == Subscriber.Status.UNSUBSCRIBED and subscriber.unsubscribed_at
    assert subscriber.consents.get().action == "unsubscribe"

    response = client.post(unsub_path(subscriber) + "resubscribe/")
    assert response.status_code == 200 and "Welcome back" in response.content.decode()
    subscriber.refresh_from_db()
    assert subscriber.status == Subscriber.Status.ACTIVE and subscriber.unsubscribed_at is None
    assert list(subscriber.consents.order_by("pk").values_list("action", flat=True)) == [
        "unsubscribe", "resubscribe"
    ]  # fmt: skip
    assert not sent_mail()


def test_the_page_of_an_unsubscribed_reader_offers_to_resubscribe(client, make_subscriber):
    subscriber = make_subscriber(status=Subscriber.Status.UNSUBSCRIBED)
    assert "Subscribe again" in client.get(unsub_path(subscriber)).content.decode()


@pytest.mark.parametrize("multipart", [False, True])
def test_one_click_post_needs_no_cookie_or_csrf_and_answers_200(subscriber, multipart):
    mail_client = Client(enforce_csrf_checks=True)
    if multipart:
        response = mail_client.post(unsub_path(subscriber), {"List-Unsubscribe": "One-Click"})
    else:
        response = mail_client.post(
            unsub_path(subscriber),
            "List-Unsubscribe=One-Click",
            content_type="application/x-www-form-urlencoded",
        )
    assert response.status_code == 200
    assert "Location" not in response
    assert not response.cookies.get("sessionid")
    subscriber.refresh_from_db()
    assert subscriber.status == Subscriber.Status.UNSUBSCRIBED
    consent = subscriber.consents.get()
    assert (consent.action, consent.note) == ("unsubscribe", "one-click")


def test_one_click_twice_is_harmless(subscriber):
    mail_client = Client(enforce_csrf_checks=True)
    for _ in range(2):
        assert (
            mail_client.post(unsub_path(subscriber), {"List-Unsubscribe": "One-Click"}).status_code
            == 200
        )
    assert subscriber.consents.count() == 1


def test_an_ordinary_post_without_csrf_is_refused(subscriber):
    strict = Client(enforce_csrf_checks=True)
    assert strict.post(unsub_path(subscriber)).status_code == 403
    assert (
        strict.post(unsub_path(subscriber), {"List-Unsubscribe": "Two-Clicks"}).status_code == 403
    )
    assert strict.post(unsub_path(subscriber) + "resubscribe/").status_code == 403
    subscriber.refresh_from_db()
    assert subscriber.status == Subscriber.Status.ACTIVE


def test_the_button_works_with_a_real_csrf_cookie(subscriber):
    strict = Client(enforce_csrf_checks=True)
    strict.get(unsub_path(subscriber))
    token = strict.cookies["csrftoken"].value
    assert strict.post(unsub_path(subscriber), {"csrfmiddlewaretoken": token}).status_code == 200
    subscriber.refresh_from_db()
    assert subscriber.status == Subscriber.Status.UNSUBSCRIBED


def test_a_forged_one_click_gets_a_friendly_400_not_a_500(subscriber):
    mail_client = Client(enforce_csrf_checks=True)
    response = mail_client.post(
        "/unsubscribe/forged:token:here/", {"List-Unsubscribe": "One-Click"}
    )
    assert response.status_code == 400
    assert "This link does not work" in response.content.decode()


def test_unsubscribe_links_are_purpose_bound(client, subscriber):
    preferences_token = tokens.preferences_url(subscriber).split("/")[-2]
    assert client.post(f"/unsubscribe/{preferences_token}/").status_code == 400
