"""The send ledger: one row per email, claimed before sending, each outcome recorded."""

from __future__ import annotations

import threading

import pytest
import requests
from anymail.exceptions import (
    AnymailAPIError,
    AnymailRecipientsRefused,
    AnymailRequestsAPIError,
)
from django.core import mail
from django.db import transaction

from newsletter.delivery import errors, services
from newsletter.delivery.models import Delivery
from newsletter.delivery.registry import DeliverySkipped, register_builder
from newsletter.lib import emails
from subscriptions import services as subscription_services
from subscriptions.models import Subscriber, SuppressedAddress
from tests.delivery.backends import RaisingBackend
from tests.delivery.conftest import enqueue_welcome

State = Delivery.State


@pytest.mark.django_db
def test_enqueueing_the_same_kind_and_key_twice_gives_one_delivery(subscriber):
    first = enqueue_welcome(subscriber, key="k")
    second = enqueue_welcome(subscriber, key="k")
    assert first.pk == second.pk and Delivery.objects.count() == 1
    assert first.state == State.QUEUED


@pytest.mark.django_db
def test_sending_twice_sends_once(subscriber):
    delivery = enqueue_welcome(subscriber)
    assert services.delivery_send(delivery_id=delivery.pk) == State.SENT
    assert services.delivery_send(delivery_id=delivery.pk) == State.SENT
    assert len(mail.outbox) == 1


@pytest.mark.django_db
def test_nothing_is_sent_inside_a_transaction(subscriber):
    delivery = enqueue_welcome(subscriber)
    with transaction.atomic(), pytest.raises(RuntimeError, match="transaction"):
        services.delivery_send(delivery_id=delivery.pk)
    assert not mail.outbox
    delivery.refresh_from_db()
    assert delivery.state == State.QUEUED


@pytest.mark.django_db
def test_a_request_rolled_back_with_its_transaction_leaves_no_delivery(subscriber):
    with transaction.atomic():
        subscription_services.subscriber_resend_confirmation(
            subscriber=Subscriber.objects.create(email="p@example.com")
        )
        assert Delivery.objects.filter(kind="confirmation").count() == 1
        transaction.set_rollback(True)
    assert not Delivery.objects.exists()


@pytest.mark.django_db
def test_an_address_suppressed_after_enqueueing_is_not_mailed(subscriber):
    delivery = enqueue_welcome(subscriber)
    subscription_services.subscriber_suppress(
        subscriber=subscriber, reason=SuppressedAddress.Reason.COMPLAINED
    )
    assert services.delivery_send(delivery_id=delivery.pk) == State.SUPPRESSED
    assert not mail.outbox


@pytest.mark.django_db
def test_a_legacy_sha256_suppression_entry_still_stops_mail(subscriber):
    import hashlib

    SuppressedAddress.objects.create(
        address_hash=hashlib.sha256(b"reader@example.com").hexdigest(),
        reason=SuppressedAddress.Reason.STAFF,
    )
    delivery = enqueue_welcome(subscriber)
    assert services.delivery_send(delivery_id=delivery.pk) == State.SUPPRESSED


@pytest.mark.django_db
def test_suppression_keeps_a_keyed_hash_that_a_plain_sha256_does_not_find(settings, subscriber):
    import hashlib

    settings.SUPPRESSION_HASH_KEY = "k" * 40
    subscription_services.address_suppress(email="Reader@Example.com", reason="staff")
    stored = SuppressedAddress.objects.get().address_hash
    assert stored != hashlib.sha256(b"reader@example.com").hexdigest()
    settings.SUPPRESSION_HASH_KEY = "another-key-" * 4  # a different key gives a different hash
    from subscriptions.addresses import address_hash

    assert address_hash("reader@example.com") != stored


@pytest.mark.django_db
def test_a_welcome_to_someone_who_unsubscribed_meanwhile_is_skipped(subscriber):
    delivery = enqueue_welcome(subscriber)
    Subscriber.objects.filter(pk=subscriber.pk).update(status=Subscriber.Status.UNSUBSCRIBED)
    assert services.delivery_send(delivery_id=delivery.pk) == State.SKIPPED
    delivery.refresh_from_db()
    assert "no longer active" in delivery.last_error and not mail.outbox


