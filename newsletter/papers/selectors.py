"""Reads for pages and later stages (digests, the home page)."""

from __future__ import annotations

from django.db.models import Max, QuerySet

from newsletter.papers.models import Paper


def recent_papers(*, limit: int = 5) -> QuerySet[Paper]:
    """The papers listed most recently (latest listing date first, then the newest seen)."""
    return (
        Paper.objects.annotate(last_listed=Max("listings__listing_date"))
        .filter(last_listed__isnull=False)
        .order_by("-last_listed", "-first_seen", "-id")[:limit]
    )
