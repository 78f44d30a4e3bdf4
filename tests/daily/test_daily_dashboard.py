"""The admin dashboard: linked from the admin index, charts drawn on the server, labels escaped."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
import time_machine
from django.utils import timezone

from newsletter.daily.dashboard import dashboard_context, ingest_warnings, svg_bars, svg_lines
from newsletter.daily.models import DailyRun
from newsletter.delivery.models import Delivery, TrackingEvent
from newsletter.papers.models import IngestRun, Source
from subscriptions.models import Subscriber, Topic

pytestmark = pytest.mark.django_db


@pytest.fixture
def history():
    now = timezone.now()
    topic = Topic.objects.create(slug="dash", name="<b>Graphs</b>", group="g", description="d")
    for n in range(3):
        reader = Subscriber.objects.create(
            email=f"r{n}@example.com", status="active", confirmed_at=now
        )
        reader.topics.add(topic)
        Delivery.objects.create(
            kind="digest",
            key=f"{reader.pk}:x",
            subscriber=reader,
            to_email=reader.email,
            state="sent" if n else "queued",
            sent_at=now if n else None,
        )
    TrackingEvent.objects.create(provider="postmark", event_id="1", event_type="bounced")
    source = Source.objects.create(name="HF", format="hf-json", url_template="https://x/{date}")
    IngestRun.objects.create(
        source=source, listing_date=now.date(), status="ok", started_at=now, new_count=12
    )
    DailyRun.objects.create(
        day=now.date() - timedelta(days=1),
        state="done",
        started_at=now,
        ingest_deadline=now,
        candidates=12,
    )


def test_the_numbers_are_the_days_counts(history):
    context = dashboard_context()
    assert "3)" in context["subscribers_chart"]  # the legend says "new (3)"
    assert "sent (2)" in context["emails_chart"] and "bounced (1)" in context["emails_chart"]
    assert "papers" in context or "HF (12)" in context["papers_chart"]
    assert context["active"] == 3


def test_labels_are_escaped_in_the_svg():
    chart = svg_bars([("<script>alert(1)</script>", 3)])
    assert "<script>" not in chart and "&lt;script&gt;" in chart


def test_staff_reach_it_from_the_admin_index(admin_client, history):
    index = admin_client.get("/admin/").content.decode()
    assert "/admin/daily/dailyrun/dashboard/" in index
    response = admin_client.get("/admin/daily/dailyrun/dashboard/")
    page = response.content.decode()
    assert response.status_code == 200
    assert page.count('class="chart"') == 5 and "&lt;b&gt;Graphs&lt;/b&gt;" in page
    assert "cdn" not in page.lower()


def run_make(day: date, state: str, **fields) -> DailyRun:
    now = timezone.now()
    return DailyRun.objects.create(
        day=day, state=state, started_at=now, ingest_deadline=now, **fields
    )


def test_a_daily_run_shows_its_stages_in_the_admin(admin_client):
    run = run_make(
        date(2026, 3, 3),
        "partial",
        notes="went on without late sources: Slow",
        stages={"ingest": {"status": "partial", "seconds": 7200.0, "late": 1}},
    )
    listing = admin_client.get("/admin/daily/dailyrun/").content.decode()
    assert "partial (7200 s)" in listing
    page = admin_client.get(f"/admin/daily/dailyrun/{run.pk}/change/").content.decode()
    assert "went on without late sources: Slow" in page
    assert "<tr><th>late</th><td>1</td></tr>" in page and "&quot;" not in page.split("stages")[-1]


def test_strangers_are_sent_to_the_login(client):
    response = client.get("/admin/daily/dailyrun/dashboard/")
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_a_failed_run_shows_no_stage_still_running(admin_client):
    run = run_make(
        date(2026, 3, 4),
        "failed",
        stages={"ingest": {"status": "ok", "seconds": 3}, "sending": {"status": "running"}},
    )
    listing = admin_client.get("/admin/daily/dailyrun/").content.decode()
    page = admin_client.get(f"/admin/daily/dailyrun/{run.pk}/change/").content.decode()
    assert "running" not in listing and "running" not in page
    assert "interrupted" in listing and "<td>interrupted</td>" in page


def test_the_ingest_fields_are_tables_with_source_names_escaped(admin_client):
    source = Source.objects.create(name="<i>Slow</i> feed", format="hf-json", url_template="x")
    run = run_make(
        date(2026, 3, 5),
        "done",
        ingest_expected=[[source.pk, "2026-03-05"]],
        ingest_retries={f"{source.pk}:2026-03-05": 2},
    )
    page = admin_client.get(f"/admin/daily/dailyrun/{run.pk}/change/").content.decode()
    assert "<td>&lt;i&gt;Slow&lt;/i&gt; feed</td><td>2026-03-05</td><td>2</td>" in page
    assert "<td>&lt;i&gt;Slow&lt;/i&gt; feed</td><td>2026-03-05</td></tr>" in page
    assert "[[" not in page and "<i>Slow" not in page


def test_every_series_has_its_own_line_however_many_there_are():
    series = {f"source {n} with a long name to show in full": [n, n + 1] for n in range(14)}
    chart = svg_lines(series, ["01 Mar", "02 Mar"])
    styles = re.findall(r'<polyline fill="none" (stroke="[^"]+" stroke-width="2" [^p]+)', chart)
    assert len(styles) == 14 and len(set(styles)) == 14
    assert chart.count("<li>") == 14 and "source 13 with a long name to show in full (27)" in chart


def test_the_dashboard_warns_when_every_source_failed_or_one_keeps_failing(admin_client):
    today = date(2026, 3, 10)
    now = timezone.now()
    sources = [
        Source.objects.create(name=name, format="hf-json", url_template="x")
        for name in ("Steady", "Broken")
    ]
    for back in range(5):
        for source in sources:
            failing = source.name == "Broken" or back == 0
            IngestRun.objects.create(
                source=source,
                listing_date=today - timedelta(days=back),
                status="failed" if failing else "ok",
                started_at=now,
            )
    assert ingest_warnings(today=today) == [
        "Every source failed on the last run (Tue 10 Mar 2026).",
        "Broken has failed 5 days in a row.",
    ]
    IngestRun.objects.create(source=sources[0], listing_date=today, status="ok", started_at=now)
    assert ingest_warnings(today=today) == ["Broken has failed 5 days in a row."]
    with time_machine.travel("2026-03-10 12:00:00Z"):
        page = admin_client.get("/admin/daily/dailyrun/dashboard/").content.decode()
    assert '<li class="error">Broken has failed 5 days in a row.</li>' in page
