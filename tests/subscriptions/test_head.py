"""HEAD (link checkers, mail scanners) answers as GET does, with no body, and changes nothing."""

import pytest

from subscriptions import tokens
from subscriptions.models import ConsentRecord, Subscriber


def _path(url: str) -> str:
    return url.split("testserver", 1)[1]


@pytest.mark.django_db
def test_every_page_answers_head_as_get_and_changes_nothing(client, admin_user):
    subscriber = Subscriber.objects.create(
        email="head@example.com", status="pending", pending_email="head-new@example.com"
    )
    preferences = _path(tokens.preferences_url(subscriber))
    pages = [
        "/",
        "/check-your-inbox/",
        "/new-link/",
        "/healthz",
        "/admin/login/",
        _path(tokens.confirm_url(subscriber)),
        preferences,
        preferences + "export/",
        preferences + "delete/",
        _path(tokens.unsubscribe_url(subscriber)),
        _path(tokens.email_change_url(subscriber)),
        "/confirm/not-a-token/",
    ]
    before = Subscriber.objects.values().get()
    for page in pages:
        get = client.get(page)
        head = client.head(page)
        assert head.status_code == get.status_code != 405, page
        assert head.content == b"", page
        assert head["Content-Type"] == get["Content-Type"], page
    assert Subscriber.objects.values().get() == before
    assert not ConsentRecord.objects.exists()
