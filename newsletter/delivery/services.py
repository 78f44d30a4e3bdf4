"""The send ledger: every email is a ``Delivery`` row, sent at most once, with a state that says why.

Public interface (other apps use only these, plus ``registry.register_builder``):

``delivery_enqueue(*, kind, key, subscriber, to_email, payload=None, nudge=True) -> Delivery``
    Record that ``to_email`` must get the ``kind`` email identified by ``key`` (e.g. kind
    "digest", key "<subscriber id>:<YYYY-MM-DD>"). Idempotent on (kind, key): a second call
    returns the existing row and changes nothing. Call it inside the transaction that decides the
    email; a send task is enqueued when that transaction commits (``nudge=False`` leaves that to
    the caller, who then calls ``deliveries_nudge`` with many ids at once).

``deliveries_nudge(*, delivery_ids) -> None``
    Enqueue send tasks for these ids after commit, ``DELIVERY_BATCH_SIZE`` ids per task.

``delivery_send(*, delivery_id) -> str`` / ``deliveries_send(*, delivery_ids) -> Counter``
    Send now (one, or a batch over one connection); returns the final state(s). Safe to call
    twice or concurrently: each row is claimed by a conditional UPDATE (queued/retry and due ->
    sending) before anything else, and only the claimer sends. Never call inside a transaction.

``delivery_resend(*, delivery_id) -> bool``
    Staff: put an uncertain or failed delivery back in the queue (it may arrive twice).

``deliveries_sweep(*, now=None) -> dict``
    Beat, every minute: nudges queued/retry rows whose task was lost, re-queues rows claimed but
    never handed to the provider, and marks rows handed over but never finished "uncertain".

Building the message: ``registry.register_builder(kind, fn, active_only=True)`` where
``fn(delivery) -> EmailMessage`` builds it at send time from ``delivery.subscriber``,
``delivery.to_email`` and ``delivery.payload`` (raise ``registry.DeliverySkipped`` when there is
nothing to send; ``active_only``: not sent unless the subscriber is still active). The builder
sets subject, bodies and ``List-Unsubscribe`` (``subscriptions.tokens.list_unsubscribe_headers``);
the ledger sets the recipient, a stable ``Message-ID``, the ``List-Id`` and anymail metadata/tags
carrying the delivery id. ``newsletter.lib.emails.build(kind, ...)`` renders
``templates/emails/<kind>.mjml`` (compiled once per process), ``<kind>.txt`` and
``<kind>-subject.txt`` into a message.

States: queued -> sending -> sent | retry (transient error: sent again after a backoff, up to
``DELIVERY_MAX_ATTEMPTS``) | failed (permanent; a recipient error also suppresses the address) |
uncertain (the outcome is unknown: never resent automatically) | skipped (builder had nothing to
send) | suppressed (address or subscriber stopped at the moment of sending).
"""

from __future__ import annotations

import logging
import random
from collections import Counter
from datetime import datetime, timedelta
from email.utils import parseaddr

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from newsletter.delivery import errors
from newsletter.delivery.models import Delivery
from newsletter.delivery.ratelimit import send_slot_wait
from newsletter.delivery.registry import (
    DeliverySkipped,
    builder_for,
    bypasses_suppression,
    needs_active_subscriber,
)
from newsletter.lib import emails
from subscriptions.models import Subscriber, SuppressedAddress
from subscriptions.selectors import address_is_suppressed

logger = logging.getLogger(__name__)

State = Delivery.State
CLAIMABLE = (State.QUEUED, State.RETRY)
RESENDABLE = (State.UNCERTAIN, State.FAILED)


# --- Enqueueing ------------------------------------------------------------------------------


def delivery_enqueue(
    *,
    kind: str,
    key: str,
    subscriber: Subscriber | None,
    to_email: str,
    payload: dict | None = None,
    nudge: bool = True,
) -> Delivery:
    """Record one email to send (idempotent on kind+key); see the module docstring."""
    try:
        with transaction.atomic():
            delivery, created = Delivery.objects.get_or_create(
                kind=kind,
                key=key,
                defaults={"subscriber": subscriber, "to_email": to_email, "payload": payload or {}},
            )
    except IntegrityError:  # a concurrent enqueue of the same email won
        return Delivery.objects.get(kind=kind, key=key)
    if created and nudge:
        deliveries_nudge(delivery_ids=[delivery.pk])
    return delivery


