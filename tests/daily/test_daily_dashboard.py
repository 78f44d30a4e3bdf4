"""The admin dashboard: linked from the admin index, charts drawn on the server, labels escaped."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.utils import timezone

from newsletter.daily.dashboard import dashboard_context, svg_bars
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


def test_a_daily_run_shows_its_stages_in_the_admin(admin_client):
    run = DailyRun.objects.create(
        day=date(2026, 3, 3),
        state="partial",
        started_at=timezone.now(),
        ingest_deadline=timezone.now(),
        notes="went on without late sources: Slow",
        stages={"ingest": {"status": "partial", "seconds": 7200.0, "late": 1}},
    )
    listing = admin_client.get("/admin/daily/dailyrun/").content.decode()
    assert "partial (7200 s)" in listing
    page = admin_client.get(f"/admin/daily/dailyrun/{run.pk}/change/").content.decode()
    assert "went on without late sources: Slow" in page and "&quot;late&quot;: 1" in page


def test_strangers_are_sent_to_the_login(client):
    response = client.get("/admin/daily/dailyrun/dashboard/")
    assert response.status_code == 302 and "/login/" in response["Location"]
