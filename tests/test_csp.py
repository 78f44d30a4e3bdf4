"""The Content-Security-Policy header: on every page, error pages included (not Django's debug ones)."""

import pytest

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("path", ["/", "/new-link/", "/admin/login/", "/healthz", "/no-such-page/"])
def test_every_response_carries_the_policy(client, path):
    policy = client.get(path)["Content-Security-Policy"]
    assert "default-src 'self'" in policy and "'unsafe-inline'" not in policy


def test_django_debug_error_pages_keep_their_inline_styles(client, settings):
    settings.DEBUG = True
    assert "Content-Security-Policy" not in client.get("/no-such-page/")
    assert "Content-Security-Policy" in client.get("/new-link/")
