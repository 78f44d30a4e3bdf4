"""Provider webhooks: stored once, then acted on; a forged post changes nothing."""

from __future__ import annotations

import base64
import json

import pytest
from django.test import Client, override_settings

from newsletter.delivery import tracking
from newsletter.delivery.models import Delivery, TrackingEvent
from subscriptions.models import Subscriber, SuppressedAddress
from subscriptions.selectors import address_is_suppressed
from tests.delivery.conftest import enqueue_welcome
from tests.helpers import ROOT

pytestmark = pytest.mark.django_db

DATA = ROOT / "tests" / "data" / "webhooks"
SECRET = "hooks:s3cret-for-tests"


@pytest.fixture(autouse=True)
def _webhook_secret(settings):
    settings.ANYMAIL = {**settings.ANYMAIL, "WEBHOOK_SECRET": SECRET}


def payload(name: str, **changes) -> dict:
    data = json.loads((DATA / name).read_text())
    data.update(changes)
    return data


def post(client, provider: str, data: dict, *, secret: str = SECRET, configured: bool = True):
    """Post ``data`` as ``provider`` would, by default with ``EMAIL_PROVIDER`` set to it."""
    auth = base64.b64encode(secret.encode()).decode()
    with override_settings(**({"EMAIL_PROVIDER": provider} if configured else {})):
        return client.post(
            f"/anymail/{provider}/tracking/",
            data=json.dumps(data),
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Basic {auth}",
        )


def sent_welcome(subscriber, provider_message_id: str) -> Delivery:
    delivery = enqueue_welcome(subscriber)
    Delivery.objects.filter(pk=delivery.pk).update(
        state=Delivery.State.SENT, provider_message_id=provider_message_id
    )
    return delivery


def test_a_postmark_hard_bounce_suppresses_the_subscriber(client, subscriber):
    delivery = sent_welcome(subscriber, "883953f4-6105-42a2-a16a-77a8eac79483")
    data = payload("postmark/hard_bounce.json", Metadata={"delivery_id": str(delivery.pk)})
    assert post(client, "postmark", data).status_code == 200
    subscriber.refresh_from_db()
    assert subscriber.status == Subscriber.Status.BOUNCED
    assert address_is_suppressed(address="reader@example.com")
    event = TrackingEvent.objects.get()
    assert (event.provider, event.event_type, event.delivery) == ("postmark", "bounced", delivery)
    assert event.processed_at is not None and not event.soft


def test_a_duplicate_event_is_stored_and_acted_on_once(client, subscriber):
    data = payload("postmark/spam_complaint.json")
    assert post(client, "postmark", data).status_code == 200
    assert post(client, "postmark", data).status_code == 200
    assert TrackingEvent.objects.count() == 1
    subscriber.refresh_from_db()
    assert subscriber.status == Subscriber.Status.COMPLAINED
    assert SuppressedAddress.objects.get().reason == SuppressedAddress.Reason.COMPLAINED
    assert subscriber.consents.filter(action="unsubscribe").count() == 1


@pytest.mark.parametrize("provider", ["postmark", "brevo"])
def test_a_forged_post_is_refused_and_changes_nothing(client, subscriber, provider):
    name = "postmark/hard_bounce.json" if provider == "postmark" else "brevo/hard_bounce.json"
    response = post(client, provider, payload(name, email="reader@example.com"), secret="x:wrong")
    assert 400 <= response.status_code < 500
    assert not TrackingEvent.objects.exists() and not SuppressedAddress.objects.exists()
    subscriber.refresh_from_db()
    assert subscriber.status == Subscriber.Status.ACTIVE


def test_webhooks_are_refused_when_no_secret_is_configured(client, subscriber, settings):
    settings.ANYMAIL = {}
    response = post(client, "postmark", payload("postmark/spam_complaint.json"))
    assert response.status_code == 403
    assert not TrackingEvent.objects.exists()


def test_soft_bounces_suppress_only_after_the_limit_in_a_row(client, subscriber, settings):
    settings.DELIVERY_SOFT_BOUNCE_LIMIT = 3
    for n in range(2):
        data = payload("brevo/soft_bounce.json", **{"message-id": f"<soft-{n}@relay>"})
        assert post(client, "brevo", data).status_code == 200
    subscriber.refresh_from_db()
    assert subscriber.status == Subscriber.Status.ACTIVE  # two in a row: not yet
    post(client, "brevo", payload("brevo/delivered.json"))  # a delivery resets the run
    for n in range(2, 4):
        post(client, "brevo", payload("brevo/soft_bounce.json", **{"message-id": f"<soft-{n}@r>"}))
    subscriber.refresh_from_db()
    assert subscriber.status == Subscriber.Status.ACTIVE
    post(client, "brevo", payload("brevo/soft_bounce.json", **{"message-id": "<soft-9@r>"}))
    subscriber.refresh_from_db()
    assert subscriber.status == Subscriber.Status.BOUNCED
    assert TrackingEvent.objects.filter(soft=True).count() == 5


