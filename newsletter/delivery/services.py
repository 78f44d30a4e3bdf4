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
import select
import uuid
from collections import Counter
from datetime import datetime, timedelta
from email.utils import parseaddr
from typing import NamedTuple

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.db import IntegrityError, connection, transaction
from django.db.models import Case, F, Q, Value, When
from django.utils import timezone

from newsletter.delivery import errors
from newsletter.delivery.models import Delivery
from newsletter.delivery.ratelimit import send_slot_wait
from newsletter.delivery.registry import (
    DeliverySkipped,
    builder_for,
    bypasses_suppression,
    needs_active_subscriber,
    preparer_for,
)
from newsletter.lib import emails
from subscriptions.models import Subscriber, SuppressedAddress
from subscriptions.selectors import addresses_suppressed

logger = logging.getLogger(__name__)

State = Delivery.State
CLAIMABLE = (State.QUEUED, State.RETRY)
UNCLAIMABLE = tuple(state for state in State if state not in CLAIMABLE)
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


class Email(NamedTuple):
    """One email to record with ``deliveries_enqueue`` (the arguments of ``delivery_enqueue``)."""

    kind: str
    key: str
    subscriber: Subscriber | None
    to_email: str
    payload: dict | None = None


def deliveries_enqueue(*, items: list[Email]) -> list[Delivery]:
    """Record many emails at once (idempotent on kind+key, like ``delivery_enqueue``): one insert
    and one read per kind, whatever the number. Returns the rows (new or already recorded) in the
    order given, with ``id``, ``state`` and ``attempts``; nudges nothing (the caller nudges the
    ones it wants sent with ``deliveries_nudge``)."""
    if not items:
        return []
    Delivery.objects.bulk_create(
        [
            Delivery(
                kind=e.kind,
                key=e.key,
                subscriber=e.subscriber,
                to_email=e.to_email,
                payload=e.payload or {},
            )
            for e in items
        ],
        ignore_conflicts=True,  # recorded before (a chunk run again): that row stands
        batch_size=1000,
    )
    keys: dict[str, list[str]] = {}
    for e in items:
        keys.setdefault(e.kind, []).append(e.key)
    found = {}
    for kind, kind_keys in keys.items():
        for start in range(0, len(kind_keys), 1000):
            rows = Delivery.objects.filter(kind=kind, key__in=kind_keys[start : start + 1000]).only(
                "pk", "kind", "key", "state", "attempts"
            )
            found.update({(row.kind, row.key): row for row in rows})
    return [found[(e.kind, e.key)] for e in items]


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


def _claim(delivery_ids: list[int], now: datetime) -> list[Delivery]:
    """Claim, in one conditional UPDATE, each of ``delivery_ids`` that is queued or due for a
    retry, marking the rows with a token of this call; returns the rows claimed (subscriber
    loaded) in the order given. A row another worker claimed first is not among them."""
    token = uuid.uuid4()
    # "Not in the other states" rather than "in the claimable ones": the same rows, but no index
    # can serve it, so the rows are found by id even when the planner's statistics are stale
    # (they are, on a queue: they say how many were queued a minute ago).
    Delivery.objects.filter(pk__in=delivery_ids).exclude(state__in=UNCLAIMABLE).filter(
        Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)
    ).update(
        state=State.SENDING,
        claim=token,
        claimed_at=now,
        handed_at=None,
        attempts=F("attempts") + 1,
        updated_at=now,
    )
    claimed = {
        delivery.pk: delivery
        for delivery in Delivery.objects.filter(pk__in=delivery_ids, claim=token).select_related(
            "subscriber"
        )
    }
    return [claimed[pk] for pk in delivery_ids if pk in claimed]


def _claimed_update(claim, changes: dict[int, dict]) -> set[int]:
    """Update rows this worker claimed with ``claim``, each with its own values (``changes``:
    id -> {field: value}), in one statement, while the claim holds (the sweep may have queued a
    row again after a stall, and another worker claimed it since); returns the ids updated.

    Once per email, so written as one plain statement: the ORM's ``filter().update()`` costs
    several times more to build than the database takes to run it.
    """
    meta = Delivery._meta
    quote = connection.ops.quote_name
    pk = quote(meta.pk.column)
    sets, params = [], []
    for name in dict.fromkeys(name for fields in changes.values() for name in fields):
        field = meta.get_field(name)
        column = quote(field.column)
        cases = [(row, fields[name]) for row, fields in changes.items() if name in fields]
        whens = " ".join([f"WHEN {pk} = %s THEN %s"] * len(cases))
        sets.append(f"{column} = CASE {whens} ELSE {column} END")
        for row, value in cases:
            params += [row, field.get_db_prep_save(value, connection)]
    # Only the model's own column names are placed in the text; every value is a parameter.
    sql = (
        f"UPDATE {quote(meta.db_table)} SET {', '.join(sets)} "  # noqa: S608
        f"WHERE {pk} IN ({', '.join(['%s'] * len(changes))}) AND state = %s AND claim = %s "
        f"RETURNING {pk}"
    )
    claim = meta.get_field("claim").get_db_prep_value(claim, connection)
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, *changes, State.SENDING.value, claim])
        return {row[0] for row in cursor.fetchall()}


