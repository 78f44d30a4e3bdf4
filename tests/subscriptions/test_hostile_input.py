"""Whatever a stranger posts to a public form, the answer is a page, never a server error."""

import pytest
from django.core.cache import cache
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from subscriptions import tokens
from subscriptions.models import Subscriber, Topic

FIELDS = [
    "email",
    "new_email",
    "topics",
    "keywords",
    "excluded_terms",
    "followed_authors",
    "liked_papers",
    "frequency",
    "weekday",
    "send_hour",
    "timezone",
    "max_papers",
    "format",
    "action",
    "username",
    "password",
    "website",
    "List-Unsubscribe",
]

# Values that broke or nearly broke a form before: huge numbers, other scripts' digits, NUL bytes,
# address literals, long local parts, lone surrogates are not sendable over HTTP so they are left out.
NASTY = st.sampled_from(
    [
        "9" * 4301,
        "9" * 20,
        "-1",
        "²",
        "١٢",
        "0x10",
        "1e9",
        "\x00",
        "a\x00b",
        "user@[127.0.0.1]",
        "root@localhost",
        "u@ß.de",
        "a" * 65 + "@example.com",
        "@",
        "",
        " ",
        "<script>alert(1)</script>",
        "Europe/Nowhere",
        "weekly",
        "daily",
        "One-Click",
        "unsubscribe",
    ]
)
TEXT = st.text(st.characters(exclude_categories=["Cs"]), max_size=300)
VALUE = st.one_of(NASTY, TEXT)
FORM_DATA = st.dictionaries(
    st.sampled_from(FIELDS), st.one_of(VALUE, st.lists(VALUE, min_size=1, max_size=4)), max_size=10
)


def _public_form_paths(subscriber: Subscriber) -> list[str]:
    preferences = tokens.preferences_url(subscriber).split("testserver", 1)[1]
    unsubscribe = tokens.unsubscribe_url(subscriber).split("testserver", 1)[1]
    return [
        "/",
        "/new-link/",
        tokens.confirm_url(subscriber).split("testserver", 1)[1],
        preferences,
        preferences + "status/",
        preferences + "email/",
        unsubscribe,
        unsubscribe + "resubscribe/",
        tokens.email_change_url(subscriber).split("testserver", 1)[1],
        preferences + "delete/",
        "/admin/login/",
    ]


@pytest.mark.django_db
@settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=FORM_DATA, which=st.integers(min_value=0, max_value=10))
def test_no_posted_value_gives_a_server_error(client, data, which):
    Topic.objects.get_or_create(
        slug="h-topic", defaults={"name": "H", "group": "G", "description": "H."}
    )
    subscriber, _ = Subscriber.objects.get_or_create(
        email="hostile@example.com", defaults={"status": Subscriber.Status.PENDING}
    )
    subscriber.pending_email = "hostile-new@example.com"
    subscriber.save()
    cache.clear()  # rate limits are not what is under test
    path = _public_form_paths(subscriber)[which]
    response = client.post(path, data)
    assert response.status_code < 500, (path, data)


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/", "/preferences"])
def test_a_4301_digit_topic_id_is_a_form_error(client, path, topics):
    subscriber = Subscriber.objects.create(email="digits@example.com", status="active")
    url = "/" if path == "/" else tokens.preferences_url(subscriber).split("testserver", 1)[1]
    data = {"email": "digits@example.com", "keywords": "x", "frequency": "daily", "weekday": "0"}
    data |= {"topics": ["9" * 4301], "send_hour": "7", "timezone": "UTC", "max_papers": "10"}
    data |= {"format": "html"}
    response = client.post(url, data)
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize("digits", ["²", "١٢"])
def test_digits_of_other_scripts_are_a_form_error(client, digits, topics):
    data = {"email": "digits@example.com", "keywords": "x", "frequency": "daily", "weekday": "0"}
    response = client.post("/", data | {"topics": [digits]})
    assert response.status_code == 200
    assert not Subscriber.objects.exists()
