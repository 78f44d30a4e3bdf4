"""The digest in Debian's Chromium: a phone (375 px) and a desktop, light and dark.

Screenshots are saved under var/screenshots/ (digest-phone.png, digest-desktop.png,
digest-phone-dark.png) for a person to look at.
"""

from __future__ import annotations

import pytest

from newsletter.digests.rendering import digest_message
from newsletter.digests.services import digests_build
from tests.digests.conftest import DAY1
from tests.subscriptions.test_browser import SCREENSHOTS, browser_page  # noqa: F401

# Flushed after the test: the browser's event loop must not keep rows of an open transaction.
pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def digest_html(papers, reader) -> str:
    """Built before the browser starts (its greenlets would give the ORM another connection)."""
    subscriber = reader(keywords=["robot manipulation", "motion planning", "object detection"])
    [digest] = digests_build(day=DAY1, subscriber_ids=[subscriber.pk])
    return digest_message(digest).alternatives[0][0]


def test_the_digest_fits_a_phone_and_a_desktop_in_light_and_dark(digest_html, browser_page):  # noqa: F811
    html = digest_html
    page = browser_page
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for name, width, scheme in (
        ("digest-phone", 375, "light"),
        ("digest-desktop", 1280, "light"),
        ("digest-phone-dark", 375, "dark"),
    ):
        page.set_viewport_size({"width": width, "height": 900})
        page.emulate_media(color_scheme=scheme)
        page.set_content(html)
        # Nothing wider than the screen: no sideways scrolling on a phone.
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        assert page.get_by_text("Trending today").is_visible()
        assert page.locator("mark").count() >= 2
        background = page.evaluate(
            "getComputedStyle(document.querySelector('.dpd-card > table') "
            "|| document.querySelector('.dpd-card')).backgroundColor"
        )
        assert (background == "rgb(255, 255, 255)") == (scheme == "light"), background
        page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
        assert (SCREENSHOTS / f"{name}.png").stat().st_size > 10_000
