"""The digest as its reader sees it: subject, both parts, highlights, links, footer, web copy."""

from __future__ import annotations

import re

import pytest
from django.core import mail

from newsletter.delivery.models import Delivery
from newsletter.delivery.services import delivery_message_build
from newsletter.digests.links import digest_url
from newsletter.digests.rendering import digest_message
from newsletter.digests.services import digests_build, digests_enqueue
from newsletter.matching.models import Vote
from newsletter.papers.models import Paper
from subscriptions.models import Subscriber
from tests.digests.conftest import DAY1, sent

pytestmark = pytest.mark.django_db


@pytest.fixture
def digest(papers, reader):
    subscriber = reader(keywords=["robot manipulation", "motion planning"])
    [digest] = digests_build(day=DAY1, subscriber_ids=[subscriber.pk])
    return digest


def _html(message) -> str:
    [(html, mimetype)] = message.alternatives
    assert mimetype == "text/html"
    return html


def _path(url: str) -> str:
    return url.split("http://testserver", 1)[1]


def test_the_subject_counts_the_papers_and_names_the_day_and_the_top_title(digest):
    message = digest_message(digest)
    top = digest.items.get(section="pick", rank=1).paper.title
    assert message.subject == f"2 papers for you, Mon 2 Feb: {top}"


def test_a_quiet_day_note_says_so_in_one_line(papers, reader):
    subscriber = reader(keywords=["gravitational waves"], quiet_day_note=True)
    [digest] = digests_build(day=DAY1, subscriber_ids=[subscriber.pk])
    message = digest_message(digest)
    assert message.subject == "A quiet day, Mon 2 Feb: no new papers for you"
    assert "nothing new above your threshold" in message.body
    assert "Trending" not in _html(message) and "TRENDING" not in message.body


def test_each_paper_shows_title_link_authors_upvotes_summary_reasons_and_links(digest):
    message = digest_message(digest)
    html, text = _html(message), message.body
    hf = "https://huggingface.co/papers/2602.00001"
    # The Hugging Face page when the paper came from there, else arXiv.
    assert f'href="{hf}"' in html and hf in text
    assert 'href="https://arxiv.org/abs/2602.00002"' in html
    assert "Ada Lovelace, Alan Turing, Grace Hopper et al." in html  # four authors
    assert (
        "\u25b2 14 upvotes" in html
        and "Alan Turing \u00b7 30 Jan 2026 \u00b7 \u25b2 7 upvotes" in html
    )
    # The AI summary when known, else the abstract's first sentences.
    assert "Robots learn to grasp by watching people" in html
    assert "Motion planning for legged locomotion is hard on uneven ground." in text
    assert 'href="https://github.com/example/dexterous">Code</a>' in html
    assert 'href="https://example.org/dexterous">Project</a>' in html
    assert 'href="https://arxiv.org/pdf/2602.00001">PDF</a>' in html
    assert "Why: robot manipulation" in text
    assert re.search(r'class="dpd-label"[^>]*>robot manipulation</span>', html)
    assert html.count(">More like this</a>") == html.count(">Less like this</a>") == 5


def test_the_matched_words_are_highlighted_in_the_title_and_summary(digest):
    html = _html(digest_message(digest))
    assert re.search(r"Dexterous <mark[^>]*>Robot Manipulation</mark> from", html)
    assert re.search(r"<mark[^>]*>Motion planning</mark> for legged locomotion", html)


def test_trending_papers_come_after_the_picks(digest):
    message = digest_message(digest)
    html, text = _html(message), message.body
    assert html.index("Trending today") > html.index("Learning Dexterous")
    assert "Medical Image Segmentation with Diffusion Priors" in html.split("Trending today")[1]
    assert text.index("TRENDING TODAY") < text.index("Medical Image Segmentation")


def test_the_html_is_small_folded_readable_without_images_and_has_no_pixel(papers, reader):
    subscriber = reader(keywords=["robot", "cryptography", "object detection", "diffusion"])
    Paper.objects.update(abstract="A long abstract sentence about robots. " * 30)
    [digest] = digests_build(day=DAY1, subscriber_ids=[subscriber.pk])
    html = _html(digest_message(digest))
    assert len(html.encode()) < 60_000
    assert max(len(line) for line in html.splitlines()) < 998
    assert "<img" not in html  # nothing needs images, and no tracking pixel
    assert "prefers-color-scheme: dark" in html and 'name="color-scheme"' in html


def test_open_tracking_is_asked_of_the_provider_only_when_turned_on(digest, settings):
    assert not getattr(digest_message(digest), "track_opens", False)
    settings.DIGEST_OPEN_TRACKING = True
    message = digest_message(digest)
    assert message.track_opens is True and "<img" not in _html(message)


def test_the_footer_says_why_and_links_preferences_pause_unsubscribe_web_copy_address(
    digest, client
):
    message = digest_message(digest)
    html, text = _html(message), message.body
    assert "You get this because reader@example.com subscribed" in text
    assert "Daily Papers Digest, 1 Example Street, 10115 Berlin" in html
    assert "Daily Papers Digest, 1 Example Street, 10115 Berlin" in text
    for label in ("Preferences", "Pause", "Unsubscribe", "View in browser"):
        url = re.search(rf"^{label}: (\S+)$", text, re.M).group(1)
        assert f'href="{url}"' in html
        assert client.get(_path(url)).status_code == 200, label


