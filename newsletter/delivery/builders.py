"""Builders of the subscription emails, registered for their kinds when the app is ready.

Each builds the message at send time from the subscriber as it is then, so a link is always the
current one, and an email that no longer makes sense (the subscriber confirmed meanwhile, or asked
for another address) is skipped rather than sent.
"""

from __future__ import annotations

from django.conf import settings
from django.core.mail import EmailMessage

from newsletter.delivery.models import Delivery
from newsletter.delivery.registry import DeliverySkipped, register_builder
from newsletter.lib import emails
from subscriptions import schedule, tokens
from subscriptions.models import Subscriber

Status = Subscriber.Status


def _subscriber(delivery: Delivery) -> Subscriber:
    if delivery.subscriber is None:
        raise DeliverySkipped("the subscriber no longer exists")
    return delivery.subscriber


def _same_address(delivery: Delivery, subscriber: Subscriber) -> None:
    if subscriber.email != delivery.to_email:
        raise DeliverySkipped("the subscriber's address changed since")


def confirmation_build(delivery: Delivery) -> EmailMessage:
    subscriber = _subscriber(delivery)
    _same_address(delivery, subscriber)
    if subscriber.status != Status.PENDING:
        raise DeliverySkipped(f"no longer pending ({subscriber.status})")
    return emails.confirmation(
        to=delivery.to_email,
        confirm_url=tokens.confirm_url(subscriber),
        valid_days=settings.SUBSCRIPTIONS_CONFIRM_LINK_DAYS,
        topics=[t.name for t in subscriber.topics.all()],
        keywords=subscriber.keywords,
    )


def manage_build(delivery: Delivery) -> EmailMessage:
    subscriber = _subscriber(delivery)
    _same_address(delivery, subscriber)
    return emails.manage(
        to=delivery.to_email,
        preferences_url=tokens.preferences_url(subscriber),
        status_label=subscriber.get_status_display(),
    )


def welcome_build(delivery: Delivery) -> EmailMessage:
    subscriber = _subscriber(delivery)
    _same_address(delivery, subscriber)
    if subscriber.status != Status.ACTIVE:
        raise DeliverySkipped(f"no longer active ({subscriber.status})")
    return emails.welcome(
        to=delivery.to_email,
        preferences_url=tokens.preferences_url(subscriber),
        unsubscribe_url=tokens.unsubscribe_url(subscriber),
        first_digest=schedule.subscriber_next_digest(subscriber=subscriber),
        headers=tokens.list_unsubscribe_headers(subscriber),
    )


def email_change_build(delivery: Delivery) -> EmailMessage:
    subscriber = _subscriber(delivery)
    if subscriber.pending_email != delivery.to_email:
        raise DeliverySkipped("another address was asked for since, or the change is done")
    return emails.email_change(
        to=delivery.to_email,
        confirm_url=tokens.email_change_url(subscriber),
        valid_days=settings.SUBSCRIPTIONS_CONFIRM_LINK_DAYS,
    )


# Links the recipient asked for a moment ago go out even to a suppressed address: signing up
# again is how an address leaves the list. The welcome (and the digest) respect it.
register_builder("confirmation", confirmation_build, bypass_suppression=True)
register_builder("manage", manage_build, bypass_suppression=True)
register_builder("email-change", email_change_build, bypass_suppression=True)
register_builder("welcome", welcome_build)
