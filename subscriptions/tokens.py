"""Signed links for subscribers: ``<public id>.<link version>[.<extra>]``, salted per purpose.

A token carries the subscriber's random ``public_id``, never the address. Bumping
``Subscriber.link_version`` revokes every link issued before. The digest email calls
``preferences_url``, ``unsubscribe_url`` and ``list_unsubscribe_headers``.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from enum import StrEnum

from django.conf import settings
from django.core import signing
from django.urls import reverse

from newsletter.lib.emails import list_unsubscribe_headers as _list_unsubscribe_headers
from subscriptions.addresses import address_hash
from subscriptions.models import Subscriber


class Purpose(StrEnum):
    CONFIRM = "confirm"
    PREFERENCES = "preferences"
    UNSUBSCRIBE = "unsubscribe"
    EMAIL_CHANGE = "email-change"
    FEEDBACK = "feedback"  # "more / less like this" links in digests


class TokenError(Exception):
    """A link that cannot be used; ``status`` is the HTTP status of the friendly page."""

    status = 400
    message = "This link is not valid. It may have been copied incompletely."


class TokenExpired(TokenError):
    message = "This link has expired."


class TokenRevoked(TokenError):
    status = 404
    message = (
        "This link is no longer valid: a newer one has been sent, or the subscription was deleted."
    )


def _max_age(purpose: Purpose) -> timedelta:
    if purpose in (Purpose.CONFIRM, Purpose.EMAIL_CHANGE):
        return timedelta(days=settings.SUBSCRIPTIONS_CONFIRM_LINK_DAYS)
    return timedelta(days=settings.SUBSCRIPTIONS_MANAGE_LINK_DAYS)


def _signer(purpose: Purpose) -> signing.TimestampSigner:
    return signing.TimestampSigner(salt=f"subscriptions.{purpose}")


def _extra(subscriber: Subscriber, purpose: Purpose) -> str:
    # An email-change link is bound to the address it was sent to, so asking for a second new
    # address invalidates the first link. Only a hash prefix travels, never the address.
    if purpose is Purpose.EMAIL_CHANGE:
        return address_hash(subscriber.pending_email)[:16]
    return ""


def token_make(*, subscriber: Subscriber, purpose: Purpose) -> str:
    parts = [subscriber.public_id.hex, str(subscriber.link_version)]
    extra = _extra(subscriber, purpose)
    if extra:
        parts.append(extra)
    return _signer(purpose).sign(".".join(parts))


def token_subscriber(*, token: str, purpose: Purpose) -> Subscriber:
    """The subscriber a token was made for; raises a ``TokenError`` for anything else."""
    try:
        value = _signer(purpose).unsign(token[:300], max_age=_max_age(purpose))
    except signing.SignatureExpired:
        raise TokenExpired from None
    except signing.BadSignature:
        raise TokenError from None
    public_id, version, *extra = value.split(".")
    try:
        subscriber = Subscriber.objects.get(public_id=uuid.UUID(hex=public_id))
    except (Subscriber.DoesNotExist, ValueError):
        raise TokenRevoked from None
    if str(subscriber.link_version) != version or extra != (
        [_extra(subscriber, purpose)] if extra else []
    ):
        raise TokenRevoked
    if purpose is Purpose.EMAIL_CHANGE and not subscriber.pending_email:
        raise TokenRevoked
    return subscriber


def _absolute(name: str, subscriber: Subscriber, purpose: Purpose) -> str:
    path = reverse(name, kwargs={"token": token_make(subscriber=subscriber, purpose=purpose)})
    return settings.SITE_URL + path


def confirm_url(subscriber: Subscriber) -> str:
    return _absolute("subscriptions:confirm", subscriber, Purpose.CONFIRM)


def preferences_url(subscriber: Subscriber) -> str:
    return _absolute("subscriptions:preferences", subscriber, Purpose.PREFERENCES)


def unsubscribe_url(subscriber: Subscriber) -> str:
    return _absolute("subscriptions:unsubscribe", subscriber, Purpose.UNSUBSCRIBE)


def email_change_url(subscriber: Subscriber) -> str:
    return _absolute("subscriptions:email_change_confirm", subscriber, Purpose.EMAIL_CHANGE)


def list_unsubscribe_headers(subscriber: Subscriber) -> dict[str, str]:
    """The ``List-Unsubscribe`` and ``List-Unsubscribe-Post`` headers for mail to ``subscriber``."""
    return _list_unsubscribe_headers(url=unsubscribe_url(subscriber))
