"""The helpers the digest will use: link builders, List-Unsubscribe headers, the email module."""

import email
import email.policy

import pytest

from newsletter.lib import emails
from subscriptions import tokens

pytestmark = pytest.mark.django_db


def test_link_builders_use_site_url(make_subscriber, settings):
    settings.SITE_URL = "https://papers.example.org"
    subscriber = make_subscriber()
    assert tokens.preferences_url(subscriber).startswith("https://papers.example.org/preferences/")
    assert tokens.unsubscribe_url(subscriber).startswith("https://papers.example.org/unsubscribe/")
    assert tokens.confirm_url(subscriber).startswith("https://papers.example.org/confirm/")


def test_list_unsubscribe_headers_point_at_the_one_click_url(make_subscriber, same_second_links):
    subscriber = make_subscriber()
    headers = tokens.list_unsubscribe_headers(subscriber)
    assert headers == {
        "List-Unsubscribe": f"<{tokens.unsubscribe_url(subscriber)}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }
    assert emails.list_unsubscribe_headers(url="https://x/u/", mailto="u@x")[
        "List-Unsubscribe"
    ] == ("<https://x/u/>, <mailto:u@x>")


def test_every_message_has_sender_reply_to_text_and_html(settings):
    settings.DEFAULT_FROM_EMAIL = "Digest <digest@papers.example.org>"
    settings.REPLY_TO_EMAIL = "editors@papers.example.org"
    message = emails.build(
        "manage",
        to="r@example.com",
        context={"preferences_url": "https://x/p/", "status_label": "Active"},
    )
    assert message.from_email == "Digest <digest@papers.example.org>"
    assert message.reply_to == ["editors@papers.example.org"]
    assert "https://x/p/" in message.body
    assert message.alternatives[0][1] == "text/html"
    assert "\n" not in message.subject


def test_a_text_only_message_has_no_html_part_and_no_reply_to_when_unset(settings):
    settings.REPLY_TO_EMAIL = ""
    message = emails.build(
        "manage",
        to="r@example.com",
        context={"preferences_url": "u", "status_label": "Active"},
        html=False,
    )
    assert message.alternatives == [] and message.reply_to == []


def test_the_outbox_backend_writes_the_headers(
    settings, tmp_path, make_subscriber, same_second_links
):
    settings.EMAIL_BACKEND = "newsletter.lib.outbox.OutboxBackend"
    settings.OUTBOX_DIR = tmp_path
    subscriber = make_subscriber()
    emails.welcome(
        to=subscriber.email,
        preferences_url=tokens.preferences_url(subscriber),
        unsubscribe_url=tokens.unsubscribe_url(subscriber),
        first_digest="tomorrow, Tue 8 Dec, at 07:00 Berlin time",
    ).send()
    [eml] = tmp_path.glob("*.eml")
    parsed = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)
    assert parsed["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert parsed["List-Unsubscribe"].strip() == f"<{tokens.unsubscribe_url(subscriber)}>"
