"""Signup: double opt-in, one answer whatever the address's state, and hostile input."""

import datetime as dt
import re

import pytest
import time_machine

from subscriptions.addresses import address_hash
from subscriptions.forms import FORM_VERSION
from subscriptions.models import ConsentRecord, Subscriber, SuppressedAddress
from tests.subscriptions.conftest import link_in, outbox_to, sent_mail, signup_data

pytestmark = pytest.mark.django_db


def test_home_page_shows_the_form_grouped_topics_and_an_empty_sample(client, topics):
    response = client.get("/")
    html = response.content.decode()
    assert response.status_code == 200
    assert "A sample of today&#x27;s papers" in html or "A sample of today's papers" in html
    assert "papers have not arrived yet" in html
    assert "<legend>Language</legend>" in html and "<legend>Vision</legend>" in html
    assert 'name="csrfmiddlewaretoken"' in html
    assert '<label for="id_email">' in html


def test_home_page_lists_sample_papers_when_given(rf, topics):
    from django.template.loader import render_to_string

    from subscriptions.forms import SignupForm

    class Paper:
        title, url, authors_display = (
            "<b>Attention</b>",
            "https://arxiv.org/abs/1706.03762",
            "A. Author",
        )

    html = render_to_string(
        "subscriptions/home.html", {"form": SignupForm(), "sample_papers": [Paper()]}
    )
    assert "&lt;b&gt;Attention&lt;/b&gt;" in html
    assert 'href="https://arxiv.org/abs/1706.03762"' in html


def test_it_creates_a_pending_subscriber_and_mails_a_confirmation(client, topics):
    data = signup_data(email="  Reader@Example.COM ", topics=[topics[0].pk, topics[2].pk],
                       keywords="protein folding\nsparse autoencoder; protein FOLDING")  # fmt: skip
    response = client.post("/", data, HTTP_USER_AGENT="pytest-browser/1.0")

    assert response.status_code == 302 and response.url == "/check-your-inbox/"
    subscriber = Subscriber.objects.get()
    assert subscriber.email == "reader@example.com"
    assert subscriber.status == Subscriber.Status.PENDING
    assert set(subscriber.topics.all()) == {topics[0], topics[2]}
    assert subscriber.keywords == ["protein folding", "sparse autoencoder"]
    consent = subscriber.consents.get()
    assert (consent.action, consent.ip, consent.user_agent, consent.form_version) == (
        "signup", "127.0.0.1", "pytest-browser/1.0", FORM_VERSION
    )  # fmt: skip
    [message] = sent_mail()
    assert message.to == ["reader@example.com"]
    assert message.subject == "Confirm your subscription to Daily Papers Digest"
    assert link_in(message, "confirm")
    assert "Test LLMs" in message.body and "protein folding" in message.body
    assert message.alternatives[0][1] == "text/html"


def test_the_answer_is_the_same_for_new_pending_and_active_addresses(
    client, topics, make_subscriber
):
    make_subscriber(email="active@example.com", status=Subscriber.Status.ACTIVE)
    make_subscriber(email="pending@example.com", status=Subscriber.Status.PENDING)
    answers = []
    for email in ("new@example.com", "pending@example.com", "active@example.com"):
        response = client.post("/", signup_data(email=email), follow=True)
        answers.append((response.status_code, response.redirect_chain, response.content))
    assert answers[0] == answers[1] == answers[2]


def test_an_active_subscriber_gets_a_manage_email_and_keeps_their_preferences(
    client, topics, make_subscriber
):
    subscriber = make_subscriber(email="active@example.com", frequency="daily")
    subscriber.topics.add(topics[0])

    client.post(
        "/", signup_data(email="active@example.com", topics=[topics[1].pk], frequency="weekly")
    )

    subscriber.refresh_from_db()
    assert subscriber.frequency == "daily" and list(subscriber.topics.all()) == [topics[0]]
    assert subscriber.status == Subscriber.Status.ACTIVE
    [message] = sent_mail()
    assert message.subject == "Manage your Daily Papers Digest subscription"
    assert link_in(message, "preferences")
    assert "/confirm/" not in message.body
    assert not subscriber.consents.exists()


