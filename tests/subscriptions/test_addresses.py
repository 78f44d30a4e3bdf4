"""One address normaliser (email-validator: IDNA 2008 / UTS 46, RFC length limits) everywhere."""

import pytest

from subscriptions.addresses import address_hash, address_normalise
from subscriptions.models import Subscriber
from tests.subscriptions.conftest import sent_mail, signup_data

pytestmark = pytest.mark.django_db


def test_a_sharp_s_domain_stays_its_own_domain():
    # IDNA 2003 mapped ß.de to ss.de, someone else's domain.
    assert address_normalise("u@ß.de") == "u@xn--zca.de"
    assert address_hash("u@ß.de") != address_hash("u@ss.de")


@pytest.mark.parametrize(
    "address",
    [
        "a" * 65 + "@example.com",  # 64 octets at most before the @
        "root@localhost",  # a bare host
        "user@[127.0.0.1]",  # an address literal
        "user@example.test",  # a special-use name
        '"quoted local"@example.com',
        "user@xn--n3h.com",  # not a valid IDNA 2008 label (a snowman)
        "user@" + "a" * 64 + ".com",  # a label over 63 octets
    ],
)
def test_the_signup_form_refuses_what_is_not_a_deliverable_address(client, topics, address):
    response = client.post("/", signup_data(email=address))
    assert response.status_code == 200
    assert "Enter a valid email address." in response.content.decode()
    assert not Subscriber.objects.exists()
    assert not sent_mail()


def test_an_address_stored_before_is_found_when_typed_again(client, make_subscriber):
    # Rows written by the earlier normaliser (lower case, ASCII domain) keep their key.
    make_subscriber(email="reader@xn--bcher-kva.de")
    client.post("/new-link/", {"email": "Reader@Bücher.DE"})
    assert [m.to for m in sent_mail()] == [["reader@xn--bcher-kva.de"]]


def test_staff_saving_a_subscriber_store_the_one_normal_form(admin_client, topics):
    data = {
        "email": " Reader@Bücher.DE ",
        "status": "active",
        "pending_email": "",
        "frequency": "daily",
        "weekday": "0",
        "send_hour": "7",
        "timezone": "UTC",
        "max_papers": "10",
        "format": "html",
        "interests-TOTAL_FORMS": "0",
        "interests-INITIAL_FORMS": "0",
        "consents-TOTAL_FORMS": "0",
        "consents-INITIAL_FORMS": "0",
    }
    response = admin_client.post("/admin/subscriptions/subscriber/add/", data)
    assert response.status_code == 302, response.content.decode()[-3000:]
    assert Subscriber.objects.get().email == "reader@xn--bcher-kva.de"
    refused = admin_client.post(
        "/admin/subscriptions/subscriber/add/", data | {"email": "root@localhost"}
    )
    assert refused.status_code == 200
    assert "Enter a valid email address." in refused.content.decode()
    assert Subscriber.objects.count() == 1
