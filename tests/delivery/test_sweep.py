"""The sweep: the database, not the broker, decides what still has to be sent."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from newsletter.delivery import services
from newsletter.delivery.models import Delivery
from tests.delivery.conftest import enqueue_welcome

pytestmark = pytest.mark.django_db

State = Delivery.State


def _age(delivery: Delivery, **fields) -> None:
    Delivery.objects.filter(pk=delivery.pk).update(**fields)


def test_beat_runs_the_sweep_every_minute():
    task = PeriodicTask.objects.get(task="delivery.sweep")
    assert task.enabled and task.interval.every == 1 and task.interval.period == "minutes"


def test_a_queued_delivery_whose_task_was_lost_is_nudged_again(
    subscriber, django_capture_on_commit_callbacks, monkeypatch
):
    nudged = []
    monkeypatch.setattr(
        "newsletter.delivery.tasks.deliveries_send_task.delay", lambda ids: nudged.append(ids)
    )
    delivery = enqueue_welcome(subscriber)
    with django_capture_on_commit_callbacks(execute=True):
        assert services.deliveries_sweep()["nudged"] == 0  # too young: its own task may still come
    _age(delivery, created_at=timezone.now() - timedelta(minutes=5))
    with django_capture_on_commit_callbacks(execute=True):
        assert services.deliveries_sweep()["nudged"] == 1
    with django_capture_on_commit_callbacks(execute=True):
        assert services.deliveries_sweep()["nudged"] == 0  # not twice within the grace period
    assert nudged == [[delivery.pk]]


def test_a_retry_is_nudged_only_once_it_is_due(subscriber, monkeypatch):
    monkeypatch.setattr("newsletter.delivery.tasks.deliveries_send_task.delay", lambda ids: None)
    delivery = enqueue_welcome(subscriber)
    old = timezone.now() - timedelta(minutes=10)
    _age(
        delivery,
        state=State.RETRY,
        created_at=old,
        next_attempt_at=timezone.now() + timedelta(minutes=5),
    )
    assert services.deliveries_sweep()["nudged"] == 0
    _age(delivery, next_attempt_at=old)
    assert services.deliveries_sweep()["nudged"] == 1


def test_a_delivery_claimed_by_a_dead_worker_before_handing_it_over_is_queued_again(subscriber):
    delivery = enqueue_welcome(subscriber)
    _age(delivery, state=State.SENDING, claimed_at=timezone.now() - timedelta(hours=1))
    assert services.deliveries_sweep()["requeued"] == 1
    assert services.delivery_send(delivery_id=delivery.pk) == State.SENT
    assert len(mail.outbox) == 1


def test_a_delivery_handed_over_by_a_dead_worker_becomes_uncertain(subscriber):
    delivery = enqueue_welcome(subscriber)
    an_hour_ago = timezone.now() - timedelta(hours=1)
    _age(delivery, state=State.SENDING, claimed_at=an_hour_ago, handed_at=an_hour_ago)
    assert services.deliveries_sweep()["uncertain"] == 1
    delivery.refresh_from_db()
    assert delivery.state == State.UNCERTAIN and "may have been sent" in delivery.last_error
    assert services.delivery_send(delivery_id=delivery.pk) == State.UNCERTAIN
    assert not mail.outbox


def test_a_delivery_still_sending_within_the_deadline_is_left_alone(subscriber):
    delivery = enqueue_welcome(subscriber)
    _age(delivery, state=State.SENDING, claimed_at=timezone.now(), handed_at=timezone.now())
    assert services.deliveries_sweep() == {"requeued": 0, "uncertain": 0, "nudged": 0}


def test_staff_resend_queues_an_uncertain_delivery_once(subscriber, monkeypatch):
    monkeypatch.setattr("newsletter.delivery.tasks.deliveries_send_task.delay", lambda ids: None)
    delivery = enqueue_welcome(subscriber)
    _age(delivery, state=State.UNCERTAIN)
    assert services.delivery_resend(delivery_id=delivery.pk)
    assert not services.delivery_resend(delivery_id=delivery.pk)  # already queued
    assert services.delivery_send(delivery_id=delivery.pk) == State.SENT
    assert not services.delivery_resend(delivery_id=delivery.pk)  # sent ones are not resent