def test_a_pending_address_gets_the_confirmation_again_at_most_every_ten_minutes(client, topics):
    with time_machine.travel(dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.UTC), tick=False) as clock:
        client.post("/", signup_data())
        client.post("/", signup_data())
        assert len(sent_mail()) == 1
        clock.shift(dt.timedelta(minutes=9))
        client.post("/", signup_data())
        assert len(sent_mail()) == 1
        clock.shift(dt.timedelta(minutes=2))
        client.post("/", signup_data())
        assert len(sent_mail()) == 2
    assert Subscriber.objects.count() == 1


def test_an_unsubscribed_address_must_confirm_again(client, topics, make_subscriber):
    make_subscriber(status=Subscriber.Status.UNSUBSCRIBED)
    client.post("/", signup_data())
    subscriber = Subscriber.objects.get()
    assert subscriber.status == Subscriber.Status.PENDING
    assert link_in(sent_mail()[0], "confirm")


def test_a_deleted_address_can_sign_up_again_and_confirming_lifts_the_suppression(client, topics):
    SuppressedAddress.objects.create(
        address_hash=address_hash("reader@example.com"), reason="deleted"
    )
    client.post("/", signup_data())
    assert Subscriber.objects.get().status == Subscriber.Status.PENDING
    assert SuppressedAddress.objects.exists()  # not before the owner confirms
    client.post(link_in(sent_mail()[0], "confirm"))
    assert Subscriber.objects.get().status == Subscriber.Status.ACTIVE
    assert not SuppressedAddress.objects.exists()


def test_the_honeypot_swallows_bots_silently(client, topics):
    response = client.post("/", signup_data(website="http://spam.example"))
    assert response.status_code == 302 and response.url == "/check-your-inbox/"
    assert not Subscriber.objects.exists()
    assert not sent_mail()


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("email", "not-an-address", "Enter a valid email address."),
        ("email", "a@b.c, evil@example.com", "Enter a valid email address."),
        ("email", "x" * 250 + "@example.com", "at most 254 characters"),
        ("keywords", "k" * 101, "at most 100 characters"),
        ("keywords", "\n".join(f"word{i}" for i in range(51)), "at most 50 keywords"),
        ("keywords", "x" * 20000, "at most"),
        ("excluded_terms", "e" * 101, "at most 100 characters"),
        ("frequency", "hourly", "Select a valid choice"),
        ("weekday", "9", "Select a valid choice"),
        ("topics", "999999", "Select a valid choice"),
        ("topics", "99999999999999999999", "Select a valid choice"),  # past 64 bits
        ("topics", "9223372036854775808", "Select a valid choice"),
        ("topics", "'; DROP TABLE x; --", "is not a valid value"),
        ("timezone", "Mars/Olympus_Mons", "Select a valid choice"),
        ("send_hour", "24", "Select a valid choice"),
    ],
)
def test_bad_input_gets_the_form_back_with_an_error_and_changes_nothing(
    client, topics, field, value, message
):
    response = client.post("/", signup_data(**{field: value}))
    assert response.status_code == 200
    assert message in response.content.decode().replace("&#x27;", "'")
    assert not Subscriber.objects.exists()
    assert not sent_mail()


def test_it_asks_for_at_least_one_topic_or_keyword(client, topics):
    response = client.post("/", signup_data(keywords=""))
    assert "Choose at least one topic or type a keyword." in response.content.decode()
    assert not Subscriber.objects.exists()


def test_signup_needs_a_csrf_token(topics):
    from django.test import Client

    response = Client(enforce_csrf_checks=True).post("/", signup_data())
    assert response.status_code == 403
    assert not Subscriber.objects.exists()


def test_a_script_keyword_is_stored_as_text_and_shown_escaped(client, topics):
    client.post("/", signup_data(keywords="<script>alert(1)</script>"))
    subscriber = Subscriber.objects.get()
    assert subscriber.keywords == ["<script>alert(1)</script>"]
    [message] = sent_mail()
    html = message.alternatives[0][0]
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    confirm_page = client.get(link_in(message, "confirm")).content.decode()
    assert (
        "<script>alert" not in confirm_page
        and "&lt;script&gt;alert(1)&lt;/script&gt;" in confirm_page
    )


def test_the_per_ip_limit_answers_429(client, topics, settings):
    settings.SUBSCRIPTIONS_RATE_PER_IP = 3
    codes = [client.post("/", signup_data(email=f"r{i}@example.com")).status_code for i in range(5)]
    assert codes == [302, 302, 302, 429, 429]
    assert Subscriber.objects.count() == 3


