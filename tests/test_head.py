"""HEAD (link checkers, mail scanners) answers as GET does, with no body, and changes nothing: on
every public page, found by walking the URL configuration."""

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from newsletter.digests.links import digest_url
from newsletter.digests.models import Digest, DigestItem
from newsletter.matching.models import Vote
from newsletter.matching.services import feedback_url
from subscriptions import tokens
from subscriptions.models import ConsentRecord, Subscriber
from tests.matching.conftest import DAY1, ROBOTICS, paper_make

# Actions, not pages: they answer only POST (GET and HEAD alike get 405).
POST_ONLY = {
    "subscriptions:preferences_status",
    "subscriptions:email_change",
    "subscriptions:resubscribe",
}


def _path(url: str) -> str:
    return url.split("testserver", 1)[1]


def _public_names(patterns=None, prefix: str = "") -> set[str]:
    """Every named public route: the admin and the provider webhooks aside."""
    names = set()
    for entry in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(entry, URLResolver):
            if entry.namespace not in ("admin", "anymail") and entry.app_name != "anymail":
                space = f"{entry.namespace}:" if entry.namespace else prefix
                names |= _public_names(entry.url_patterns, space)
        elif isinstance(entry, URLPattern) and entry.name:
            names.add(prefix + entry.name)
    return names


@pytest.mark.django_db
def test_every_public_page_answers_head_as_get_and_changes_nothing(client, settings):
    settings.SITE_URL = "http://testserver"
    subscriber = Subscriber.objects.create(
        email="head@example.com", status="pending", pending_email="head-new@example.com"
    )
    paper = paper_make(1, *ROBOTICS[0])
    digest = Digest.objects.create(subscriber=subscriber, day=DAY1, papers_count=1)
    DigestItem.objects.create(digest=digest, paper=paper, rank=1)
    preferences = _path(tokens.preferences_url(subscriber))
    pages = {
        "home": "/",
        "healthz": "/healthz",
        "subscriptions:check_inbox": "/check-your-inbox/",
        "subscriptions:new_link": "/new-link/",
        "subscriptions:confirm": _path(tokens.confirm_url(subscriber)),
        "subscriptions:preferences": preferences,
        "subscriptions:export": preferences + "export/",
        "subscriptions:delete": preferences + "delete/",
        "subscriptions:unsubscribe": _path(tokens.unsubscribe_url(subscriber)),
        "subscriptions:email_change_confirm": _path(tokens.email_change_url(subscriber)),
        "matching:feedback": _path(
            feedback_url(subscriber=subscriber, paper_id=paper.pk, direction="more")
        ),
        "digests:web_copy": _path(digest_url(digest)),
    }
    assert _public_names() == pages.keys() | POST_ONLY, "a new page: add it here"
    actions = {
        "subscriptions:preferences_status": preferences + "status/",
        "subscriptions:email_change": preferences + "email/",
        "subscriptions:resubscribe": _path(tokens.unsubscribe_url(subscriber)) + "resubscribe/",
    }
    urls = [*pages.values(), "/admin/login/", "/confirm/not-a-token/", "/d/not-a-token/"]
    before = Subscriber.objects.values().get()
    for page in urls:
        get = client.get(page)
        head = client.head(page)
        assert head.status_code == get.status_code != 405, page
        assert head.content == b"", page
        assert head["Content-Type"] == get["Content-Type"], page
    for action in actions.values():
        assert client.get(action).status_code == client.head(action).status_code == 405, action
    assert Subscriber.objects.values().get() == before
    assert not ConsentRecord.objects.exists()
    assert not Vote.objects.exists()