def _update_ours(delivery: Delivery, **fields) -> bool:
    """Update the row of ``delivery`` while this worker's claim on it holds; True if it did."""
    return delivery.pk in _claimed_update(delivery.claim, {delivery.pk: fields})


def _outcome(state: str, **fields) -> dict:
    """The fields that move a claimed row out of "sending"."""
    return {"state": str(state), "updated_at": timezone.now(), "last_error": "", **fields}


class _Sent(NamedTuple):
    """A message out, its row not yet marked sent (the next hand-over marks it)."""

    delivery: Delivery
    sent_at: datetime
    provider_message_id: str

    def outcome(self) -> dict:
        return _outcome(
            State.SENT, sent_at=self.sent_at, provider_message_id=self.provider_message_id
        )


def _hand_over(delivery: Delivery, message_id: str, sent: _Sent | None) -> bool:
    """Mark ``delivery`` handed over (True while it is ours) and, in the same statement, the
    batch's previous message ``sent``: one statement and one commit per email, not two. A worker
    killed between a send and this statement leaves that one message uncertain, as before."""
    now = timezone.now()
    changes = {delivery.pk: {"handed_at": now, "message_id": message_id, "updated_at": now}}
    if sent is not None:
        changes[sent.delivery.pk] = sent.outcome()
    return delivery.pk in _claimed_update(delivery.claim, changes)


def _release(deliveries: list[Delivery]) -> None:
    """Give back claimed rows this worker never handed over: queued again, as if never claimed."""
    if not deliveries:
        return
    Delivery.objects.filter(
        pk__in=[d.pk for d in deliveries],
        state=State.SENDING,
        claim=deliveries[0].claim,  # one claim per batch
        handed_at__isnull=True,
    ).update(
        state=State.QUEUED,
        claim=None,
        claimed_at=None,
        attempts=F("attempts") - 1,
        updated_at=timezone.now(),
    )


def _finish(delivery: Delivery, state: str, **fields) -> str:
    """Move a delivery this worker claimed out of "sending" (conditional: it stays ours)."""
    _update_ours(delivery, **_outcome(state, **fields))
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


def _suppression_reason(delivery: Delivery, suppressed: set[str]) -> str:
    if bypasses_suppression(delivery.kind):
        return ""
    subscriber = delivery.subscriber
    if subscriber is not None and subscriber.status in (
        Subscriber.Status.BOUNCED,
        Subscriber.Status.COMPLAINED,
    ):
        return f"subscriber is {subscriber.status}"
    if delivery.to_email in suppressed:
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
    attempts = delivery.attempts  # as claimed: this attempt included
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


class _Batch:
    """What one ``deliveries_send`` call shares between its messages."""

    def __init__(self, deliveries: list[Delivery]) -> None:
        self.backend = get_connection()
        self.suppressed = addresses_suppressed(addresses=[d.to_email for d in deliveries])
        self.emailed: dict[int, datetime] = {}  # subscribers who got a message: when
        self.sent: _Sent | None = None  # the last message out, its row marked by the next one

    def sent_flush(self) -> None:
        """Record the message out, if any, on its own (the batch ends, or waits)."""
        if self.sent is not None:
            sent, self.sent = self.sent, None
            _update_ours(sent.delivery, **sent.outcome())


