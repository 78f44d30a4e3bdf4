"""Signal receivers: email requests from subscriptions, tracking events from anymail's webhooks."""

from __future__ import annotations

from anymail.signals import tracking
from django.db.models.signals import post_delete
from django.dispatch import receiver

from newsletter.delivery import services
from newsletter.delivery import tracking as tracking_services
from newsletter.delivery.models import TrackingEvent
from subscriptions.models import Subscriber
from subscriptions.signals import email_requested


@receiver(email_requested, sender=Subscriber, dispatch_uid="delivery.email_requested")
def email_requested_enqueue(sender, *, kind, key, subscriber, to_email, **kwargs) -> None:
    # In the requester's transaction: the ledger row commits (or rolls back) with its decision.
    services.delivery_enqueue(kind=kind, key=key, subscriber=subscriber, to_email=to_email)


@receiver(tracking, dispatch_uid="delivery.tracking")
def tracking_event_received(sender, *, event, esp_name, **kwargs) -> None:
    tracking_services.tracking_event_receive(provider=esp_name, event=event)


@receiver(post_delete, sender=Subscriber, dispatch_uid="delivery.subscriber_deleted")
def subscriber_deleted_erase_events(sender, *, instance: Subscriber, **kwargs) -> None:
    # Their deliveries go with them (cascade); provider events name the address too.
    TrackingEvent.objects.filter(recipient=instance.email).delete()