def deliveries_nudge(*, delivery_ids: list[int]) -> None:
    """Enqueue send tasks for ``delivery_ids`` once the current transaction commits."""
    from newsletter.delivery import tasks

    size = settings.DELIVERY_BATCH_SIZE
    for start in range(0, len(delivery_ids), size):
        tasks.deliveries_send_task.delay_on_commit(list(delivery_ids[start : start + size]))


# --- Sending ---------------------------------------------------------------------------------


def _in_transaction() -> bool:
    # Test cases wrap each test in an atomic block of their own; only real ones count.
    return any(not getattr(block, "_from_testcase", False) for block in connection.atomic_blocks)


def _claim(delivery_id: int, now: datetime) -> bool:
    return (
        Delivery.objects.filter(pk=delivery_id, state__in=CLAIMABLE)
        .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
        .update(
            state=State.SENDING,
            claimed_at=now,
            handed_at=None,
            attempts=F("attempts") + 1,
            updated_at=now,
        )
        == 1
    )


def _finish(delivery: Delivery, state: str, **fields) -> str:
    """Move a delivery this worker claimed out of "sending" (conditional: it stays ours)."""
    fields.setdefault("last_error", "")
    Delivery.objects.filter(pk=delivery.pk, state=State.SENDING).update(
        state=state, updated_at=timezone.now(), **fields
    )
    return str(state)


def _domain() -> str:
    address = parseaddr(settings.DEFAULT_FROM_EMAIL)[1]
    return address.rpartition("@")[2] or "localhost"


def delivery_message_id(delivery: Delivery) -> str:
    """A stable ``Message-ID``: a resent delivery is recognisably the same message."""
    return f"<delivery-{delivery.pk}.{delivery.kind}@{_domain()}>"


def delivery_message_build(*, delivery: Delivery) -> EmailMessage:
    """The message of ``delivery`` exactly as it would be sent now (builder + ledger headers)."""
    message = builder_for(delivery.kind)(delivery)
    message.to = [delivery.to_email]
    message.extra_headers["Message-ID"] = delivery_message_id(delivery)
    message.extra_headers.setdefault("List-Id", emails.list_id())
    # Read by django-anymail; returned with the provider's webhook events.
    message.metadata = {"delivery_id": str(delivery.pk), "kind": delivery.kind}
    message.tags = [delivery.kind]
    return message


def _suppression_reason(delivery: Delivery) -> str:
    if bypasses_suppression(delivery.kind):
        return ""
    subscriber = delivery.subscriber
    if subscriber is not None and subscriber.status in (
        Subscriber.Status.BOUNCED,
        Subscriber.Status.COMPLAINED,
    ):
        return f"subscriber is {subscriber.status}"
    if address_is_suppressed(address=delivery.to_email):
        return "address is on the suppression list"
    if needs_active_subscriber(delivery.kind) and (
        subscriber is None or subscriber.status != Subscriber.Status.ACTIVE
    ):
        return f"subscriber is {subscriber.status if subscriber else 'gone'}"
    return ""


def _backoff(attempts: int) -> timedelta:
    base = settings.DELIVERY_RETRY_BASE_SECONDS * 2 ** max(attempts - 1, 0)
    delay = min(base, 6 * 3600)
    return timedelta(seconds=delay * random.uniform(0.5, 1.0))  # jitter spreads a retry storm


def _recipient_suppress(delivery: Delivery) -> None:
    from subscriptions.services import address_suppress, subscriber_suppress

    subscriber = delivery.subscriber
    if subscriber is not None and subscriber.email == delivery.to_email:
        subscriber_suppress(subscriber=subscriber, reason=SuppressedAddress.Reason.BOUNCED)
    else:
        address_suppress(email=delivery.to_email, reason=SuppressedAddress.Reason.BOUNCED)


