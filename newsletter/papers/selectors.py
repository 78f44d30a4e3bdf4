"""Reads for pages and later stages (digests, matching, the daily run, the home page): which
papers are listed on a day or in a week, the latest listed, and how a day's ingest runs went."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime

from django.db.models import Max, QuerySet

from newsletter.lib import days
from newsletter.papers.models import IngestRun, ListingEntry, Paper


def recent_papers(*, limit: int = 5) -> QuerySet[Paper]:
    """The papers listed most recently, up to the current listing day (latest listing date
    first, then the newest seen)."""
    return (
        Paper.objects.filter(listings__listing_date__lte=days.listing_day_now())
        .annotate(last_listed=Max("listings__listing_date"))
        .filter(last_listed__isnull=False)
        .order_by("-last_listed", "-first_seen", "-id")[:limit]
    )


def listings_in(*, day: date, since: date | None = None) -> QuerySet[ListingEntry]:
    """The listing entries of ``day`` (or of every day from ``since`` to ``day``: a week)."""
    return ListingEntry.objects.filter(listing_date__range=(since or day, day))


def papers_listed(*, day: date, since: date | None = None) -> list[int]:
    """The ids of the papers listed on ``day`` (or from ``since`` to ``day``), in id order."""
    return sorted(set(listings_in(day=day, since=since).values_list("paper_id", flat=True)))


def ingest_outcomes(*, expected: Iterable[Sequence], since: datetime) -> dict[tuple[int, str], str]:
    """The latest status of each expected (source id, ISO day) among the ingest runs started
    since ``since`` ("" = none started)."""
    wanted = {(int(source_id), day) for source_id, day in expected}
    outcomes = dict.fromkeys(wanted, "")
    if not wanted:
        return outcomes
    runs = IngestRun.objects.filter(
        source_id__in={source_id for source_id, _ in wanted},
        listing_date__in={date.fromisoformat(day) for _, day in wanted},
        started_at__gte=since,
    ).order_by("started_at", "pk")
    for source_id, listing_date, status in runs.values_list("source_id", "listing_date", "status"):
        key = (source_id, listing_date.isoformat())
        if key in outcomes:
            outcomes[key] = status
    return outcomes
