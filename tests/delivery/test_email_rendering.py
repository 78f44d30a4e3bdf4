"""The subscription emails in Debian's Chromium: no sideways scrolling on a phone, dark in dark mode.

Screenshots go to var/screenshots/ (phone and desktop width, light and dark).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from django.conf import settings

from newsletter.lib import emails

pytestmark = pytest.mark.slow

CHROMIUM = "/usr/bin/chromium"
SCREENSHOTS = Path(settings.BASE_DIR) / "var" / "screenshots"


@pytest.fixture
def browser():
    if not Path(CHROMIUM).exists():
        message = f"{CHROMIUM} is missing: install it with `apt-get install -y chromium`"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-gpu"]
        )
        yield browser
        browser.close()


def test_the_welcome_email_fits_a_phone_and_follows_dark_mode(browser):
    message = emails.welcome(
        to="reader@example.com",
        preferences_url="https://papers.example.org/preferences/token/",
        unsubscribe_url="https://papers.example.org/unsubscribe/token/",
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