def _fail(delivery: Delivery, error: errors.SendError, now: datetime) -> str:
    text = str(error)[:2000]
    attempts = Delivery.objects.values_list("attempts", flat=True).get(pk=delivery.pk)
    if isinstance(error, errors.UncertainError):
        logger.warning("delivery %s: outcome unknown: %s", delivery.pk, text)
        return _finish(delivery, State.UNCERTAIN, last_error=text)
    if isinstance(error, errors.TransientError):
        if attempts < settings.DELIVERY_MAX_ATTEMPTS:
            return _finish(
                delivery, State.RETRY, last_error=text, next_attempt_at=now + _backoff(attempts)
            )
        text = f"gave up after {attempts} attempts: {text}"
        return _finish(delivery, State.FAILED, last_error=text)
    if isinstance(error, errors.RecipientError):
        state = _finish(delivery, State.FAILED, last_error=text)
        _recipient_suppress(delivery)
        return state
    return _finish(delivery, State.FAILED, last_error=text)


def _send_claimed(delivery: Delivery, backend) -> str:
    """Send one delivery this worker has claimed, over ``backend`` (opened here if needed)."""
    now = timezone.now()
    reason = _suppression_reason(delivery)
    if reason:
        return _finish(delivery, State.SUPPRESSED, last_error=reason)
    try:
        message = delivery_message_build(delivery=delivery)
    except SoftTimeLimitExceeded:
        raise  # nothing left: the sweep queues the row again
    except DeliverySkipped as skipped:
        return _finish(delivery, State.SKIPPED, last_error=str(skipped)[:2000])
    except Exception as error:  # a template or data bug: nothing can be sent, retrying won't help
        logger.exception("delivery %s: building the message failed", delivery.pk)
        return _finish(delivery, State.FAILED, last_error=f"build failed: {error!r}"[:2000])
    send_slot_wait()
    try:
        _connection_check(backend)
        backend.open()
    except Exception as error:
        _close_quietly(backend)
        return _fail(delivery, errors.classify_open_error(error), now)
    Delivery.objects.filter(pk=delivery.pk, state=State.SENDING).update(handed_at=timezone.now())
    try:
        sent = backend.send_messages([message])
    except SoftTimeLimitExceeded as error:
        _fail(delivery, errors.UncertainError(f"task time limit reached mid-send: {error!r}"), now)
        raise
    except Exception as error:
        classified = errors.classify_send_error(error)
        if not isinstance(classified, errors.PermanentError):
            _close_quietly(backend)  # the connection may be dead: the next message opens anew
        return _fail(delivery, classified, now)
    if not sent:
        return _finish(delivery, State.FAILED, last_error="the email backend accepted nothing")
    provider_id = getattr(getattr(message, "anymail_status", None), "message_id", None)
    sent_at = timezone.now()
    if delivery.subscriber is not None and delivery.subscriber.email == delivery.to_email:
        Subscriber.objects.filter(pk=delivery.subscriber_id).update(last_emailed_at=sent_at)
    return _finish(
        delivery,
        State.SENT,
        sent_at=sent_at,
        message_id=delivery_message_id(delivery),
        provider_message_id="" if provider_id is None else str(provider_id)[:200],
    )


def _connection_check(backend) -> None:
    """Drop an SMTP connection the server closed while we waited (a NOOP costs one round trip).

    Otherwise the next message would fail with "server disconnected", which cannot be told apart
    from a connection lost mid-message, and would be recorded as uncertain for nothing.
    """
    smtp = getattr(backend, "connection", None)
    if smtp is None or not hasattr(smtp, "noop"):
        return
    try:
        alive = smtp.noop()[0] == 250
    except Exception:
        alive = False
    if not alive:
        _close_quietly(backend)
        backend.connection = None


def _close_quietly(backend) -> None:
    try:
        backend.close()
    except Exception:
        logger.debug("closing the email connection failed", exc_info=True)


