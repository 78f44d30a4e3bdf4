"""The admin dashboard: what happened over the last weeks, read from the tables, drawn as inline SVG.

Selectors return plain numbers; ``svg_lines`` and ``svg_bars`` draw them server-side (no
JavaScript, no CDN). Every label is escaped.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta

from django.db.models import Count, Q, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from newsletter.daily.models import DailyRun
from newsletter.delivery.models import Delivery, TrackingEvent
from newsletter.papers.models import IngestRun
from subscriptions.models import Subscriber, Topic

COLOURS = ("#2563eb", "#16a34a", "#dc2626", "#d97706", "#7c3aed", "#0891b2")
# After the six colours come new hues, each round of them with its own dash pattern too.
DASHES = ("", "8 4", "2 3", "8 3 2 3")
FAILING_DAYS = 3  # a source failing this many listing days in a row is flagged on the dashboard


def series_style(number: int) -> tuple[str, str]:
    """(colour, dash pattern) of the series at ``number``: distinct however many there are."""
    if number < len(COLOURS):
        return COLOURS[number], ""
    hue = (number * 137.508) % 360  # the golden angle: hues that stay apart
    return f"hsl({hue:.0f}, 70%, 38%)", DASHES[(number // len(COLOURS)) % len(DASHES)]


def _days(end: date, count: int) -> list[date]:
    return [end - timedelta(days=n) for n in range(count - 1, -1, -1)]


def _per_day(queryset, field: str, since: date) -> dict[date, int]:
    rows = (
        queryset.filter(**{f"{field}__date__gte": since})
        .annotate(day=TruncDate(field))
        .values("day")
        .annotate(n=Count("pk"))
        .order_by()
    )
    return {row["day"]: row["n"] for row in rows}


def subscribers_per_day(*, days: list[date]) -> dict[str, list[int]]:
    since = days[0]
    series = {
        "new": _per_day(Subscriber.objects.all(), "created_at", since),
        "confirmed": _per_day(Subscriber.objects.all(), "confirmed_at", since),
        "unsubscribed": _per_day(Subscriber.objects.all(), "unsubscribed_at", since),
    }
    return {name: [values.get(day, 0) for day in days] for name, values in series.items()}


def emails_per_day(*, days: list[date]) -> dict[str, list[int]]:
    since = days[0]
    series = {
        "sent": _per_day(Delivery.objects.filter(state=Delivery.State.SENT), "sent_at", since),
        "bounced": _per_day(
            TrackingEvent.objects.filter(event_type="bounced"), "received_at", since
        ),
        "complained": _per_day(
            TrackingEvent.objects.filter(event_type="complained"), "received_at", since
        ),
    }
    return {name: [values.get(day, 0) for day in days] for name, values in series.items()}


def deliveries_today(*, today: date) -> list[tuple[str, int]]:
    rows = (
        Delivery.objects.filter(created_at__date=today)
        .values("state")
        .annotate(n=Count("pk"))
        .order_by()
    )
    counts = {row["state"]: row["n"] for row in rows}
    return [(label, counts.get(value, 0)) for value, label in Delivery.State.choices]


def top_topics(*, limit: int = 10) -> list[tuple[str, int]]:
    rows = (
        Topic.objects.annotate(
            n=Count("subscribers", filter=Q(subscribers__status=Subscriber.Status.ACTIVE))
        )
        .filter(n__gt=0)
        .order_by("-n", "name")[:limit]
    )
    return [(topic.name, topic.n) for topic in rows]


def papers_per_source(*, days: list[date]) -> dict[str, list[int]]:
    rows = (
        IngestRun.objects.filter(listing_date__gte=days[0], listing_date__lte=days[-1])
        .values("source__name", "listing_date")
        .annotate(n=Sum("new_count"))
        .order_by()
    )
    series: dict[str, dict[date, int]] = defaultdict(dict)
    for row in rows:
        name = row["source__name"] or "by hand"
        series[name][row["listing_date"]] = row["n"] or 0
    return {name: [values.get(day, 0) for day in days] for name, values in sorted(series.items())}


def ingest_warnings(*, today: date, failing_days: int = FAILING_DAYS) -> list[str]:
    """What staff must see first: every source failed on the last listing day ingested, or a
    source has failed ``failing_days`` listing days in a row (the day's last attempt counts)."""
    rows = (
        IngestRun.objects.filter(source__enabled=True, listing_date__gte=today - timedelta(days=60))
        .order_by("source_id", "-listing_date", "-started_at", "-pk")
        .values_list("source__name", "listing_date", "status")
    )
    latest: dict[str, dict[date, str]] = defaultdict(dict)
    for name, day, status in rows:
        latest[name].setdefault(day, status)  # the day's newest attempt
    warnings = []
    last_day = max((day for days in latest.values() for day in days), default=None)
    on_last = [days[last_day] for days in latest.values() if last_day in days]
    if on_last and all(status == IngestRun.Status.FAILED for status in on_last):
        warnings.append(f"Every source failed on the last run ({last_day:%a %d %b %Y}).")
    for name, days in sorted(latest.items()):
        streak = 0
        for day in sorted(days, reverse=True):
            if days[day] != IngestRun.Status.FAILED:
                break
            streak += 1
        if streak >= failing_days:
            warnings.append(f"{name} has failed {streak} days in a row.")
    return warnings


def dashboard_context(*, today: date | None = None, days: int = 30) -> dict:
    """Everything the dashboard page shows."""
    today = today or timezone.now().date()
    span = _days(today, days)
    labels = [day.strftime("%d %b") for day in span]
    return {
        "today": today,
        "subscribers_chart": svg_lines(subscribers_per_day(days=span), labels),
        "emails_chart": svg_lines(emails_per_day(days=span), labels),
        "deliveries_chart": svg_bars(deliveries_today(today=today)),
        "topics_chart": svg_bars(top_topics()),
        "papers_chart": svg_lines(papers_per_source(days=span), labels),
        "runs": DailyRun.objects.order_by("-day")[:14],
        "active": Subscriber.objects.filter(status=Subscriber.Status.ACTIVE).count(),
        "warnings": ingest_warnings(today=today),
    }


# --- Drawing -------------------------------------------------------------------------------


def svg_lines(
    series: dict[str, list[int]], labels: list[str], *, width: int = 720, height: int = 220
) -> SafeString:
    """One polyline per series over ``labels`` (x), a y axis from 0 to the largest value; the
    legend below it in HTML, which wraps however many series and however long their names."""
    peak = max([1, *(value for values in series.values() for value in values)])
    left, right, top, bottom = 14 + 7 * len(str(peak)), 10, 10, 24
    plot_w, plot_h = width - left - right, height - top - bottom
    step = plot_w / max(len(labels) - 1, 1)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="100%" role="img" class="chart" fill="currentColor">',
        f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}" '
        'stroke="#999"/>',
        f'<text x="{left - 6}" y="{top + 8}" text-anchor="end" font-size="11">{peak}</text>',
        f'<text x="{left - 6}" y="{top + plot_h}" text-anchor="end" font-size="11">0</text>',
    ]
    for index, label in enumerate(labels):
        if index % max(len(labels) // 6, 1) == 0 or index == len(labels) - 1:
            x = left + index * step
            # The first and last labels end inside the chart, not half outside it.
            anchor = "start" if index == 0 else "end" if index == len(labels) - 1 else "middle"
            parts.append(
                f'<text x="{x:.1f}" y="{height - bottom + 16}" text-anchor="{anchor}" '
                f'font-size="11">{escape(label)}</text>'
            )
    legend = []
    for number, (name, values) in enumerate(series.items()):
        colour, dash = series_style(number)
        line = f'stroke="{colour}" stroke-width="2" stroke-dasharray="{dash}"'
        points = " ".join(
            f"{left + i * step:.1f},{top + plot_h - plot_h * value / peak:.1f}"
            for i, value in enumerate(values)
        )
        parts.append(
            f'<polyline fill="none" {line} points="{points}">'
            f"<title>{escape(name)}: {sum(values)} in all</title></polyline>"
        )
        legend.append(
            f'<li><svg width="24" height="10" aria-hidden="true"><line x1="0" y1="5" x2="24" '
            f'y2="5" {line}/></svg> {escape(name)} ({sum(values)})</li>'
        )
    parts.append(f'</svg><ul class="chart-legend">{"".join(legend)}</ul>')
    return mark_safe("".join(parts))  # noqa: S308 - every label above is escaped


def svg_bars(items: list[tuple[str, int]], *, width: int = 720, bar: int = 22) -> SafeString:
    """Horizontal bars, one per (label, value)."""
    label_w, gap = 200, 6
    height = max(len(items), 1) * (bar + gap) + gap
    peak = max([1, *(value for _, value in items)])
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="100%" role="img" class="chart" fill="currentColor">'
    ]
    if not items:
        parts.append(f'<text x="0" y="{bar}" font-size="12">nothing yet</text>')
    for index, (label, value) in enumerate(items):
        y = gap + index * (bar + gap)
        length = (width - label_w - 60) * value / peak
        parts.append(
            f'<text x="{label_w - 8}" y="{y + bar * 0.7:.1f}" text-anchor="end" '
            f'font-size="12">{escape(_shortened(str(label), 28))}<title>{escape(label)}</title>'
            "</text>"
            f'<rect x="{label_w}" y="{y}" width="{length:.1f}" height="{bar}" '
            f'fill="{COLOURS[0]}"/>'
            f'<text x="{label_w + length + 6:.1f}" y="{y + bar * 0.7:.1f}" '
            f'font-size="12">{value}</text>'
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every label above is escaped


def _shortened(text: str, length: int) -> str:
    return text if len(text) <= length else text[: length - 1] + "…"
