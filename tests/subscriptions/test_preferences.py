"""The preference centre behind a signed link: edit, pause, change address, export, delete."""

import datetime as dt
import json
import re

import pytest
import time_machine

from subscriptions import selectors, tokens
from subscriptions.addresses import address_hash
from subscriptions.models import ConsentRecord, Interest, Subscriber, SuppressedAddress
from tests.subscriptions.conftest import link_in, sent_mail

pytestmark = pytest.mark.django_db


@pytest.fixture
def subscriber(make_subscriber, topics):
    subscriber = make_subscriber()
    subscriber.topics.add(topics[0])
    Interest.objects.create(
        subscriber=subscriber, kind="keyword", value="<script>alert(1)</script>"
    )
    ConsentRecord.objects.create(subscriber=subscriber, action="confirm", ip="192.0.2.1")
    return subscriber


def prefs_path(subscriber) -> str:
    return tokens.preferences_url(subscriber).removeprefix("http://testserver")


def form_data(topics, **overrides) -> dict:
    data = {
        "topics": [topics[1].pk, topics[2].pk],
        "keywords": "graph transformers\nprotein design",
        "excluded_terms": "survey",
        "followed_authors": "Yann LeCun",
        "liked_papers": "arXiv:1706.03762v7\nhttps://arxiv.org/abs/2401.01234",
        "frequency": "weekly",
        "weekday": "4",
        "send_hour": "18",
        "timezone": "Europe/Berlin",
        "max_papers": "25",
        "format": "text",
    }
    data.update(overrides)
    return data


def test_the_page_shows_current_preferences_with_keywords_escaped(client, subscriber):
    response = client.get(prefs_path(subscriber))
    html = response.content.decode()
    assert response.status_code == 200
    assert "reader@example.com" in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "<script>alert" not in html
    assert "no-store" in response["Cache-Control"]
    assert 'content="noindex,nofollow"' in html


def test_saving_updates_everything_and_records_the_change(client, subscriber, topics):
    response = client.post(prefs_path(subscriber), form_data(topics))
    assert response.status_code == 302 and response.url.endswith("?saved=1")
    assert "Saved." in client.get(response.url).content.decode()

    subscriber = selectors.subscribers_deliverable().get(pk=subscriber.pk)
    assert set(subscriber.topics.all()) == {topics[1], topics[2]}
    assert subscriber.keywords == ["graph transformers", "protein design"]
    assert subscriber.excluded_terms == ["survey"]
    assert subscriber.followed_authors == ["Yann LeCun"]
    assert subscriber.liked_papers == ["1706.03762", "2401.01234"]
    assert (subscriber.frequency, subscriber.weekday, subscriber.send_hour) == ("weekly", 4, 18)
    assert (subscriber.timezone, subscriber.max_papers, subscriber.format) == (
        "Europe/Berlin",
        25,
        "text",
    )
    assert subscriber.consents.filter(action="change").count() == 1


def test_saving_the_same_values_twice_records_one_change(client, subscriber, topics):
    client.post(prefs_path(subscriber), form_data(topics))
    client.post(prefs_path(subscriber), form_data(topics))
    assert subscriber.consents.filter(action="change").count() == 1


def test_deliverable_subscribers_are_read_in_three_queries(
    subscriber, make_subscriber, django_assert_num_queries
):
    make_subscriber(email="other@example.com")
    with django_assert_num_queries(3):
        rows = [
            (s.keywords, list(s.topics.all()), s.liked_papers)
            for s in selectors.subscribers_deliverable()
        ]
    assert len(rows) == 2


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("timezone", "Mars/Olympus_Mons"),
        ("max_papers", "0"),
        ("max_papers", "51"),
        ("max_papers", "ten"),
        ("send_hour", "24"),
        ("format", "pdf"),
        ("liked_papers", "not-an-id"),
        ("followed_authors", "a" * 101),
        ("keywords", "\n".join(f"k{i}" for i in range(51))),
    ],
)
def test_invalid_preferences_are_refused_and_nothing_changes(
    client, subscriber, topics, field, value
):
    response = client.post(prefs_path(subscriber), form_data(topics, **{field: value}))
    assert response.status_code == 200
    assert 'class="errorlist' in response.content.decode()
    subscriber.refresh_from_db()
    assert subscriber.max_papers == 10 and subscriber.timezone == "UTC"
    assert not subscriber.consents.filter(action="change").exists()