def deliveries_send(*, delivery_ids: list[int]) -> Counter:
    """Send each of ``delivery_ids`` that this call can claim, over one connection.

    Returns the count of each final state; rows claimed elsewhere (or not due) count as "busy".
    """
    if _in_transaction():
        raise RuntimeError("deliveries are never sent inside a database transaction")
    counts: Counter = Counter()
    backend = get_connection()
    try:
        for delivery_id in delivery_ids:
            if not _claim(delivery_id, timezone.now()):
                counts["busy"] += 1
                continue
            delivery = Delivery.objects.select_related("subscriber").get(pk=delivery_id)
            try:
                counts[_send_claimed(delivery, backend)] += 1
            except SoftTimeLimitExceeded:
                # Out of time: stop here; the rest stays queued for the next task or the sweep.
                logger.warning("delivery batch stopped at its time limit (at %s)", delivery_id)
                counts["stopped"] += 1
                break
            except Exception:
                # A bug or a lost database between claim and finish: the sweep resolves the
                # row (queued again if it never reached the provider, else uncertain).
                logger.exception("delivery %s: unexpected error", delivery_id)
                counts["error"] += 1
    finally:
        _close_quietly(backend)
    return counts


def delivery_send(*, delivery_id: int) -> str:
    """Send one delivery now if it can be claimed; returns its state afterwards."""
    deliveries_send(delivery_ids=[delivery_id])
    return Delivery.objects.values_list("state", flat=True).get(pk=delivery_id)


def deliveries_due(*, now: datetime | None = None, limit: int = 1000) -> list[int]:
    now = now or timezone.now()
    return list(
        Delivery.objects.filter(state__in=CLAIMABLE)
        .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
        .order_by("pk")
        .values_list("pk", flat=True)[:limit]
    )


def deliveries_retry_soon(*, delivery_ids: list[int], within: int) -> list[tuple[int, int]]:
    """(id, seconds until due) of those deliveries waiting to be retried within ``within`` s."""
    now = timezone.now()
    rows = Delivery.objects.filter(
        pk__in=delivery_ids,
        state=State.RETRY,
        next_attempt_at__lte=now + timedelta(seconds=within),
    ).values_list("pk", "next_attempt_at")
    return [(pk, max(0, round((due - now).total_seconds()) + 1)) for pk, due in rows]


def deliveries_send_due(*, limit: int = 1000) -> Counter:
    """Send everything queued or due for a retry, now, in this process (commands, tests)."""
    return deliveries_send(delivery_ids=deliveries_due(limit=limit))


# --- Staff and the sweep ---------------------------------------------------------------------


def delivery_resend(*, delivery_id: int, by: str = "staff") -> bool:
    """Queue an uncertain or failed delivery again (staff decided it may arrive twice)."""
    now = timezone.now()
    with transaction.atomic():
        updated = Delivery.objects.filter(pk=delivery_id, state__in=RESENDABLE).update(
            state=State.QUEUED,
            next_attempt_at=None,
            nudged_at=now,
            updated_at=now,
            last_error=f"resent by {by}"[:2000],
        )
        if updated:
            deliveries_nudge(delivery_ids=[delivery_id])
    return bool(updated)


def deliveries_sweep(*, now: datetime | None = None) -> dict[str, int]:
    """Make the database, not the broker, the source of truth (beat runs this every minute)."""
    now = now or timezone.now()
    deadline = now - timedelta(seconds=settings.DELIVERY_SENDING_TIMEOUT)
    grace = now - timedelta(seconds=settings.DELIVERY_NUDGE_AFTER)
    stuck = Delivery.objects.filter(state=State.SENDING, claimed_at__lt=deadline)
    # Claimed but never handed to the provider: nothing left, safe to queue again.
    requeued = stuck.filter(handed_at__isnull=True).update(
        state=State.QUEUED, next_attempt_at=None, nudged_at=None, updated_at=now
    )
    uncertain = stuck.filter(handed_at__isnull=False).update(
        state=State.UNCERTAIN,
        updated_at=now,
        last_error="the worker stopped while handing it to the provider: it may have been sent",
    )
    with transaction.atomic():
        lost = list(
            Delivery.objects.filter(state__in=CLAIMABLE, created_at__lt=grace)
            .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
            .filter(Q(nudged_at__isnull=True) | Q(nudged_at__lt=grace))
            .order_by("pk")
            .values_list("pk", flat=True)[: settings.DELIVERY_BATCH_SIZE * 100]
        )
        Delivery.objects.filter(pk__in=lost).update(nudged_at=now)
        deliveries_nudge(delivery_ids=lost)
    result = {"requeued": requeued, "uncertain": uncertain, "nudged": len(lost)}
    if any(result.values()):
        logger.info("delivery sweep: %s", result)
    return result
