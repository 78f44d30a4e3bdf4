"""A real browser through the whole journey: sign up, confirm from the email, tune, unsubscribe.

Drives Debian's chromium with Playwright against the app on a free local port and saves a
screenshot of each page under var/screenshots/.
"""

import re

import pytest

from subscriptions.models import Subscriber, Topic
from tests.browser import SCREENSHOTS, chromium
from tests.subscriptions.conftest import sent_mail

# The live server runs in another thread, so the test data must be committed (transactional db).
pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def browser_page():
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 1000})
        page.set_default_timeout(15_000)
        yield page


def link(message, kind: str, base: str) -> str:
    match = re.search(rf"{re.escape(base)}/{kind}/[^/\s\"]+/", message.body)
    assert match, f"no {kind} link in {message.subject!r}"
    return match.group(0)


def test_a_reader_signs_up_confirms_tunes_and_unsubscribes(browser_page, live_server, settings):
    settings.SITE_URL = live_server.url
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)  # shared with other browser tests
    Topic.objects.create(slug="b-llms", name="Browser LLMs", group="Language", description="LLMs.")
    Topic.objects.create(
        slug="b-rl", name="Browser RL", group="Learning", description="RL.", position=1
    )
    page = browser_page

    def shot(name: str) -> None:
        page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)

    page.goto(live_server.url + "/")
    shot("01-home")
    page.get_by_label("Your email address").fill("Browser.Reader@Example.com")
    page.get_by_label("Browser LLMs").check()
    page.get_by_label("Your own keywords and phrases").fill(
        "<script>alert(1)</script>\nmixture of experts"
    )
    page.get_by_role("button", name="Subscribe").click()
    page.get_by_role("heading", name="Check your inbox").wait_for()
    shot("02-check-inbox")

    [confirmation] = sent_mail()
    assert confirmation.to == ["browser.reader@example.com"]
    page.goto(link(confirmation, "confirm", live_server.url))
    page.get_by_role("button", name="Yes, subscribe me").wait_for()
    assert page.get_by_text("<script>alert(1)</script>").is_visible()  # shown as text, not run
    shot("03-confirm")
    assert Subscriber.objects.get().status == "pending"  # opening the link changed nothing
    page.get_by_role("button", name="Yes, subscribe me").click()
    page.get_by_role("heading", name="You are subscribed").wait_for()
    shot("04-confirmed")
    assert Subscriber.objects.get().status == "active"

    welcome = sent_mail()[1]
    page.goto(link(welcome, "preferences", live_server.url))
    page.get_by_role("heading", name="Your preferences").wait_for()
    shot("05-preferences")
    page.get_by_label("Browser RL").check()
    page.get_by_label("Weekly", exact=True).check()
    page.get_by_label("Day for the weekly email").select_option(label="Friday")
    page.get_by_label("At most this many papers per email").fill("5")
    page.get_by_label("Your time zone").select_option("Asia/Tokyo")
    page.get_by_role("button", name="Save preferences").click()
    page.get_by_text("Saved.").wait_for()
    shot("06-preferences-saved")
    subscriber = Subscriber.objects.get()
    assert (subscriber.frequency, subscriber.weekday, subscriber.max_papers) == ("weekly", 4, 5)
    assert subscriber.timezone == "Asia/Tokyo"
    assert {t.slug for t in subscriber.topics.all()} == {"b-llms", "b-rl"}

    page.goto(link(welcome, "unsubscribe", live_server.url))
    page.get_by_role("button", name="Unsubscribe").wait_for()
    shot("07-unsubscribe")
    page.get_by_role("button", name="Unsubscribe").click()
    page.get_by_role("heading", name="You are unsubscribed").wait_for()
    shot("08-unsubscribed")
    assert Subscriber.objects.get().status == "unsubscribed"

    page.set_viewport_size(
        {"width": 375, "height": 812}
    )  # a phone: the form fits without scrolling sideways
    page.goto(live_server.url + "/")
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    shot("09-home-phone")
    # Other browser tests (the emails) save theirs in the same folder.
    assert {p.name for p in SCREENSHOTS.glob("0*.png")} == {
        "01-home.png", "02-check-inbox.png", "03-confirm.png", "04-confirmed.png",
        "05-preferences.png", "06-preferences-saved.png", "07-unsubscribe.png",
        "08-unsubscribed.png", "09-home-phone.png",
    }  # fmt: skip


def test_no_page_breaks_the_content_security_policy(browser_page, live_server, settings):
    """Every page a reader or staff member sees sends the policy and violates none of it."""
    from django.contrib.auth import get_user_model

    from subscriptions import tokens

    settings.SITE_URL = live_server.url
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    Topic.objects.create(slug="c-llms", name="CSP LLMs", group="Language", description="LLMs.")
    subscriber = Subscriber.objects.create(
        email="csp@example.com", status="pending", pending_email="csp-new@example.com"
    )
    get_user_model().objects.create_superuser("csp-staff", "staff@example.com", "csp-pass-4242")
    page = browser_page
    violations: list[str] = []
    page.on(
        "console",
        lambda m: (
            violations.append(f"{page.url}: {m.text}")
            if "Content Security Policy" in m.text
            else None
        ),
    )

    def visit(url: str) -> None:
        response = page.goto(url)
        assert "script-src 'self'" in response.headers["content-security-policy"], url
        page.wait_for_load_state("load")

    # The listener does hear a violation: an inline style is refused and reported.
    visit(live_server.url + "/")
    page.evaluate("document.body.setAttribute('style', 'color: red')")
    page.wait_for_timeout(200)
    assert violations, "a refused inline style must show in the console"
    violations.clear()

    base = live_server.url
    for url in [
        base + "/",
        base + "/check-your-inbox/",
        base + "/new-link/",
        base + "/confirm/not-a-real-token/",
        tokens.preferences_url(subscriber),
        tokens.preferences_url(subscriber) + "delete/",
        tokens.unsubscribe_url(subscriber),
        tokens.email_change_url(subscriber),
        tokens.confirm_url(subscriber),
    ]:
        visit(url)
    page.get_by_role("button", name="Yes, subscribe me").click()
    page.get_by_role("heading", name="You are subscribed").wait_for()
    visit(tokens.preferences_url(subscriber))
    page.get_by_role("button", name="Save preferences").click()  # no topic, no keyword: errors
    page.get_by_text("Choose at least one topic or type a keyword.").first.wait_for()
    visit(tokens.unsubscribe_url(subscriber))
    page.get_by_role("button", name="Unsubscribe").click()
    page.get_by_role("heading", name="You are unsubscribed").wait_for()
    visit(base + "/")
    page.get_by_role("button", name="Subscribe").click()  # the form with its errors
    page.wait_for_load_state("load")

    visit(base + "/admin/login/")
    page.get_by_label("Username").fill("csp-staff")
    page.get_by_label("Password").fill("csp-pass-4242")
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("heading", name="Run the newsletter").wait_for()
    for path in ["/admin/subscriptions/subscriber/", f"/admin/subscriptions/subscriber/{subscriber.pk}/change/", "/admin/subscriptions/topic/add/"]:  # fmt: skip
        visit(base + path)
    page.wait_for_timeout(300)
    assert violations == []
