"""'Email me a new link': the same answer for known and unknown addresses."""

import pytest

from subscriptions.models import Subscriber
from tests.subscriptions.conftest import link_in, sent_mail

pytestmark = pytest.mark.django_db


def test_the_answer_is_identical_for_known_and_unknown_addresses(client, make_subscriber):
    make_subscriber(email="known@example.com")
    known = client.post("/new-link/", {"email": "known@example.com"}, follow=True)
    unknown = client.post("/new-link/", {"email": "unknown@example.com"}, follow=True)
    assert known.status_code == unknown.status_code == 200
    assert known.redirect_chain == unknown.redirect_chain == [("/check-your-inbox/", 302)]
    assert known.content == unknown.content
    [message] = sent_mail()
    assert message.to == ["known@example.com"]
    assert client.get(link_in(message, "preferences")).status_code == 200


def test_a_pending_address_gets_its_confirmation_again(client, make_subscriber):
    make_subscriber(status=Subscriber.Status.PENDING)
    client.post("/new-link/", {"email": "READER@example.com"})
    assert link_in(sent_mail()[0], "confirm")


def test_a_bounced_address_gets_nothing(client, make_subscriber):
    make_subscriber(status=Subscriber.Status.BOUNCED)
    client.post("/new-link/", {"email": "reader@example.com"})
    assert not sent_mail()


def test_links_are_not_resent_within_ten_minutes(client, make_subscriber):
    make_subscriber()
    for _ in range(3):
        client.post("/new-link/", {"email": "reader@example.com"})
    assert len(sent_mail()) == 1


def test_the_form_has_a_honeypot_and_rate_limit(client, make_subscriber, settings):
    make_subscriber()
    client.post("/new-link/", {"email": "reader@example.com", "website": "x"})
    assert not sent_mail()
    settings.SUBSCRIPTIONS_RATE_PER_IP = 1
    assert client.post("/new-link/", {"email": "a@example.com"}).status_code == 429


def test_an_invalid_address_gets_the_form_back(client):
    response = client.post("/new-link/", {"email": "<script>@x"})
    assert response.status_code == 400
    assert "<script>@x" not in response.content.decode()