def _send_claimed(delivery: Delivery, batch: _Batch) -> str:
    """Send one delivery this worker has claimed, over the batch's connection (opened if needed)."""
    now = timezone.now()
    backend = batch.backend
    reason = _suppression_reason(delivery, batch.suppressed)
    if reason:
        return _finish(delivery, State.SUPPRESSED, last_error=reason)
    try:
        message = delivery_message_build(delivery=delivery)
    except SoftTimeLimitExceeded:
        raise  # nothing left: the rest of the batch is given back
    except DeliverySkipped as skipped:
        return _finish(delivery, State.SKIPPED, last_error=str(skipped)[:2000])
    except Exception as error:  # a template or data bug: nothing can be sent, retrying won't help
        logger.exception("delivery %s: building the message failed", delivery.pk)
        return _finish(delivery, State.FAILED, last_error=f"build failed: {error!r}"[:2000])
    if settings.DELIVERY_RATE_PER_SECOND > 0:
        batch.sent_flush()  # the wait for a slot may be long: record the last one first
    send_slot_wait()
    try:
        _connection_check(backend)
        backend.open()
    except Exception as error:
        _close_quietly(backend)
        return _fail(delivery, errors.classify_open_error(error), now)
    message_id = delivery_message_id(delivery)
    sent, batch.sent = batch.sent, None
    if not _hand_over(delivery, message_id, sent):
        return "busy"  # queued again by the sweep after a stall, and not ours any more
    try:
        accepted = backend.send_messages([message])
    except SoftTimeLimitExceeded as error:
        _fail(delivery, errors.UncertainError(f"task time limit reached mid-send: {error!r}"), now)
        raise
    except Exception as error:
        classified = errors.classify_send_error(error)
        if not isinstance(classified, errors.PermanentError):
            _close_quietly(backend)  # the connection may be dead: the next message opens anew
        return _fail(delivery, classified, now)
    if not accepted:
        return _finish(delivery, State.FAILED, last_error="the email backend accepted nothing")
    provider_id = getattr(getattr(message, "anymail_status", None), "message_id", None)
    sent_at = timezone.now()
    if delivery.subscriber is not None and delivery.subscriber.email == delivery.to_email:
        batch.emailed[delivery.subscriber_id] = sent_at
    batch.sent = _Sent(delivery, sent_at, "" if provider_id is None else str(provider_id)[:200])
    return str(State.SENT)


def _connection_check(backend) -> None:
    """Drop an SMTP connection the server closed while we were not looking.

    Otherwise the next message would fail with "server disconnected", which cannot be told apart
    from a connection lost mid-message, and would be recorded as uncertain for nothing. A server
    that hung up (or said "421" before it) has left something to read on the socket: only then
    does a NOOP (one round trip) tell whether the connection still serves.
    """
    smtp = getattr(backend, "connection", None)
    if smtp is None or not hasattr(smtp, "noop"):
        return
    sock = getattr(smtp, "sock", None)
    try:
        pending = getattr(sock, "pending", None)  # TLS: bytes already decrypted, unread
        quiet = (
            sock is not None
            and not (pending and pending())
            and not select.select([sock], [], [], 0)[0]
        )
    except (OSError, ValueError):
        quiet = False
    if quiet:
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


def _prepare(deliveries: list[Delivery]) -> None:
    """Let each kind's builder load what the batch's messages need, at once."""
    kinds: dict[str, list[Delivery]] = {}
    for delivery in deliveries:
        kinds.setdefault(delivery.kind, []).append(delivery)
    for kind, of_kind in kinds.items():
        prepare = preparer_for(kind)
        if prepare is not None:
            try:
                prepare(of_kind)
            except Exception:  # each message is then built on its own, and fails on its own
                logger.exception("preparing %d %s deliveries failed", len(of_kind), kind)


def deliveries_send(*, delivery_ids: list[int]) -> Counter:
    """Send each of ``delivery_ids`` that this call can claim, over one connection.

    The batch is claimed in one statement and loaded at once; then each message is marked handed
    over just before it goes out and finished right after, so a worker killed at any moment
    leaves at most one message whose fate is unknown (the sweep marks it uncertain) and gives the
    rest back. Returns the count of each final state; rows claimed elsewhere (or not due) count
    as "busy".
    """
    if _in_transaction():
        raise RuntimeError("deliveries are never sent inside a database transaction")
    ids = list(dict.fromkeys(delivery_ids))
    claimed = _claim(ids, timezone.now())
    counts: Counter = Counter(busy=len(delivery_ids) - len(claimed))  # a repeated id counts too
    if not claimed:
        return +counts
    batch = None
    done = 0
    try:
        _prepare(claimed)
        batch = _Batch(claimed)
        for delivery in claimed:
            try:
                counts[_send_claimed(delivery, batch)] += 1
            except SoftTimeLimitExceeded:
                # Out of time: stop here; the rest is queued again for the next task or the sweep.
                logger.warning("delivery batch stopped at its time limit (at %s)", delivery.pk)
                counts["stopped"] += 1
                break  # this one too is given back, unless it was handed over (uncertain)
            except Exception:
                # A bug or a lost database between claim and finish: the sweep resolves the
                # row (queued again if it never reached the provider, else uncertain).
                logger.exception("delivery %s: unexpected error", delivery.pk)
                counts["error"] += 1
            done += 1
    finally:
        if batch is not None:
            batch.sent_flush()
        _release(claimed[done:])
        if batch is not None:
            _close_quietly(batch.backend)
            if batch.emailed:  # each subscriber's last email of the batch, in one statement
                Subscriber.objects.filter(pk__in=batch.emailed).update(
                    last_emailed_at=Case(
                        *(When(pk=pk, then=Value(at)) for pk, at in batch.emailed.items())
                    )
                )
    return +counts


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
