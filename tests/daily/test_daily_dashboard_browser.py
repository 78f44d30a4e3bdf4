"""The dashboard in Debian's Chromium: it renders its charts, breaks no CSP rule; a screenshot."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from subscriptions.models import Subscriber
from tests.subscriptions.test_browser import SCREENSHOTS, browser_page  # noqa: F401

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_staff_see_the_dashboard_charts(browser_page, live_server):  # noqa: F811
    get_user_model().objects.create_superuser("dash-staff", "staff@example.com", "dash-pass-4242")
    for n in range(5):
        Subscriber.objects.create(
            email=f"d{n}@example.com", status="active", confirmed_at=timezone.now()
        )
    page = browser_page
    violations: list[str] = []
    page.on(
        "console", lambda m: violations.append(m.text) if "Content Security" in m.text else None
    )
    page.goto(live_server.url + "/admin/login/?next=/admin/")
    page.get_by_label("Username").fill("dash-staff")
    page.get_by_label("Password").fill("dash-pass-4242")
    page.get_by_role("button", name="Log in").click()
    page.get_by_role(
        "link", name="Dashboard: subscribers, emails, topics, papers and daily runs"
    ).click()
    page.get_by_role("heading", name="Subscribers per day: new, confirmed, unsubscribed").wait_for()
    assert page.locator("svg.chart").count() == 5
    assert page.locator("svg.chart").first.bounding_box()["width"] > 300
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "admin-dashboard.png"), full_page=True)
    assert violations == []
