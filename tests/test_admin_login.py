"""Staff sign-in is throttled per client IP and per account, with a message that says so."""

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.core.cache import cache

pytestmark = pytest.mark.django_db

THROTTLED = "Too many failed sign-in attempts"


@pytest.fixture(autouse=True)
def _limits(settings):
    settings.ADMIN_LOGIN_MAX_FAILURES = 3
    settings.ADMIN_LOGIN_LOCKOUT_MINUTES = 15
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def staff(db):
    return get_user_model().objects.create_superuser("boss", "boss@example.com", "right-horse-42")


def _sign_in(client, username, password, ip="198.51.100.7"):
    return client.post(
        "/admin/login/?next=/admin/",
        {"username": username, "password": password},
        REMOTE_ADDR=ip,
    )


def test_an_account_is_locked_after_its_failures_even_for_the_right_password(client, staff):
    for _ in range(3):
        response = _sign_in(client, "boss", "wrong")
        assert THROTTLED not in response.content.decode()
    response = _sign_in(client, "boss", "right-horse-42", ip="203.0.113.50")  # any IP
    assert response.status_code == 200
    assert "Wait 15 minutes, then try again." in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_one_ip_is_locked_after_failures_across_accounts(client, staff):
    for i in range(12):  # four times the per-account limit
        _sign_in(client, f"guess{i}", "wrong")
    response = _sign_in(client, "boss", "right-horse-42")
    assert THROTTLED in response.content.decode()
    other = _sign_in(client, "boss", "right-horse-42", ip="192.0.2.1")
    assert other.status_code == 302  # the owner from elsewhere still gets in


def test_signing_in_forgets_the_accounts_earlier_failures(client, staff):
    _sign_in(client, "boss", "wrong")
    _sign_in(client, "boss", "wrong")
    assert _sign_in(client, "boss", "right-horse-42").status_code == 302
    client.logout()
    _sign_in(client, "boss", "wrong", ip="192.0.2.2")
    _sign_in(client, "boss", "wrong", ip="192.0.2.2")
    assert _sign_in(client, "boss", "right-horse-42", ip="192.0.2.3").status_code == 302


def test_the_lockout_ends(client, staff, settings, tmp_path):
    # Frozen time moves the file cache's clock; Redis keeps its own.
    settings.CACHES = {
        "default": {
            "BACKEND": "newsletter.lib.filecache.SharedFileCache",
            "LOCATION": str(tmp_path / "cache"),
        }
    }
    with time_machine.travel("2026-11-29 10:00:00Z", tick=False) as clock:
        for _ in range(3):
            _sign_in(client, "boss", "wrong")
        assert THROTTLED in _sign_in(client, "boss", "right-horse-42").content.decode()
        clock.shift(16 * 60)
        assert _sign_in(client, "boss", "right-horse-42").status_code == 302