def test_the_per_ip_limit_counts_the_forwarded_address_behind_a_trusted_proxy(
    client, topics, settings
):
    settings.SUBSCRIPTIONS_RATE_PER_IP = 1
    settings.TRUSTED_PROXY_COUNT = 1
    first = client.post("/", signup_data(email="a@example.com"), HTTP_X_FORWARDED_FOR="203.0.113.7")
    second = client.post(
        "/", signup_data(email="b@example.com"), HTTP_X_FORWARDED_FOR="203.0.113.8"
    )
    spoofed = client.post(
        "/", signup_data(email="c@example.com"), HTTP_X_FORWARDED_FOR="1.1.1.1, 203.0.113.7"
    )
    assert (first.status_code, second.status_code, spoofed.status_code) == (302, 302, 429)
    assert ConsentRecord.objects.get(subscriber__email="a@example.com").ip == "203.0.113.7"


def test_the_per_address_limit_answers_the_same_but_sends_nothing(client, topics, settings):
    settings.SUBSCRIPTIONS_RATE_PER_ADDRESS = 2
    settings.SUBSCRIPTIONS_RESEND_MINUTES = 1
    with time_machine.travel(dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.UTC), tick=False) as clock:
        for _ in range(4):
            response = client.post("/", signup_data(email="target@example.com"))
            assert response.status_code == 302 and response.url == "/check-your-inbox/"
            clock.shift(dt.timedelta(minutes=2))
    assert len(outbox_to("target@example.com")) == 2


def test_check_inbox_page_does_not_say_whether_the_address_was_known(client):
    html = client.get("/check-your-inbox/").content.decode()
    assert "If the address can receive our email" in html


@pytest.mark.parametrize(
    ("typed", "stored"),
    [("O'Brien@Example.IE", "o'brien@example.ie"), ("first.last+news@sub.example.co.uk", None)],
)
def test_unusual_but_valid_addresses_are_accepted_and_normalised(client, topics, typed, stored):
    client.post("/", signup_data(email=typed))
    assert Subscriber.objects.get().email == (stored or typed.lower())


def test_signup_takes_the_send_hour_and_the_time_zone(client, topics):
    client.post("/", signup_data(send_hour="18", timezone="Asia/Tokyo"))
    subscriber = Subscriber.objects.get()
    assert (subscriber.send_hour, subscriber.timezone) == (18, "Asia/Tokyo")


def test_a_signup_posted_without_hour_or_zone_gets_seven_in_utc(client, topics):
    client.post("/", signup_data())  # a page from before the fields, or no JavaScript
    subscriber = Subscriber.objects.get()
    assert (subscriber.send_hour, subscriber.timezone) == (7, "UTC")


def test_the_time_zone_list_offers_the_common_zones_first_then_each_region(client, topics):
    html = client.get("/").content.decode()
    labels = re.findall(r'<optgroup label="([^"]+)"', html)
    assert labels[:2] == ["Common", "Africa"] and {"America", "Europe", "Asia"} <= set(labels)
    assert labels[-1] == "Other"  # aliases such as US/Eastern, still valid for old rows
    common = html[html.index('<optgroup label="Common"') : html.index('<optgroup label="Africa"')]
    assert '<option value="Europe/Berlin">' in common
    # Without JavaScript the zone is UTC; the static script may choose the browser's own.
    assert re.search(r'<select name="timezone"[^>]*data-browser-zone', html)
    assert '<option value="UTC" selected>' in common
    assert '<option value="7" selected>07:00</option>' in html
    assert re.search(
        r"<div class=\"field\" data-weekly-only>\s*<label[^>]*>Day for the weekly", html
    )


def test_a_form_shown_again_with_errors_keeps_the_chosen_zone(client, topics):
    html = client.post("/", signup_data(email="nope", timezone="Asia/Tokyo")).content.decode()
    assert '<option value="Asia/Tokyo" selected>' in html
    assert "data-browser-zone" not in html  # the script does not overwrite the reader's choice


def test_pages_link_the_static_script_and_favicon_and_favicon_ico_finds_it(client):
    from django.contrib.staticfiles import finders

    html = client.get("/").content.decode()
    assert '<script src="/static/js/forms.js" defer></script>' in html
    assert '<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">' in html
    assert "<script>" not in html  # nothing inline: the policy would refuse it
    response = client.get("/favicon.ico")
    assert response.status_code == 302 and response.url == "/static/favicon.svg"
    assert finders.find("favicon.svg") and finders.find("js/forms.js")
