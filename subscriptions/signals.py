"""How subscriptions asks for an email without knowing who sends it.

``subscriptions`` imports none of the pipeline apps, so it does not send mail itself: it sends
``email_requested`` inside the transaction that decided the email, and the delivery app records it
on its send ledger in that same transaction and sends it from a worker after commit. A web request
therefore never waits for (or fails because of) the email provider.

Keyword arguments: ``kind`` ("confirmation", "manage", "welcome" or "email-change"), ``key``
(unique within the kind: a repeated request with the same key is one email), ``subscriber`` and
``to_email``.
"""

from __future__ import annotations

import logging

from django.dispatch import Signal

from subscriptions.models import Subscriber

logger = logging.getLogger(__name__)

email_requested = Signal()


def email_request(*, kind: str, key: str, subscriber: Subscriber, to_email: str) -> None:
    if not email_requested.has_listeners(Subscriber):
        logger.error("no app sends %s emails: is newsletter.delivery installed?", kind)
    email_requested.send(
        sender=Subscriber, kind=kind, key=key, subscriber=subscriber, to_email=to_email
    )
