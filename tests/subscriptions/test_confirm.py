"""Confirmation links: GET shows a button, POST confirms; bad links get a friendly page."""

import datetime as dt

import pytest
import time_machine

from subscriptions import tokens
from subscriptions.models import Subscriber
from subscriptions.tokens import Purpose
from tests.subscriptions.conftest import link_in, sent_mail

pytestmark = pytest.mark.django_db


@pytest.fixture
def pending(make_subscriber, topics):
    subscriber = make_subscriber(status=Subscriber.Status.PENDING)
    subscriber.topics.add(topics[0])
    return subscriber


def confirm_path(subscriber) -> str:
    return tokens.confirm_url(subscriber).removeprefix("http://testserver")


def test_get_shows_a_button_and_changes_nothing(client, pending):
    response = client.get(confirm_path(pending))
    assert response.status_code == 200
    assert "Yes, subscribe me" in response.content.decode()
    assert "no-cache" in response["Cache-Control"]
    pending.refresh_from_db()
    assert pending.status == Subscriber.Status.PENDING and not pending.consents.exists()
    assert not sent_mail()


def test_post_confirms_records_consent_and_sends_the_welcome_email(client, pending):
    response = client.post(confirm_path(pending), HTTP_USER_AGENT="Firefox")
    assert response.status_code == 200
    assert "You are subscribed" in response.content.decode()
    pending.refresh_from_db()
    assert pending.status == Subscriber.Status.ACTIVE and pending.confirmed_at is not None
    consent = pending.consents.get()
    assert (consent.action, consent.user_agent) == ("confirm", "Firefox")
    [welcome] = sent_mail()
    assert welcome.subject == "Welcome to Daily Papers Digest"
    assert client.get(link_in(welcome, "preferences")).status_code == 200
    assert link_in(welcome, "unsubscribe")
    assert welcome.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_confirming_twice_is_harmless(client, pending):
    client.post(confirm_path(pending))
    response = client.post(confirm_path(pending))
    assert "Already confirmed" in response.content.decode()
    assert len(sent_mail()) == 1
    assert pending.consents.count() == 1


def test_the_link_works_for_seven_days_then_gets_a_friendly_400(client, pending):
    with time_machine.travel(dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.UTC), tick=False) as clock:
        path = confirm_path(pending)
        clock.shift(dt.timedelta(days=6, hours=23))
        assert client.get(path).status_code == 200
        clock.shift(dt.timedelta(hours=2))
        response = client.get(path)
        assert response.status_code == 400
        assert "This link has expired." in response.content.decode()
        assert 'action="/new-link/"' in response.content.decode()
        assert client.post(path).status_code == 400
    pending.refresh_from_db()
    assert pending.status == Subscriber.Status.PENDING


@pytest.mark.parametrize(
    "mangle",
    [
        lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"),  # signature
        lambda t: ("0" if t[0] != "0" else "1") + t[1:],  # payload
        lambda t: t.split(":")[0],  # no signature at all
        lambda t: "garbage",
        lambda t: "x" * 5000,
        lambda t: "%00%ff<script>",
    ],
)
def test_tampered_links_get_a_friendly_400(client, pending, mangle):
    response = client.post(
        f"/confirm/{mangle(tokens.token_make(subscriber=pending, purpose=Purpose.CONFIRM))}/"
    )
    assert response.status_code == 400
    assert "This link does not work" in response.content.decode()
    pending.refresh_from_db()
    assert pending.status == Subscriber.Status.PENDING


def test_a_token_for_another_purpose_does_not_confirm(client, pending):
    token = tokens.token_make(subscriber=pending, purpose=Purpose.UNSUBSCRIBE)
    assert client.post(f"/confirm/{token}/").status_code == 400


def test_a_revoked_or_deleted_subscribers_link_gets_a_friendly_404(client, pending):
    path = confirm_path(pending)
    Subscriber.objects.filter(pk=pending.pk).update(link_version=2)
    response = client.get(path)
    assert response.status_code == 404
    assert "no longer valid" in response.content.decode()
    pending.delete()
    assert client.get(path).status_code == 404


def test_a_token_carries_an_opaque_id_and_never_the_address(pending):
    for purpose in Purpose:
        if purpose is Purpose.EMAIL_CHANGE:
            pending.pending_email = "new@example.com"
        token = tokens.token_make(subscriber=pending, purpose=purpose)
        payload = token.split(":")[0]  # TimestampSigner: "<value>:<timestamp>:<signature>"
        assert payload.startswith(f"{pending.public_id.hex}.{pending.link_version}")
        assert "reader" not in token and "example" not in token


def test_an_old_confirmation_link_of_an_unsubscribed_reader_changes_nothing(client, pending):
    path = confirm_path(pending)
    Subscriber.objects.filter(pk=pending.pk).update(status=Subscriber.Status.UNSUBSCRIBED)
    response = client.post(path)
    assert "This subscription is not active" in response.content.decode()
    pending.refresh_from_db()
    assert pending.status == Subscriber.Status.UNSUBSCRIBED
    assert not sent_mail()


def test_a_failing_welcome_email_does_not_undo_or_break_the_confirmation(client, pending, settings):
    settings.EMAIL_BACKEND = "newsletter.lib.outbox.OutboxBackend"
    settings.OUTBOX_DIR = "/dev/null/not-a-directory"
    response = client.post(confirm_path(pending))
    assert response.status_code == 200 and "Fine-tune your interests" in response.content.decode()
    pending.refresh_from_db()
    assert pending.status == Subscriber.Status.ACTIVE


def test_the_confirm_page_the_welcome_page_and_the_welcome_email_say_when_the_first_digest_comes(
    client, make_subscriber, topics, settings
):
    settings.DAILY_RUN_HOUR = 23
    weekly = make_subscriber(
        "weekly@example.com",
        status=Subscriber.Status.PENDING,
        timezone="America/New_York",
        send_hour=8,
        frequency="weekly",
        weekday=4,
    )
    daily = make_subscriber(status=Subscriber.Status.PENDING, timezone="Europe/Berlin", send_hour=7)
    # Monday 7 Dec 2026, 10:00 UTC: the day's run starts tonight.
    with time_machine.travel(dt.datetime(2026, 12, 7, 10, 0, tzinfo=dt.UTC), tick=False):
        when = "tomorrow, Tue 8 Dec, at 07:00 Berlin time"
        assert when in client.get(confirm_path(daily)).content.decode()
        assert when in client.post(confirm_path(daily)).content.decode()
        [welcome] = sent_mail()
        assert f"Your first digest comes {when}." in welcome.body
        assert f"Your first digest comes {when}." in welcome.alternatives[0][0]

        client.post(confirm_path(weekly))
        friday = "on Fri 11 Dec at 08:00 New York time"
        assert f"Your first digest comes {friday}." in sent_mail()[-1].body