def test_a_text_only_reader_gets_only_the_text_part(papers, reader):
    subscriber = reader(format=Subscriber.Format.TEXT)
    [digest] = digests_build(day=DAY1, subscriber_ids=[subscriber.pk])
    message = digest_message(digest)
    assert not message.alternatives
    assert message.message().get_content_type() == "text/plain"
    assert "Learning Dexterous Robot Manipulation" in message.body


def test_the_sent_message_carries_the_ledger_and_unsubscribe_headers(digest):
    [delivery_id] = digests_enqueue(digests=[digest])
    message = delivery_message_build(delivery=Delivery.objects.get(pk=delivery_id))
    headers = message.extra_headers
    assert re.fullmatch(r"<http://testserver/unsubscribe/[^>]+/>", headers["List-Unsubscribe"])
    assert headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert headers["Message-ID"] == f"<delivery-{delivery_id}.digest@papers.example.org>"
    assert headers["List-Id"] == "Daily Papers Digest <digest.testserver>"


def test_a_reader_who_paused_or_left_gets_nothing(digest):
    [delivery_id] = digests_enqueue(digests=[digest])
    Subscriber.objects.update(status=Subscriber.Status.PAUSED)
    assert not sent()
    delivery = Delivery.objects.get(pk=delivery_id)
    assert delivery.state == Delivery.State.SUPPRESSED and "paused" in delivery.last_error


def test_the_web_copy_shows_the_same_digest_as_a_page(digest, client):
    response = client.get(_path(digest_url(digest)))
    assert response.status_code == 200
    page = response.content.decode()
    assert "Learning Dexterous" in page and "Trending today" in page
    assert "script-src" not in response["Content-Security-Policy"]
    assert "default-src 'none'" in response["Content-Security-Policy"]


def test_a_web_copy_link_stops_working_when_the_readers_links_are_revoked(digest, client):
    path = _path(digest_url(digest))
    Subscriber.objects.update(link_version=2)
    assert client.get(path).status_code == 404
    assert client.get(path[:-8] + "xx/").status_code == 400
    assert client.post(path).status_code == 405


def test_less_like_this_opens_and_records_the_vote(digest, client):
    text = digest_message(digest).body
    url = re.search(r"Less like this: (\S+)", text).group(1)
    assert client.get(_path(url)).status_code == 200
    assert not Vote.objects.exists()  # a GET never records
    client.post(_path(url))
    assert Vote.objects.get().direction == "less"


def test_the_digest_builder_sends_through_the_ledger_once(digest):
    ids = digests_enqueue(digests=[digest])
    assert len(sent()) == 1
    assert len(sent()) == 1
    assert Delivery.objects.get(pk=ids[0]).state == Delivery.State.SENT
    assert mail.outbox[0].to == ["reader@example.com"]


def test_a_digest_delivery_recorded_by_key_alone_finds_its_digest(digest):
    from newsletter.delivery.services import delivery_enqueue

    subscriber = digest.subscriber
    delivery_enqueue(
        kind="digest", key=f"{subscriber.pk}:2026-02-02", subscriber=subscriber,
        to_email=subscriber.email, nudge=False,
    )  # fmt: skip
    assert [m.subject for m in sent()] == [digest_message(digest).subject]


def test_a_digest_delivery_whose_digest_is_gone_is_skipped(digest):
    [delivery_id] = digests_enqueue(digests=[digest])
    digest.delete()
    assert not sent()
    assert Delivery.objects.get(pk=delivery_id).state == Delivery.State.SKIPPED


def test_two_readers_of_one_paper_each_see_their_own_words_and_links(papers, reader):
    ada = reader("ada@example.com", keywords=["robot manipulation"])
    bob = reader("bob@example.com", keywords=["human videos"])
    digests = digests_build(day=DAY1, subscriber_ids=[ada.pk, bob.pk])
    ada_html, bob_html = (_html(digest_message(d)) for d in digests)
    assert re.search(r"<mark[^>]*>Robot Manipulation</mark>", ada_html)
    assert not re.search(r"<mark[^>]*>Human Videos</mark>", ada_html)
    assert re.search(r"<mark[^>]*>Human Videos</mark>", bob_html)
    assert ada.public_id.hex in ada_html and ada.public_id.hex not in bob_html


def test_the_feedback_links_are_the_ones_matching_makes(digest):
    from newsletter.matching.services import feedback_url

    message = digest_message(digest)
    paper = digest.items.get(section="pick", rank=1).paper
    for direction in ("more", "less"):
        url = feedback_url(subscriber=digest.subscriber, paper_id=paper.pk, direction=direction)
        signed = re.compile(r":[0-9A-Za-z]+:[\w-]{43}")  # signed a second apart, maybe
        assert signed.sub("", url) in signed.sub("", message.body)


def test_a_very_long_top_title_is_shortened_in_the_subject_at_a_word(digest):
    paper = digest.items.get(section="pick", rank=1).paper
    Paper.objects.filter(pk=paper.pk).update(title="Deep " * 60 + "Learning")
    digest.refresh_from_db()
    subject = digest_message(digest).subject
    assert subject.startswith("2 papers for you, Mon 2 Feb: Deep Deep") and subject.endswith(
        "\u2026"
    )
    assert len(subject) < 140


def test_a_paper_edited_since_shows_as_it_is_now(digest):
    before = digest_message(digest).body
    paper = digest.items.get(section="pick", rank=1).paper
    Paper.objects.filter(pk=paper.pk).update(code_url="https://example.org/new-code")
    assert "https://example.org/new-code" not in before
    assert "Code: https://example.org/new-code" in digest_message(digest).body
