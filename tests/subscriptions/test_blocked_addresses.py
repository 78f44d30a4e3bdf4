"""A bounced or complained address: no form mails it again, whoever types it; staff can lift it."""

import pytest
from django.core import mail

from subscriptions import services, tokens
from subscriptions.addresses import address_hash
from subscriptions.models import ConsentRecord, Subscriber, SuppressedAddress
from tests.subscriptions.conftest import sent_mail, signup_data

pytestmark = pytest.mark.django_db


def _blocked(make_subscriber, reason: str) -> Subscriber:
    subscriber = make_subscriber(email="blocked@example.com")
    services.subscriber_suppress(subscriber=subscriber, reason=reason)
    subscriber.refresh_from_db()
    mail.outbox.clear()  # what came before is not under test
    return subscriber


@pytest.mark.parametrize("reason", ["bounced", "complained"])
def test_a_strangers_signup_for_a_blocked_address_sends_nothing_and_changes_nothing(
    client, topics, make_subscriber, reason
):
    subscriber = _blocked(make_subscriber, reason)
    before = (Subscriber.objects.values().get(), ConsentRecord.objects.count())
    response = client.post("/", signup_data(email="Blocked@example.com"))
    assert response.status_code == 302 and response["Location"] == "/check-your-inbox/"
    assert not sent_mail()
    assert (Subscriber.objects.values().get(), ConsentRecord.objects.count()) == before
    assert Subscriber.objects.get().status == subscriber.status == reason


def test_a_complained_address_whose_subscriber_was_deleted_is_not_signed_up_again(client, topics):
    SuppressedAddress.objects.create(
        address_hash=address_hash("gone@example.com"), reason="complained"
    )
    response = client.post("/", signup_data(email="gone@example.com"))
    assert response["Location"] == "/check-your-inbox/"
    assert not Subscriber.objects.exists()
    assert not sent_mail()


def test_a_change_of_address_to_a_complained_address_mails_nothing(client, make_subscriber):
    _blocked(make_subscriber, "complained")
    mover = make_subscriber(email="mover@example.com")
    path = tokens.preferences_url(mover).split("testserver", 1)[1] + "email/"
    response = client.post(path, {"new_email": "blocked@example.com"})
    assert response.status_code == 200
    assert not sent_mail()


def test_staff_lift_a_complaint_and_the_next_signup_is_confirmed_again(
    admin_client, client, topics, make_subscriber
):
    subscriber = _blocked(make_subscriber, "complained")
    admin_client.post(
        "/admin/subscriptions/subscriber/",
        {"action": "lift_block", "_selected_action": [subscriber.pk]},
    )
    assert Subscriber.objects.get().status == "unsubscribed"
    assert SuppressedAddress.objects.get().reason == "staff"  # imports still skip it
    client.post("/", signup_data(email="blocked@example.com"))
    assert Subscriber.objects.get().status == "pending"
    [confirmation] = sent_mail()
    assert confirmation.to == ["blocked@example.com"]


def test_staff_lift_a_bounce_kept_only_as_a_hash(admin_client, client, topics):
    row = SuppressedAddress.objects.create(
        address_hash=address_hash("gone@example.com"), reason="bounced"
    )
    admin_client.post(
        "/admin/subscriptions/suppressedaddress/",
        {"action": "lift_block", "_selected_action": [row.pk]},
    )
    client.post("/", signup_data(email="gone@example.com"))
    assert [m.to for m in sent_mail()] == [["gone@example.com"]]
