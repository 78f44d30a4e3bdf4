"""Digests through a real SMTP server, and the links in what arrives working against the app."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from newsletter.daily.byhand import day_run_by_hand
from newsletter.lib import days
from subscriptions.models import Subscriber
from tests.delivery.conftest import smtp_server  # noqa: F401 - the fixture
from tests.digests.conftest import DAY1, DAY2

pytestmark = pytest.mark.django_db


def digests_send_day(*, day):
    """The day by hand, for everyone due that day (what ``send_digests`` runs)."""
    return day_run_by_hand(day=day, now=days.last_send_time(day=day), fetch=False).sent


def _path(url: str) -> str:
    return url.split("http://testserver", 1)[1]


def test_readers_receive_multipart_digests_whose_links_work(smtp_server, papers, reader, client):  # noqa: F811
    reader("ada@example.com", keywords=["robot manipulation"])
    reader("alan@example.com", keywords=["elliptic curve", "benchmark"])
    counts = digests_send_day(day=DAY1)
    assert counts["sent"] == 2
    received = {r.rcpt_tos[0]: r.message for r in smtp_server.received}
    assert sorted(received) == ["ada@example.com", "alan@example.com"]
    message = received["ada@example.com"]
    assert message.get_content_type() == "multipart/alternative"
    assert message["Subject"].startswith("2 papers for you, Mon 2 Feb: ")
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert "Learning Dexterous Robot Manipulation" in text and "<mark" in html
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert all(len(line) < 998 for line in message.as_string().splitlines())

    web_copy = re.search(r"View in browser: (\S+)", text).group(1)
    assert "Dexterous" in client.get(_path(web_copy)).content.decode()
    less = re.search(r"Less like this: (\S+)", text).group(1)
    assert client.get(_path(less)).status_code == 200

    # The mail client's one-click unsubscribe: a POST to the header's https URL.
    url = re.search(r"<(http[^>]+)>", message["List-Unsubscribe"]).group(1)
    response = client.post(
        _path(url),
        "List-Unsubscribe=One-Click",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 200
    assert Subscriber.objects.get(email="ada@example.com").status == Subscriber.Status.UNSUBSCRIBED
    # The next day, only the reader who stayed gets a digest.
    digests_send_day(day=DAY2)
    assert [r.rcpt_tos[0] for r in smtp_server.received[2:]] == ["alan@example.com"]


def test_a_paper_sent_yesterday_does_not_arrive_today(smtp_server, papers, reader):  # noqa: F811
    reader(keywords=["robot manipulation", "legged locomotion"])
    digests_send_day(day=DAY1)
    digests_send_day(day=DAY1 + timedelta(days=1))
    [first, second] = [r.message.get_body(("plain",)).get_content() for r in smtp_server.received]
    sent_first = [p.title for p in papers["robotics"] if p.title in first]
    assert sent_first  # listed again the next day, and not sent again
    assert not any(title in second for title in sent_first)