@pytest.mark.django_db
def test_a_builder_registered_by_another_app_builds_its_kind_at_send_time(subscriber):
    def build(delivery):
        if delivery.payload.get("empty"):
            raise DeliverySkipped("nothing new today")
        return emails.build(
            "manage", to="ignored@example.com", context={"preferences_url": "https://x/p/"}
        )

    register_builder("test-kind", build)
    sent = services.delivery_enqueue(
        kind="test-kind", key="a", subscriber=subscriber, to_email=subscriber.email, nudge=False
    )
    empty = services.delivery_enqueue(
        kind="test-kind",
        key="b",
        subscriber=subscriber,
        to_email=subscriber.email,
        payload={"empty": True},
        nudge=False,
    )
    assert services.deliveries_send(delivery_ids=[sent.pk, empty.pk]) == {
        State.SENT: 1,
        State.SKIPPED: 1,
    }
    [message] = mail.outbox
    assert message.to == ["reader@example.com"]  # the ledger decides the recipient


@pytest.mark.django_db
def test_the_anymail_payload_carries_the_delivery_id_and_the_provider_id_is_kept(
    settings, subscriber
):
    settings.EMAIL_BACKEND = "anymail.backends.test.EmailBackend"
    delivery = enqueue_welcome(subscriber)
    assert services.delivery_send(delivery_id=delivery.pk) == State.SENT
    [message] = mail.outbox
    params = message.anymail_test_params
    assert params["metadata"] == {"delivery_id": str(delivery.pk), "kind": "welcome"}
    assert params["tags"] == ["welcome"]
    assert message.extra_headers["Message-ID"] == services.delivery_message_id(delivery)
    delivery.refresh_from_db()
    assert delivery.provider_message_id == str(message.anymail_status.message_id)


def _sent_with(settings, subscriber, error: BaseException) -> Delivery:
    settings.EMAIL_BACKEND = "tests.delivery.backends.RaisingBackend"
    RaisingBackend.error = error
    delivery = enqueue_welcome(subscriber)
    services.delivery_send(delivery_id=delivery.pk)
    delivery.refresh_from_db()
    return delivery


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("error", "state"),
    [
        (AnymailAPIError("slow down", status_code=429), State.RETRY),
        (AnymailAPIError("bad gateway", status_code=502), State.RETRY),
        (AnymailAPIError("bad request", status_code=422), State.FAILED),
        (AnymailAPIError("no answer"), State.UNCERTAIN),
        (ConnectionRefusedError("refused"), State.RETRY),
        (TimeoutError("timed out mid-send"), State.UNCERTAIN),
    ],
)
def test_provider_errors_are_retried_failed_or_uncertain(settings, subscriber, error, state):
    delivery = _sent_with(settings, subscriber, error)
    assert delivery.state == state and delivery.last_error
    assert (delivery.next_attempt_at is not None) == (state == State.RETRY)


@pytest.mark.django_db
def test_a_refused_recipient_suppresses_the_address(settings, subscriber):
    delivery = _sent_with(settings, subscriber, AnymailRecipientsRefused("rejected"))
    assert delivery.state == State.FAILED
    subscriber.refresh_from_db()
    assert subscriber.status == Subscriber.Status.BOUNCED


def _requests_error(cause: BaseException) -> AnymailRequestsAPIError:
    try:
        try:
            raise cause
        except requests.RequestException as err:
            raise AnymailRequestsAPIError("Error posting") from err
    except AnymailRequestsAPIError as wrapped:
        return wrapped


def test_a_connect_timeout_is_transient_and_a_read_timeout_uncertain():
    connect = errors.classify_send_error(_requests_error(requests.ConnectTimeout("connect")))
    read = errors.classify_send_error(_requests_error(requests.ReadTimeout("read")))
    assert isinstance(connect, errors.TransientError)
    assert isinstance(read, errors.UncertainError)


