"""Shared set-up for the daily run tests: readers, a day's listing, a dispatch that records."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from newsletter.daily import run as daily
from newsletter.delivery.services import deliveries_send
from newsletter.papers.ingest import listing_ingest
from subscriptions.models import Interest, Subscriber

LISTINGS = Path(__file__).resolve().parent.parent / "data" / "listings"
CAPTURES = sorted(LISTINGS.glob("*.txt"))


def reader(email: str, *, tz: str = "Europe/Berlin", hour: int = 7, keywords=(), **fields):
    subscriber = Subscriber.objects.create(
        email=email, status=Subscriber.Status.ACTIVE, timezone=tz, send_hour=hour, **fields
    )
    for position, keyword in enumerate(keywords):
        Interest.objects.create(
            subscriber=subscriber, kind=Interest.Kind.KEYWORD, value=keyword, position=position
        )
    return subscriber


def listing_for(day: date, *captures: Path) -> None:
    for path in captures or CAPTURES[:1]:
        listing_ingest(data=path.read_bytes(), name=path.name, listing_date=day, today=day)


@dataclass
class Recorder:
    """A Dispatch that records what the run hands out; ``run_chunks`` builds and sends them."""

    run_chunks: bool = False
    ingests: list[tuple[int, date]] = field(default_factory=list)
    chunks: list[tuple[date, list[int], bool]] = field(default_factory=list)

    def dispatch(self) -> daily.Dispatch:
        return daily.Dispatch(ingest=self._ingest, chunk=self._chunk)

    def _ingest(self, source_id: int, day: date) -> None:
        self.ingests.append((source_id, day))

    def _chunk(self, day: date, ids: list[int], weekly: bool) -> None:
        self.chunks.append((day, list(ids), weekly))
        if self.run_chunks:
            deliveries_send(
                delivery_ids=daily.digests_chunk_process(day=day, subscriber_ids=ids, weekly=weekly)
            )

    @property
    def handed_out(self) -> list[int]:
        return sorted(pk for _, ids, _ in self.chunks for pk in ids)