def test_pause_resume_unsubscribe_and_resubscribe_from_the_page(client, subscriber):
    url = prefs_path(subscriber) + "status/"
    steps = [("pause", "paused"), ("resume", "active"), ("unsubscribe", "unsubscribed"),
             ("resubscribe", "active")]  # fmt: skip
    for action, status in steps:
        response = client.post(url, {"action": action})
        assert response.status_code == 200
        subscriber.refresh_from_db()
        assert subscriber.status == status
    actions = list(subscriber.consents.order_by("pk").values_list("action", flat=True))
    assert actions == ["confirm", "change", "change", "unsubscribe", "resubscribe"]


def test_an_unknown_status_action_is_refused(client, subscriber):
    assert client.post(prefs_path(subscriber) + "status/", {"action": "delete"}).status_code == 400
    assert client.get(prefs_path(subscriber) + "status/").status_code == 405


def test_the_preference_link_still_works_after_a_year(client, subscriber):
    with time_machine.travel(dt.datetime(2026, 3, 1, tzinfo=dt.UTC), tick=False) as clock:
        path = prefs_path(subscriber)
        clock.shift(dt.timedelta(days=366))
        assert client.get(path).status_code == 200
        clock.shift(dt.timedelta(days=400))
        assert client.get(path).status_code == 400


def test_changing_the_address_waits_for_the_new_inbox(client, subscriber):
    old_path = prefs_path(subscriber)
    response = client.post(old_path + "email/", {"new_email": "New@Example.org"})
    assert response.status_code == 200
    assert "Check the new inbox" in response.content.decode()
    subscriber.refresh_from_db()
    assert (subscriber.email, subscriber.pending_email) == ("reader@example.com", "new@example.org")
    [message] = sent_mail()
    assert message.to == ["new@example.org"] and "reader@example.com" not in message.body

    path = link_in(message, "email/confirm")
    assert client.get(path).status_code == 200
    assert Subscriber.objects.get().email == "reader@example.com"  # GET changes nothing
    response = client.post(path)
    assert "Email address changed" in response.content.decode()
    subscriber.refresh_from_db()
    assert (subscriber.email, subscriber.pending_email) == ("new@example.org", "")
    assert client.get(old_path).status_code == 404  # older links are revoked
    assert client.post(path).status_code == 404  # and the change link works once
    assert subscriber.consents.filter(action="change", note__contains="email changed").exists()


def test_asking_for_a_second_new_address_voids_the_first_link(client, subscriber):
    """The first link, already mailed, stops working; one not mailed yet is never sent."""
    client.post(prefs_path(subscriber) + "email/", {"new_email": "first@example.org"})
    [first] = sent_mail()
    client.post(prefs_path(subscriber) + "email/", {"new_email": "second@example.org"})
    first, second = sent_mail()
    assert client.post(link_in(first, "email/confirm")).status_code == 404
    client.post(link_in(second, "email/confirm"))
    assert Subscriber.objects.get().email == "second@example.org"


def test_moving_to_an_address_another_subscriber_has_sends_them_a_manage_link(
    client, subscriber, make_subscriber
):
    make_subscriber(email="taken@example.org")
    response = client.post(prefs_path(subscriber) + "email/", {"new_email": "taken@example.org"})
    assert "Check the new inbox" in response.content.decode()
    [message] = sent_mail()
    assert message.to == ["taken@example.org"] and "/preferences/" in message.body
    subscriber.refresh_from_db()
    assert subscriber.email == "reader@example.com"


