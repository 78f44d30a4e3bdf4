"""Staff: a digest with its papers, previewed exactly as sent, and sent now on demand."""

from __future__ import annotations

import pytest
import time_machine
from django.core import mail

from newsletter.delivery.models import Delivery
from newsletter.digests.models import Digest
from newsletter.digests.rendering import digest_message
from newsletter.digests.services import digests_build
from subscriptions.models import Subscriber
from tests.digests.conftest import DAY1

pytestmark = pytest.mark.django_db


@pytest.fixture
def digest(papers, reader):
    [digest] = digests_build(day=DAY1, subscriber_ids=[reader().pk])
    return digest


def test_staff_see_a_digest_with_its_papers(admin_client, digest):
    page = admin_client.get(f"/admin/digests/digest/{digest.pk}/change/").content.decode()
    assert "Learning Dexterous Robot Manipulation" in page and "trending" in page.lower()
    assert "exactly as sent" in admin_client.get("/admin/digests/digest/").content.decode()


def test_the_preview_is_exactly_the_html_part_as_sent(admin_client, digest):
    response = admin_client.get(f"/admin/digests/digest/{digest.pk}/preview/")
    expected = digest_message(digest).alternatives[0][0]
    strip = __import__("re").compile(r":[0-9A-Za-z]+:[\w-]{43}")  # links signed a second apart
    assert strip.sub("", response.content.decode()) == strip.sub("", expected)
    text = admin_client.get(f"/admin/digests/digest/{digest.pk}/preview/?part=text")
    assert (
        text["Content-Type"].startswith("text/plain") and "More like this:" in text.content.decode()
    )


def test_a_text_only_readers_preview_is_the_text_part(admin_client, digest):
    Subscriber.objects.update(format=Subscriber.Format.TEXT)
    response = admin_client.get(f"/admin/digests/digest/{digest.pk}/preview/")
    assert response["Content-Type"].startswith("text/plain")


def test_the_preview_needs_staff(client, digest):
    response = client.get(f"/admin/digests/digest/{digest.pk}/preview/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def _said(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def test_send_todays_digest_now_sends_once_and_says_so(admin_client, digest):
    data = {"action": "send_today_now", "_selected_action": [digest.pk]}
    # 23:30 UTC: the run of listing day 2 Feb has started, so "today" is 2 Feb.
    with time_machine.travel("2026-02-02 23:30:00Z", tick=False):
        first = admin_client.post("/admin/digests/digest/", data, follow=True)
        second = admin_client.post("/admin/digests/digest/", data, follow=True)
    assert _said(first) == ["reader@example.com: digest of 2026-02-02: sent."]
    assert _said(second) == [
        "reader@example.com: digest of 2026-02-02: already sent before, not sent again."
    ]
    assert [m.to for m in mail.outbox] == [["reader@example.com"]]
    assert Delivery.objects.get().state == Delivery.State.SENT
    assert Digest.objects.count() == 1


def test_send_todays_digest_now_before_the_run_hour_is_the_current_listing_day(
    admin_client, digest
):
    # 12:00 UTC on 3 Feb: the run of 3 Feb has not started, the current listing day is 2 Feb.
    data = {"action": "send_today_now", "_selected_action": [digest.pk]}
    with time_machine.travel("2026-02-03 12:00:00Z", tick=False):
        response = admin_client.post("/admin/digests/digest/", data, follow=True)
    assert _said(response) == ["reader@example.com: digest of 2026-02-02: sent."]


def test_send_todays_digest_now_on_a_quiet_day_says_nothing_was_sent(admin_client, digest):
    data = {"action": "send_today_now", "_selected_action": [digest.pk]}
    with time_machine.travel("2026-02-05 23:30:00Z", tick=False):  # nothing listed that day
        response = admin_client.post("/admin/digests/digest/", data, follow=True)
    [said] = _said(response)
    assert said.startswith("reader@example.com: digest of 2026-02-05: not sent, a quiet day")
    assert not mail.outbox
