"""Stopped, suppressed and oddly spelled addresses: nobody gets back in without a fresh confirmation."""

import io

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command

from subscriptions import services, tokens
from subscriptions.addresses import address_hash, address_normalise
from subscriptions.models import Subscriber, SuppressedAddress
from subscriptions.preferences import Preferences
from tests.subscriptions.conftest import link_in, sent_mail, signup_data

pytestmark = pytest.mark.django_db

HEADER = "email,topics,keywords,exclude,frequency,send_hour,timezone,max_papers\n"


def _path(url: str) -> str:
    return url.removeprefix("http://testserver")


def _import(tmp_path, body: str, *args: str) -> str:
    path = tmp_path / "subscribers.csv"
    path.write_text(HEADER + body, encoding="utf-8")
    out = io.StringIO()
    call_command("import_subscribers", str(path), *args, stdout=out)
    return out.getvalue()


@pytest.mark.parametrize("reason", ["staff", "bounced", "complained"])
def test_suppressing_revokes_every_link_sent_before(client, make_subscriber, reason):
    subscriber = make_subscriber()
    old_unsubscribe = _path(tokens.unsubscribe_url(subscriber))
    old_preferences = _path(tokens.preferences_url(subscriber))
    services.subscriber_suppress(subscriber=subscriber, reason=reason)

    assert client.post(old_unsubscribe + "resubscribe/").status_code == 404
    assert client.post(old_preferences + "status/", {"action": "resubscribe"}).status_code == 404
    assert Subscriber.objects.get().status != Subscriber.Status.ACTIVE
    assert SuppressedAddress.objects.filter(address_hash=address_hash(subscriber.email)).exists()


def test_a_strangers_signup_does_not_change_an_unsubscribed_subscription(client, topics):
    subscriber = Subscriber.objects.create(email="reader@example.com", status="active")
    services.subscriber_update_preferences(
        subscriber=subscriber,
        preferences=Preferences(keywords=["protein folding"], topics=[topics[0]]),
        meta=services.ConsentMeta(),
    )
    Subscriber.objects.filter(pk=subscriber.pk).update(confirmed_at="2026-01-01T00:00:00Z")
    services.subscriber_unsubscribe(subscriber=subscriber, meta=services.ConsentMeta())

    client.post("/", signup_data(keywords="stranger's interest", topics=[topics[2].pk]))

    subscriber.refresh_from_db()
    assert subscriber.keywords == ["protein folding"]
    assert list(subscriber.topics.all()) == [topics[0]]
    assert subscriber.status == Subscriber.Status.PENDING  # it returns only on confirming
    assert "protein folding" in sent_mail()[0].body  # the owner sees what they would get back
    client.post(link_in(sent_mail()[0], "confirm"))
    assert Subscriber.objects.get().status == Subscriber.Status.ACTIVE


def test_an_import_never_activates_an_unsubscribed_address_a_stranger_signed_up(
    client, topics, tmp_path
):
    subscriber = Subscriber.objects.create(email="reader@example.com", status="active")
    services.subscriber_unsubscribe(subscriber=subscriber, meta=services.ConsentMeta())
    client.post("/", signup_data())

    out = _import(tmp_path, "reader@example.com,t-llms,,,,,,\n", "--confirmed")

    assert "skipped 1" in out and "never resubscribes" in out
    assert Subscriber.objects.get().status == Subscriber.Status.PENDING


def test_international_domains_are_one_address_in_either_spelling(client, topics, tmp_path):
    assert address_normalise("User@Bücher.de") == "user@xn--bcher-kva.de"
    assert address_hash("user@bücher.de") == address_hash("USER@xn--bcher-kva.de")

    client.post("/", signup_data(email="user@bücher.de"))
    client.post("/", signup_data(email="user@xn--bcher-kva.de"))
    assert Subscriber.objects.count() == 1

    services.subscriber_delete(subscriber=Subscriber.objects.get())
    out = _import(tmp_path, "user@xn--bcher-kva.de,t-llms,,,,,,\n", "--confirmed")
    assert "suppressed" in out
    assert not Subscriber.objects.exists()


def test_an_unencodable_domain_is_an_invalid_address():
    with pytest.raises(ValidationError):
        address_normalise("a@" + "x" * 70 + ".com")  # a DNS label is at most 63 characters


def test_a_subscribers_time_zone_must_be_a_real_one(make_subscriber):
    subscriber = make_subscriber(timezone="Not/AZone")
    with pytest.raises(ValidationError) as error:
        subscriber.full_clean()
    assert "timezone" in error.value.message_dict
    subscriber.timezone = "Europe/Paris"
    subscriber.full_clean()