def test_a_brevo_hard_bounce_for_an_unknown_address_still_suppresses_it(client, db):
    assert post(client, "brevo", payload("brevo/hard_bounce.json")).status_code == 200
    assert address_is_suppressed(address="gone@example.com")


def test_delivered_events_are_noted_on_the_delivery_when_enabled(client, subscriber, settings):
    delivery = sent_welcome(subscriber, "883953f4-6105-42a2-a16a-77a8eac79483")
    settings.DELIVERY_TRACK_EVENTS = False
    post(client, "postmark", payload("postmark/delivery.json", Metadata={}))
    delivery.refresh_from_db()
    assert delivery.delivered_at is None
    settings.DELIVERY_TRACK_EVENTS = True
    data = payload("postmark/delivery.json", Metadata={"delivery_id": str(delivery.pk)})
    post(client, "postmark", data)
    delivery.refresh_from_db()
    assert delivery.delivered_at is not None and delivery.delivered_at.year == 2026


def test_a_failure_while_acting_keeps_the_event_for_the_sweep(client, subscriber, monkeypatch):
    def broken(**kwargs):
        raise RuntimeError("database hiccup")

    monkeypatch.setattr("subscriptions.services.subscriber_suppress", broken)
    assert post(client, "postmark", payload("postmark/spam_complaint.json")).status_code == 200
    event = TrackingEvent.objects.get()
    assert event.processed_at is None and "database hiccup" in event.process_error
    subscriber.refresh_from_db()
    assert subscriber.status == Subscriber.Status.ACTIVE
    monkeypatch.undo()
    assert tracking.tracking_events_process_pending() == 1
    subscriber.refresh_from_db()
    assert subscriber.status == Subscriber.Status.COMPLAINED


def test_deleting_a_subscriber_erases_their_deliveries_and_events(client, subscriber):
    from subscriptions.services import subscriber_delete

    sent_welcome(subscriber, "883953f4-6105-42a2-a16a-77a8eac79483")
    post(client, "postmark", payload("postmark/delivery.json", Metadata={}))
    assert TrackingEvent.objects.count() == 1
    subscriber_delete(subscriber=subscriber)
    assert not Delivery.objects.exists() and not TrackingEvent.objects.exists()
    assert address_is_suppressed(address="reader@example.com")  # only the keyed hash is kept


@pytest.mark.parametrize("provider", ["postal", "mailgun", "resend", "postmark", "sendgrid"])
def test_the_webhook_of_a_provider_not_configured_is_a_404(provider, settings):
    settings.EMAIL_PROVIDER = "brevo"
    client = Client(raise_request_exception=False)
    data = payload("postmark/hard_bounce.json")
    assert post(client, provider, data, configured=False).status_code == 404
    assert not TrackingEvent.objects.exists()


@pytest.mark.parametrize(
    "delivery_id",
    [
        "\u00b2",
        "9" * 4300,
        "9" * 4301,
        "12\x00",
        float("nan"),
        "\x00",
        "-3",
        " 7",
        "0x1f",
        True,
        [1],
        2**70,
    ],
    ids=repr,
)
def test_a_mangled_delivery_id_stores_the_event_unlinked(client, subscriber, delivery_id):
    delivery = sent_welcome(subscriber, "some-other-message")
    data = payload("postmark/hard_bounce.json", Metadata={"delivery_id": delivery_id})
    assert post(client, "postmark", data).status_code == 200
    event = TrackingEvent.objects.get()
    assert event.delivery is None and delivery.pk != 0
    subscriber.refresh_from_db()
    assert subscriber.status == Subscriber.Status.BOUNCED


def test_a_bounce_written_name_and_address_suppresses_the_subscriber(client, subscriber):
    data = payload("postmark/hard_bounce.json", Email='"Reader, A." <Reader@EXAMPLE.com>')
    assert post(client, "postmark", data).status_code == 200
    assert TrackingEvent.objects.get().recipient == "reader@example.com"
    subscriber.refresh_from_db()
    assert subscriber.status == Subscriber.Status.BOUNCED
