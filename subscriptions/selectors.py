"""Reads about subscribers and topics."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Q, QuerySet

from subscriptions.addresses import address_hash_variants
from subscriptions.models import Subscriber, SuppressedAddress, Topic


def topics_active() -> QuerySet[Topic]:
    return Topic.objects.filter(active=True)


def topics_grouped(topics: list[Topic]) -> list[tuple[str, list[Topic]]]:
    """``topics`` as (group heading, topics) pairs, groups in the order of their first topic."""
    groups: dict[str, list[Topic]] = {}
    for topic in topics:
        groups.setdefault(topic.group, []).append(topic)
    return list(groups.items())


def topics_with_counts() -> QuerySet[Topic]:
    """Topics with ``subscriber_count`` (active subscribers) and ``total_count`` (any status)."""
    return Topic.objects.annotate(
        subscriber_count=Count(
            "subscribers", filter=Q(subscribers__status=Subscriber.Status.ACTIVE)
        ),
        total_count=Count("subscribers"),
    )


def address_is_suppressed(*, address: str) -> bool:
    """True when the suppression list holds ``address`` (under the keyed or the legacy hash)."""
    return SuppressedAddress.objects.filter(
        address_hash__in=address_hash_variants(address)
    ).exists()


def addresses_suppressed(*, addresses: list[str]) -> set[str]:
    """Those of ``addresses`` the suppression list holds (one query for any number)."""
    by_hash = {h: address for address in set(addresses) for h in address_hash_variants(address)}
    if not by_hash:
        return set()
    found = SuppressedAddress.objects.filter(address_hash__in=list(by_hash)).values_list(
        "address_hash", flat=True
    )
    return {by_hash[h] for h in found}


def subscribers_deliverable() -> QuerySet[Subscriber]:
    """Active subscribers with topics and interests prefetched: two extra queries for any number."""
    return Subscriber.objects.filter(status=Subscriber.Status.ACTIVE).prefetch_related(
        "topics", "interests"
    )


def subscriber_export(*, subscriber: Subscriber) -> dict[str, Any]:
    """Everything stored about ``subscriber``, for "download my data"."""

    def when(value):
        return value.isoformat() if value else None

    return {
        "email": subscriber.email,
        "pending_email": subscriber.pending_email or None,
        "status": subscriber.status,
        "created_at": when(subscriber.created_at),
        "confirmed_at": when(subscriber.confirmed_at),
        "unsubscribed_at": when(subscriber.unsubscribed_at),
        "last_emailed_at": when(subscriber.last_emailed_at),
        "preferences": {
            "frequency": subscriber.frequency,
            "weekday": subscriber.get_weekday_display()
            if subscriber.frequency == "weekly"
            else None,
            "send_hour": subscriber.send_hour,
            "timezone": subscriber.timezone,
            "max_papers": subscriber.max_papers,
            "format": subscriber.format,
            "trending": subscriber.trending,
            "quiet_day_note": subscriber.quiet_day_note,
        },
        "topics": [{"slug": t.slug, "name": t.name} for t in subscriber.topics.all()],
        "keywords": subscriber.keywords,
        "excluded_terms": subscriber.excluded_terms,
        "followed_authors": subscriber.followed_authors,
        "liked_papers": subscriber.liked_papers,
        "consent_history": [
            {
                "action": c.action,
                "at": when(c.created_at),
                "ip": c.ip,
                "user_agent": c.user_agent,
                "form_version": c.form_version,
                "note": c.note,
            }
            for c in subscriber.consents.all()
        ],
    }
