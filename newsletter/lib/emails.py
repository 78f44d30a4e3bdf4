"""Every email the service sends, built the same way.

Each kind ``<kind>`` has three templates: ``emails/<kind>-subject.txt``, ``emails/<kind>-body.txt``
and ``emails/<kind>-body.html``. The sender and reply-to come from settings. The public functions
take plain values (addresses, URLs, lists) so this module imports nothing but Django.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string


def list_unsubscribe_headers(*, url: str, mailto: str = "") -> dict[str, str]:
    """RFC 2369 + RFC 8058 headers: mail clients show a button that POSTs to ``url``."""
    targets = [f"<{url}>"]
    if mailto:
        targets.append(f"<mailto:{mailto}>")
    return {
        "List-Unsubscribe": ", ".join(targets),
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }


def build(
    kind: str,
    *,
    to: str,
    context: Mapping[str, Any],
    headers: Mapping[str, str] | None = None,
    html: bool = True,
) -> EmailMultiAlternatives:
    """Render the three templates of ``kind`` into one message to ``to`` (not sent)."""
    ctx = {"site_name": settings.SITE_NAME, "site_url": settings.SITE_URL, **context}
    # Templates may wrap lines; a subject is one line.
    subject = " ".join(render_to_string(f"emails/{kind}-subject.txt", ctx).split())
    text = render_to_string(f"emails/{kind}-body.txt", ctx)
    message = EmailMultiAlternatives(
        subject=subject,
        body=text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[to],
        reply_to=[settings.REPLY_TO_EMAIL] if settings.REPLY_TO_EMAIL else None,
        headers=dict(headers or {}),
    )
    if html:
        message.attach_alternative(render_to_string(f"emails/{kind}-body.html", ctx), "text/html")
    return message


def send(
    kind: str,
    *,
    to: str,
    context: Mapping[str, Any],
    headers: Mapping[str, str] | None = None,
    html: bool = True,
) -> None:
    build(kind, to=to, context=context, headers=headers, html=html).send()


def confirmation(
    *, to: str, confirm_url: str, valid_days: int, topics: list[str], keywords: list[str]
) -> None:
    """Double opt-in: the link that turns a signup into a subscription."""
    context = {
        "confirm_url": confirm_url,
        "valid_days": valid_days,
        "topics": topics,
        "keywords": keywords,
    }
    send("confirmation", to=to, context=context)


def welcome(*, to: str, preferences_url: str, unsubscribe_url: str) -> None:
    """Sent once the subscription is confirmed."""
    send(
        "welcome",
        to=to,
        context={"preferences_url": preferences_url, "unsubscribe_url": unsubscribe_url},
        headers=list_unsubscribe_headers(url=unsubscribe_url),
    )


def manage(*, to: str, preferences_url: str, status_label: str) -> None:
    """Sent instead of a confirmation when a known subscriber signs up again or asks for a link."""
    send(
        "manage", to=to, context={"preferences_url": preferences_url, "status_label": status_label}
    )


def email_change(*, to: str, confirm_url: str, valid_days: int) -> None:
    """Sent to a new address: the subscription moves there when its owner clicks.

    It does not name the old address: the new one may be a typo that reaches a stranger.
    """
    send("email-change", to=to, context={"confirm_url": confirm_url, "valid_days": valid_days})
