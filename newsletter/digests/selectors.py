"""The digest's own rules, read by every door: who is due on a day, the weekly window, a digest
worth an email, and the delivery key of a digest (``"<subscriber id>:<YYYY-MM-DD>"``).

The daily run (beat and ``run_daily``), ``send_digests`` and the admin all ask these, so one
reader gets the same digest through each of them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime

from django.db.models import Q, QuerySet

from newsletter.delivery.models import Delivery
from newsletter.digests.models import Digest
from newsletter.lib import days
from subscriptions.models import Subscriber

KIND = "digest"


def digest_key(*, subscriber_id: int, day: date) -> str:
    """The delivery key of a subscriber's digest of ``day``."""
    return f"{subscriber_id}:{day.isoformat()}"


def digest_key_day(key: str) -> date:
    """The listing day a digest delivery key names (ValueError for a key that names none)."""
    return date.fromisoformat(key.rpartition(":")[2])


def digest_deliveries(*, day: date) -> QuerySet[Delivery]:
    """The digest emails of ``day`` on the delivery ledger."""
    return Delivery.objects.filter(kind=KIND, key__endswith=f":{day.isoformat()}")


def digest_deliveries_by_state(*, day: date) -> dict[str, int]:
    """The digest emails of ``day`` by state."""
    rows = digest_deliveries(day=day).values_list("state").order_by()
    return dict(Counter(state for (state,) in rows))


def digest_since(*, frequency: str, day: date) -> date | None:
    """The first listing day a digest of ``day`` covers: the week for a weekly reader, else
    None (the day alone)."""
    return days.week_since(day) if frequency == Subscriber.Frequency.WEEKLY else None


def digest_wanted(digest: Digest) -> bool:
    """Whether ``digest`` is worth an email: papers, or a quiet day its reader asked to hear of."""
    return digest.papers_count > 0 or digest.subscriber.quiet_day_note


def digests_wanted(*, day: date) -> QuerySet[Digest]:
    """The digests of ``day`` worth an email (``digest_wanted``, as a query)."""
    return Digest.objects.filter(day=day).filter(
        Q(papers_count__gt=0) | Q(subscriber__quiet_day_note=True)
    )


# --- Who is due -------------------------------------------------------------------------------


@dataclass
class Due:
    """Subscribers due by a moment who have no digest of the day yet."""

    daily: list[int] = field(default_factory=list)
    weekly: list[int] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.daily) + len(self.weekly)


def _active(email: str | None = None) -> QuerySet[Subscriber]:
    queryset = Subscriber.objects.filter(status=Subscriber.Status.ACTIVE)
    return queryset.filter(email=email) if email else queryset


def _slots(email: str | None) -> list[tuple[str, int]]:
    return list(_active(email).values_list("timezone", "send_hour").distinct().order_by())


def _slot_filter(day: date, slots: Iterable[tuple[str, int]]) -> Q:
    """Daily subscribers in ``slots``, and weekly ones for whom ``days.weekly_due`` holds."""
    by_zone: dict[str, list[int]] = {}
    weekly_q = Q()
    for tz, send_hour in slots:
        by_zone.setdefault(tz, []).append(send_hour)
        weekday = days.send_weekday(day=day, tz_name=tz, hour=send_hour)
        weekly_q |= Q(timezone=tz, send_hour=send_hour, weekday=weekday)
    if not by_zone:
        return Q(pk__in=[])
    daily_q = Q()
    for tz, hours in by_zone.items():
        daily_q |= Q(timezone=tz, send_hour__in=hours)
    return (
        Q(frequency=Subscriber.Frequency.DAILY) & daily_q
        | Q(frequency=Subscriber.Frequency.WEEKLY) & weekly_q
    )


def subscribers_due(
    *, day: date, until: datetime, after: datetime | None = None, email: str | None = None
) -> Due:
    """Active subscribers whose digest of ``day`` is due by ``until`` (and not yet by ``after``,
    when given) and who have none yet: daily readers at their send time, weekly readers when
    that send time falls on their weekday (``days.weekly_due``)."""
    slots = _slots(email)
    due = set(days.due_slots(day=day, slots=slots, until=until))
    if after is not None:
        due -= set(days.due_slots(day=day, slots=slots, until=after))
    result = Due()
    if not due:
        return result
    queryset = (
        _active(email)
        .filter(_slot_filter(day, due))
        .exclude(pk__in=Digest.objects.filter(day=day).values("subscriber_id"))
    )
    for pk, frequency in queryset.order_by("pk").values_list("pk", "frequency"):
        (result.weekly if frequency == Subscriber.Frequency.WEEKLY else result.daily).append(pk)
    return result


def weekly_not_due(*, day: date, email: str | None = None) -> int:
    """How many active weekly readers get no digest with listing ``day`` (not their weekday)."""
    weekly = _active(email).filter(frequency=Subscriber.Frequency.WEEKLY)
    slots = weekly.values_list("timezone", "send_hour").distinct().order_by()
    return weekly.exclude(_slot_filter(day, slots)).count()
