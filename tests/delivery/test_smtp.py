"""Mail to a real SMTP server: what arrives, what is retried, what is recorded as uncertain."""

from __future__ import annotations

import pytest

from newsletter.delivery import services
from newsletter.delivery.models import Delivery
from subscriptions.models import Subscriber, SuppressedAddress
from subscriptions.selectors import address_is_suppressed
from subscriptions.tokens import unsubscribe_url
from tests.delivery.conftest import enqueue_welcome

pytestmark = pytest.mark.django_db

State = Delivery.State


def test_a_welcome_arrives_as_multipart_alternative_with_list_headers(
    smtp_server, subscriber, same_second_links
):
    delivery = enqueue_welcome(subscriber)
    assert services.delivery_send(delivery_id=delivery.pk) == State.SENT
    [received] = smtp_server.received
    message = received.message
    assert received.rcpt_tos == ["reader@example.com"]
    assert message.get_content_type() == "multipart/alternative"
    assert "manage your subscription" in message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert "Manage my preferences" in html and "color-scheme" in html
    assert message["List-Unsubscribe"].strip() == f"<{unsubscribe_url(subscriber)}>"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message["List-Id"] == "Daily Papers Digest <digest.testserver>"
    assert message["Message-ID"] == f"<delivery-{delivery.pk}.welcome@papers.example.org>"
    assert all(len(line) < 998 for line in html.splitlines())
    delivery.refresh_from_db()
    assert delivery.sent_at is not None and delivery.attempts == 1
    subscriber.refresh_from_db()
    assert subscriber.last_emailed_at == delivery.sent_at


def test_one_connection_carries_a_batch_and_each_message_arrives_once(smtp_server, make_subscriber):
    ids = [enqueue_welcome(make_subscriber(f"r{i}@example.com")).pk for i in range(5)]
    counts = services.deliveries_send(delivery_ids=ids + ids)
    assert counts[State.SENT] == 5 and counts["busy"] == 5
    assert sorted(r.rcpt_tos[0] for r in smtp_server.received) == [
        f"r{i}@example.com" for i in range(5)
    ]


def test_a_451_is_retried_later_and_arrives_once(smtp_server, make_subscriber):
    smtp_server.faults.defer["later@example.com"] = 1
    later = enqueue_welcome(make_subscriber("later@example.com"), key="later")
    fine = enqueue_welcome(make_subscriber("fine@example.com"), key="fine")
    counts = services.deliveries_send(delivery_ids=[later.pk, fine.pk])
    assert counts == {State.RETRY: 1, State.SENT: 1}
    later.refresh_from_db()
    assert later.next_attempt_at is not None and "451" in later.last_error
    # Not due yet: nothing happens.
    assert services.deliveries_send(delivery_ids=[later.pk]) == {"busy": 1}
    Delivery.objects.filter(pk=later.pk).update(next_attempt_at=later.created_at)  # backoff over
    assert services.delivery_send(delivery_id=later.pk) == State.SENT
    arrived = [r.rcpt_tos[0] for r in smtp_server.received]
    assert sorted(arrived) == ["fine@example.com", "later@example.com"]
    later.refresh_from_db()
    assert later.attempts == 2


def test_a_dropped_connection_after_the_data_is_uncertain_and_never_resent(
    smtp_server, make_subscriber
):
    smtp_server.faults.drop.add("lost@example.com")
    lost = enqueue_welcome(make_subscriber("lost@example.com"), key="lost")
    after = enqueue_welcome(make_subscriber("after@example.com"), key="after")
    counts = services.deliveries_send(delivery_ids=[lost.pk, after.pk])
    assert counts == {State.UNCERTAIN: 1, State.SENT: 1}  # the next message opened a new connection
    lost.refresh_from_db()
    assert lost.state == State.UNCERTAIN and lost.last_error
    assert services.deliveries_send_due() == {}
    assert services.deliveries_sweep() == {"requeued": 0, "uncertain": 0, "nudged": 0}
    assert [r.rcpt_tos for r in smtp_server.received] == [["after@example.com"]]


def test_a_refused_recipient_fails_for_good_and_is_suppressed(smtp_server, make_subscriber):
    smtp_server.faults.reject.add("gone@example.com")
    gone = make_subscriber("gone@example.com")
    delivery = enqueue_welcome(gone)
    assert services.delivery_send(delivery_id=delivery.pk) == State.FAILED
    gone.refresh_from_db()
    assert gone.status == Subscriber.Status.BOUNCED
    assert address_is_suppressed(address="gone@example.com")
    assert SuppressedAddress.objects.get().reason == SuppressedAddress.Reason.BOUNCED


def test_a_server_that_is_down_is_a_transient_failure(settings, subscriber):
    from tests.helpers import free_port

    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", free_port()
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_TIMEOUT = 2
    delivery = enqueue_welcome(subscriber)
    assert services.delivery_send(delivery_id=delivery.pk) == State.RETRY
    delivery.refresh_from_db()
    assert "Connection refused" in delivery.last_error or "ConnectionRefused" in delivery.last_error


def test_a_connection_the_server_closed_between_messages_is_opened_again(
    smtp_server, make_subscriber, settings, tmp_path
):
    smtp_server.faults.hang_up_after_each_message = True
    settings.DELIVERY_RATE_PER_SECOND, settings.VAR_DIR = 5, tmp_path  # 200 ms between messages
    ids = [enqueue_welcome(make_subscriber(f"idle{i}@example.com")).pk for i in range(3)]
    assert services.deliveries_send(delivery_ids=ids) == {State.SENT: 3}
    assert len(smtp_server.received) == 3


def test_the_one_click_unsubscribe_url_of_a_received_message_unsubscribes_by_post(
    smtp_server, subscriber, client
):
    services.delivery_send(delivery_id=enqueue_welcome(subscriber).pk)
    [received] = smtp_server.received
    url = received.message["List-Unsubscribe"].strip().strip("<>")
    path = url.removeprefix("http://testserver")
    assert client.get(path).status_code == 200  # a mail scanner's GET changes nothing
    subscriber.refresh_from_db()
    assert subscriber.status == Subscriber.Status.ACTIVE
    response = client.post(path, {"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    subscriber.refresh_from_db()
    assert subscriber.status == Subscriber.Status.UNSUBSCRIBED
