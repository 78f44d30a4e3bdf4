"""The admin at 1,280 px in Debian's Chromium: the dashboard with many sources, the Deliveries and
Digests lists; nothing wider than the window, every legend entry inside the page; screenshots."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from newsletter.daily.models import DailyRun
from newsletter.delivery.models import Delivery
from newsletter.digests.models import Digest
from newsletter.papers.models import IngestRun, Source
from subscriptions.models import Subscriber
from tests.browser import SCREENSHOTS, chromium

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

WIDTH = 1280
SOURCES = 9  # more than the six fixed colours


@pytest.fixture
def busy_month():
    now = timezone.now()
    today = now.date()
    for n in range(SOURCES):
        source = Source.objects.create(
            name=f"arXiv listing number {n} for a long category name",
            format="arxiv-html",
            url_template=f"https://example.org/{n}/{{date}}",
        )
        for back in range(30):
            failing = n == 0 and back < 4  # the first source has failed for four days
            IngestRun.objects.create(
                source=source,
                listing_date=today - timedelta(days=back),
                status="failed" if failing else "ok",
                started_at=now,
                new_count=0 if failing else (n * 7 + back) % 40,
            )
    DailyRun.objects.create(
        day=today - timedelta(days=1),
        state="failed",
        started_at=now,
        ingest_deadline=now,
        stages={"ingest": {"status": "ok", "seconds": 12.5}, "matching": {"status": "running"}},
        ingest_expected=[[1, today.isoformat()]],
        notes="still not finished a day after its last send time",
    )
    for n in range(30):
        reader = Subscriber.objects.create(
            email=f"a-rather-long-reader-address-number-{n}@university-department.example.org",
            status="active",
            confirmed_at=now,
        )
        Delivery.objects.create(
            kind="digest",
            key=f"{reader.pk}:{today}",
            subscriber=reader,
            to_email=reader.email,
            state="failed" if n % 3 else "sent",
            attempts=3,
            sent_at=None if n % 3 else now,
            last_error=(
                "SMTPRecipientsRefused: {'" + reader.email + "': (550, b'5.1.1 The email account "
                "that you tried to reach does not exist. Please try double-checking the "
                "recipient address for typos or unnecessary spaces.')}"
            ),
        )
        Digest.objects.create(subscriber=reader, day=today, since=today, papers_count=n % 11)


def test_the_admin_fits_1280_px_and_shows_every_series(busy_month, live_server):
    get_user_model().objects.create_superuser("wide-staff", "staff@example.com", "wide-pass-4242")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with chromium() as browser:
        page = browser.new_page(viewport={"width": WIDTH, "height": 900})
        page.set_default_timeout(15_000)
        page.goto(live_server.url + "/admin/login/?next=/admin/")
        page.get_by_label("Username").fill("wide-staff")
        page.get_by_label("Password").fill("wide-pass-4242")
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url("**/admin/")
        for name, path in (
            ("admin-dashboard-1280", "/admin/daily/dailyrun/dashboard/"),
            ("admin-deliveries-1280", "/admin/delivery/delivery/"),
            ("admin-digests-1280", "/admin/digests/digest/"),
        ):
            page.goto(live_server.url + path)
            page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
            scroll_width = page.evaluate("document.documentElement.scrollWidth")
            assert scroll_width <= WIDTH, f"{path} is {scroll_width} px wide"
        page.goto(live_server.url + "/admin/daily/dailyrun/dashboard/")
        warnings = page.locator(".messagelist .error").all_inner_texts()
        assert any("failed 4 days in a row" in text for text in warnings), warnings
        legend = page.locator(".chart-legend").last.locator("li")
        assert legend.count() == SOURCES
        for item in legend.all():
            box = item.bounding_box()
            assert box["x"] >= 0 and box["x"] + box["width"] <= WIDTH
        for path in ("/admin/delivery/delivery/", "/admin/digests/digest/"):
            page.goto(live_server.url + path)
            results = page.locator(".results")  # the admin scrolls a too wide table sideways
            hidden = results.evaluate("e => e.scrollWidth - e.clientWidth")
            assert hidden <= 0, f"{path}: {hidden} px of the list are scrolled out of sight"
            rows = page.locator("#result_list tbody tr").first.bounding_box()
            assert rows["height"] < 80, f"{path}: a row is {rows['height']} px high"