@pytest.mark.django_db
def test_transient_failures_back_off_then_give_up_after_the_limit(settings, subscriber):
    settings.DELIVERY_MAX_ATTEMPTS = 3
    delivery = _sent_with(settings, subscriber, AnymailAPIError("down", status_code=503))
    waits = []
    for _ in range(2):
        waits.append(delivery.next_attempt_at - delivery.updated_at)
        Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=delivery.created_at)
        services.delivery_send(delivery_id=delivery.pk)
        delivery.refresh_from_db()
    assert delivery.state == State.FAILED and delivery.attempts == 3
    assert "gave up after 3 attempts" in delivery.last_error
    assert waits[0].total_seconds() <= settings.DELIVERY_RETRY_BASE_SECONDS + 1
    assert waits[1].total_seconds() > settings.DELIVERY_RETRY_BASE_SECONDS * 2 * 0.5 - 1


@pytest.mark.django_db(transaction=True)
def test_two_workers_sending_the_same_deliveries_send_each_once(settings, make_subscriber):
    settings.EMAIL_BACKEND = "tests.delivery.backends.SlowLocmemBackend"
    ids = [enqueue_welcome(make_subscriber(f"w{i}@example.com")).pk for i in range(20)]
    results = []

    def worker():
        results.append(services.deliveries_send(delivery_ids=ids))

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(m.to[0] for m in mail.outbox) == sorted(f"w{i}@example.com" for i in range(20))
    assert sum(r[State.SENT] for r in results) == 20
    assert set(Delivery.objects.values_list("state", flat=True)) == {State.SENT}


@pytest.mark.django_db
def test_a_kind_for_active_subscribers_is_not_sent_after_a_pause(subscriber):
    register_builder(
        "test-active",
        lambda d: emails.build("manage", to="x@example.com", context={}),
        active_only=True,
    )
    delivery = services.delivery_enqueue(
        kind="test-active", key="1", subscriber=subscriber, to_email=subscriber.email, nudge=False
    )
    Subscriber.objects.filter(pk=subscriber.pk).update(status=Subscriber.Status.PAUSED)
    assert services.delivery_send(delivery_id=delivery.pk) == State.SUPPRESSED
    delivery.refresh_from_db()
    assert delivery.last_error == "subscriber is paused" and not mail.outbox


@pytest.mark.django_db
def test_the_send_task_schedules_a_retry_that_is_due_soon(settings, subscriber, monkeypatch):
    from newsletter.delivery import tasks

    scheduled = []
    monkeypatch.setattr(
        tasks.deliveries_send_task,
        "apply_async",
        lambda args, countdown: scheduled.append((args, countdown)),
    )
    settings.EMAIL_BACKEND = "tests.delivery.backends.RaisingBackend"
    RaisingBackend.error = ConnectionRefusedError("down")
    delivery = enqueue_welcome(subscriber)
    assert tasks.deliveries_send_task([delivery.pk]) == {State.RETRY: 1}
    [(args, countdown)] = scheduled
    assert args == [[delivery.pk]]
    assert (
        settings.DELIVERY_RETRY_BASE_SECONDS * 0.5
        <= countdown
        <= settings.DELIVERY_RETRY_BASE_SECONDS + 2
    )


@pytest.mark.django_db
def test_a_task_time_limit_mid_send_is_uncertain_and_stops_the_batch(settings, make_subscriber):
    from celery.exceptions import SoftTimeLimitExceeded

    settings.EMAIL_BACKEND = "tests.delivery.backends.RaisingBackend"
    RaisingBackend.error = SoftTimeLimitExceeded()
    first, second = (enqueue_welcome(make_subscriber(f"t{i}@example.com")) for i in range(2))
    assert services.deliveries_send(delivery_ids=[first.pk, second.pk]) == {"stopped": 1}
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.state == State.UNCERTAIN and "time limit" in first.last_error
    assert second.state == State.QUEUED  # untouched: the next task or the sweep sends it
