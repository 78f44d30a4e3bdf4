"""The subscription emails in Debian's Chromium: no sideways scrolling on a phone, dark in dark mode.

Screenshots go to var/screenshots/ (phone and desktop width, light and dark).
"""

from __future__ import annotations

import pytest

from newsletter.lib import emails
from tests.browser import SCREENSHOTS, chromium

pytestmark = pytest.mark.slow


@pytest.fixture
def browser():
    with chromium() as browser:
        yield browser


def test_the_welcome_email_fits_a_phone_and_follows_dark_mode(browser):
    message = emails.welcome(
        to="reader@example.com",
        preferences_url="https://papers.example.org/preferences/token/",
        unsubscribe_url="https://papers.example.org/unsubscribe/token/",
        first_digest="tomorrow, Tue 8 Dec, at 07:00 Berlin time",
    )
    html = message.alternatives[0][0]
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    brightness = {}
    for scheme in ("light", "dark"):
        for width in (375, 1024):
            page = browser.new_page(viewport={"width": width, "height": 800}, color_scheme=scheme)
            page.set_content(html)
            assert page.evaluate("document.documentElement.scrollWidth") <= width
            button = page.get_by_role("link", name="Manage my preferences")
            assert button.is_visible()
            text = page.get_by_text("You are subscribed.")
            rgb = text.evaluate("el => getComputedStyle(el).color")  # "rgb(r, g, b)"
            brightness[scheme] = sum(int(v) for v in rgb[rgb.index("(") + 1 : -1].split(","))
            page.screenshot(
                path=SCREENSHOTS / f"email-welcome-{width}-{scheme}.png", full_page=True
            )
            page.close()
    # Dark text in light mode, light text in dark mode.
    assert brightness["light"] < 200 and brightness["dark"] > 600


@pytest.mark.django_db(transaction=True)
def test_staff_pages_keep_the_policy_and_the_outbox_preview_shows_the_styled_email(
    browser, live_server, settings, tmp_path
):
    from django.contrib.auth import get_user_model

    from newsletter.delivery.models import Delivery
    from subscriptions.models import Subscriber

    settings.OUTBOX_DIR = tmp_path
    settings.EMAIL_BACKEND = "newsletter.lib.outbox.OutboxBackend"
    emails.welcome(
        to="reader@example.com",
        preferences_url="https://papers.example.org/preferences/token/",
        unsubscribe_url="https://papers.example.org/unsubscribe/token/",
        first_digest="tomorrow, Tue 8 Dec, at 07:00 Berlin time",
    ).send()
    subscriber = Subscriber.objects.create(email="reader@example.com", status="active")
    Delivery.objects.create(
        kind="welcome", key="k", subscriber=subscriber, to_email=subscriber.email, state="uncertain"
    )
    get_user_model().objects.create_superuser("staff", "staff@example.com", "staff-pass-4242")
    page = browser.new_page(viewport={"width": 1100, "height": 900})
    violations: list[str] = []
    page.on(
        "console",
        lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None,
    )
    base = live_server.url
    page.goto(base + "/admin/login/")
    page.get_by_label("Username").fill("staff")
    page.get_by_label("Password").fill("staff-pass-4242")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_load_state("load")
    for path in ("/admin/delivery/delivery/", "/admin/delivery/delivery/by-day/"):
        page.goto(base + path)
        page.wait_for_load_state("load")
    page.goto(base + "/admin/delivery/delivery/outbox/")
    page.get_by_role("link", name="Welcome to Daily Papers Digest").click()
    page.wait_for_load_state("load")
    frame = page.frame_locator("iframe[title='HTML part']")
    button = frame.get_by_role("link", name="Manage my preferences")
    button.wait_for()
    colour = button.evaluate("el => getComputedStyle(el).backgroundColor")
    assert colour == "rgb(11, 92, 173)"  # the email's own inline styles apply in the preview
    page.screenshot(path=SCREENSHOTS / "admin-outbox-message.png", full_page=True)
    page.wait_for_timeout(200)
    assert violations == []
    page.close()