def test_the_preference_page_does_not_tell_whether_a_new_address_is_taken(
    client, subscriber, make_subscriber
):
    make_subscriber(email="taken@example.org")
    pages = {}
    for address in ("taken@example.org", "free@example.org"):
        # One frozen second: links on the page carry a timestamp, which would differ otherwise.
        with time_machine.travel("2026-11-29 12:00:00Z", tick=False):
            client.post(prefs_path(subscriber) + "email/", {"new_email": address})
            page = client.get(prefs_path(subscriber)).content.decode()
            export = client.get(prefs_path(subscriber) + "export/").json()
        page = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", page)
        pages[address] = (page.replace(address, "ADDRESS"), export["pending_email"])
    assert pages["taken@example.org"][0] == pages["free@example.org"][0]
    assert [export for _, export in pages.values()] == ["taken@example.org", "free@example.org"]
    assert "waiting to move to" in pages["free@example.org"][0]


def test_an_invalid_new_address_is_refused(client, subscriber):
    response = client.post(prefs_path(subscriber) + "email/", {"new_email": "nope"})
    assert response.status_code == 400
    assert "Enter a valid email address." in response.content.decode()


def test_download_my_data_is_json_of_everything_stored(client, subscriber):
    response = client.get(prefs_path(subscriber) + "export/")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response["Content-Disposition"].startswith("attachment;")
    data = json.loads(response.content)
    assert data["email"] == "reader@example.com"
    assert data["keywords"] == ["<script>alert(1)</script>"]
    assert data["topics"] == [{"slug": "t-llms", "name": "Test LLMs"}]
    assert data["consent_history"][0]["ip"] == "192.0.2.1"
    assert data["preferences"]["max_papers"] == 10


def test_delete_me_asks_first_then_erases_everything_but_a_hash(client, subscriber):
    path = prefs_path(subscriber) + "delete/"
    assert "Delete everything about me" in client.get(path).content.decode()
    assert Subscriber.objects.exists()

    response = client.post(path)
    assert response.status_code == 200 and "Deleted" in response.content.decode()
    assert not Subscriber.objects.exists()
    assert not Interest.objects.exists() and not ConsentRecord.objects.exists()
    suppressed = SuppressedAddress.objects.get()
    assert suppressed.address_hash == address_hash("reader@example.com")
    assert suppressed.reason == "deleted"
    assert client.get(path).status_code == 404


def test_preference_forms_need_csrf(subscriber, topics):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    for suffix, data in [("", form_data(topics)), ("status/", {"action": "pause"}), ("delete/", {}),
                         ("email/", {"new_email": "x@example.org"})]:  # fmt: skip
        assert strict.post(prefs_path(subscriber) + suffix, data).status_code == 403
    subscriber.refresh_from_db()
    assert subscriber.status == "active" and subscriber.max_papers == 10


def test_get_never_changes_state_on_any_token_page(client, subscriber, topics):
    before = (Subscriber.objects.values().get(), ConsentRecord.objects.count())
    base = prefs_path(subscriber)
    unsubscribe = tokens.unsubscribe_url(subscriber).removeprefix("http://testserver")
    for path in [base, base + "delete/", base + "export/", unsubscribe]:
        assert client.get(path).status_code == 200
    for path in [
        base + "status/?action=pause",
        base + "email/?new_email=x@example.org",
        unsubscribe + "resubscribe/",
    ]:
        assert client.get(path).status_code == 405
    assert (Subscriber.objects.values().get(), ConsentRecord.objects.count()) == before
    assert not sent_mail()


def test_a_stored_alias_zone_stays_selected_and_the_page_has_no_browser_guess(
    client, subscriber, topics
):
    """The grouped list still holds an old alias (US/Eastern) and the preference centre never
    lets the browser's zone replace the stored one."""
    subscriber.timezone = "US/Eastern"
    subscriber.save()
    html = client.get(prefs_path(subscriber)).content.decode()
    assert '<option value="US/Eastern" selected>' in html
    assert "data-browser-zone" not in html and "data-weekly-only" in html
    client.post(prefs_path(subscriber), form_data(topics, timezone="US/Eastern", send_hour="6"))
    subscriber.refresh_from_db()
    assert (subscriber.timezone, subscriber.send_hour) == ("US/Eastern", 6)
