"""Provider events (bounces, complaints, deliveries, opens, clicks) from anymail's webhooks.

Each event is stored first, in its own transaction, deduplicated by (provider, event id): a
provider that posts the same event twice changes nothing the second time. Only then is it acted
on: a hard bounce or a complaint suppresses the address; soft bounces suppress after
``DELIVERY_SOFT_BOUNCE_LIMIT`` in a row; delivered/opened/clicked are noted on the delivery when
``DELIVERY_TRACK_EVENTS`` is on. A failure while acting is recorded on the stored event, and the
sweep tries it again, so no event is lost.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from newsletter.delivery.models import Delivery, TrackingEvent
from newsletter.lib.ids import id_parse
from subscriptions.addresses import address_normalise
from subscriptions.models import Subscriber, SuppressedAddress

logger = logging.getLogger(__name__)

# anymail's normalised event types that we act on.
BOUNCED, DEFERRED, REJECTED, COMPLAINED = "bounced", "deferred", "rejected", "complained"
DELIVERED, OPENED, CLICKED, UNSUBSCRIBED = "delivered", "opened", "clicked", "unsubscribed"
_ENGAGEMENT = {DELIVERED: "delivered_at", OPENED: "opened_at", CLICKED: "clicked_at"}
# Provider-specific names of a temporary ("soft") bounce, which anymail reports as "bounced".
_SOFT_TYPES = {"softbounce", "soft_bounce", "transient", "dnserror", "temporary", "soft-bounce"}


def _json_safe(value: Any, depth: int = 0) -> Any:
    # What both databases' JSON holds: no NUL in strings (PostgreSQL refuses it), no NaN or
    # infinities, string keys; anything else becomes its text.
    if value is None or isinstance(value, (bool, int)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, dict) and depth < 50:
        return {_text(key): _json_safe(item, depth + 1) for key, item in value.items()}
    if isinstance(value, (list, tuple)) and depth < 50:
        return [_json_safe(item, depth + 1) for item in value]
    return _text(value)


def _text(value: Any, limit: int | None = None) -> str:
    return ("" if value is None else str(value)).replace("\x00", "")[:limit]


def _recipient(value: Any) -> str:
    # Providers may write ``Name <address>``; subscribers are stored in the one normal form.
    text = _text(value, 1000).strip()
    try:
        return address_normalise(text, display_name=True)
    except ValidationError:
        return text.lower()[:254]


def _event_key(event, raw: Any) -> str:
    if event.event_id:
        return _text(event.event_id, 200)
    # Providers without event ids (Postmark's deliveries, Brevo): the payload itself is the key.
    digest = hashlib.sha256(json.dumps(raw, sort_keys=True, default=str).encode()).hexdigest()
    return f"sha256:{digest}"


def _is_soft(event, raw: Any) -> bool:
    if event.event_type != BOUNCED or not isinstance(raw, dict):
        return False
    markers = [raw.get("Type"), raw.get("event"), raw.get("severity"), raw.get("bounce_type")]
    data = raw.get("event-data")
    if isinstance(data, dict):
        markers.append(data.get("severity"))
    return any(str(m).lower().replace(" ", "") in _SOFT_TYPES for m in markers if m)


def _delivery_for(event) -> Delivery | None:
    # Providers echo our metadata back: a mangled delivery id links nothing, it fails nothing.
    metadata = event.metadata if isinstance(event.metadata, dict) else {}
    delivery_id = id_parse(metadata.get("delivery_id"))
    if delivery_id is not None:
        delivery = Delivery.objects.filter(pk=delivery_id).first()
        if delivery is not None:
            return delivery
    if message_id := _text(event.message_id, 200):
        return (
            Delivery.objects.filter(provider_message_id=message_id)
            .exclude(provider_message_id="")  # the index's condition (SQLite wants it said)
            .first()
        )
    return None


def tracking_event_store(*, provider: str, event) -> TrackingEvent | None:
    """Store one anymail ``AnymailTrackingEvent``; None when it was stored before (a duplicate)."""
    raw = _json_safe(event.esp_event)
    delivery = _delivery_for(event)
    recipient = _recipient(event.recipient or (delivery.to_email if delivery else ""))
    occurred_at = event.timestamp if isinstance(event.timestamp, datetime) else None
    try:
        with transaction.atomic():
            return TrackingEvent.objects.create(
                provider=provider.lower()[:40],
                event_id=_event_key(event, raw),
                event_type=_text(event.event_type or "unknown", 30),
                soft=_is_soft(event, raw),
                recipient=recipient,
                provider_message_id=_text(event.message_id, 200),
                delivery=delivery,
                occurred_at=occurred_at,
                description=_text(event.description or event.mta_response, 300),
                raw=raw,
            )
    except IntegrityError:
        return None


def _suppress(row: TrackingEvent, reason: str) -> None:
    from subscriptions.services import address_suppress, subscriber_suppress

    address = row.recipient
    subscriber = Subscriber.objects.filter(email=address).first() if address else None
    if subscriber is not None:
        if subscriber.status not in (Subscriber.Status.BOUNCED, Subscriber.Status.COMPLAINED):
            subscriber_suppress(subscriber=subscriber, reason=reason)
    elif address:
        address_suppress(email=address, reason=reason)


def _soft_bounces_in_a_row(recipient: str) -> int:
    recent = TrackingEvent.objects.filter(
        recipient=recipient, event_type__in=[BOUNCED, DELIVERED]
    ).order_by("-received_at", "-pk")[: settings.DELIVERY_SOFT_BOUNCE_LIMIT]
    count = 0
    for event in recent:
        if not event.soft:
            break
        count += 1
    return count


def tracking_event_process(*, row: TrackingEvent) -> None:
    """Act on a stored event (idempotent: suppressing twice or noting a time twice is harmless)."""
    kind = row.event_type
    if kind == COMPLAINED:
        _suppress(row, SuppressedAddress.Reason.COMPLAINED)
    elif kind in (BOUNCED, REJECTED) and not row.soft:
        _suppress(row, SuppressedAddress.Reason.BOUNCED)
    elif kind == BOUNCED and row.soft:
        if _soft_bounces_in_a_row(row.recipient) >= settings.DELIVERY_SOFT_BOUNCE_LIMIT:
            _suppress(row, SuppressedAddress.Reason.BOUNCED)
    elif kind in _ENGAGEMENT and settings.DELIVERY_TRACK_EVENTS and row.delivery_id:
        field = _ENGAGEMENT[kind]
        Delivery.objects.filter(pk=row.delivery_id, **{f"{field}__isnull": True}).update(
            **{field: row.occurred_at or row.received_at}
        )


def _process_safely(row: TrackingEvent) -> bool:
    try:
        with transaction.atomic():
            tracking_event_process(row=row)
            TrackingEvent.objects.filter(pk=row.pk).update(
                processed_at=timezone.now(), process_error=""
            )
        return True
    except Exception as error:
        logger.exception("tracking event %s: acting on it failed (kept for a retry)", row.pk)
        TrackingEvent.objects.filter(pk=row.pk).update(process_error=repr(error)[:2000])
        return False


def tracking_event_receive(*, provider: str, event) -> TrackingEvent | None:
    """The webhook receiver: store, then act; a failure to act keeps the stored event."""
    row = tracking_event_store(provider=provider, event=event)
    if row is not None:
        _process_safely(row)
    return row


def tracking_events_process_pending(*, limit: int = 500) -> int:
    """Act on stored events that were not acted on yet (the sweep calls it); returns how many."""
    rows = TrackingEvent.objects.filter(processed_at__isnull=True).order_by("pk")[:limit]
    return sum(_process_safely(row) for row in rows)
