"""EMAIL_PROVIDER picks the backend; each provider's required keys are asked for by name."""

from __future__ import annotations

import runpy

import pytest
from django.core.exceptions import ImproperlyConfigured

from tests.helpers import ROOT

SETTINGS_FILE = ROOT / "newsletter" / "settings.py"
NAMES = [
    "DEBUG",
    "EMAIL_PROVIDER",
    "MAILJET_API_KEY",
    "MAILJET_SECRET_KEY",
    "POSTAL_API_URL",
    "POSTAL_API_KEY",
    "POSTAL_WEBHOOK_KEY",
    "MAILGUN_API_KEY",
    "SPARKPOST_API_KEY",
    "ANYMAIL_WEBHOOK_SECRET",
    "MAILGUN_WEBHOOK_SIGNING_KEY",
    "DELIVERY_SENDING_TIMEOUT",
    "DELIVERY_RATE_PER_SECOND",
    "CELERY_TASK_SOFT_TIME_LIMIT",
    "CELERY_TASK_TIME_LIMIT",
    "REDIS_URL",
    "DATABASE_URL",
]


@pytest.fixture
def load(monkeypatch, tmp_path):
    def load(**env: str) -> dict:
        for name in NAMES:
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("VAR_DIR", str(tmp_path / "var"))
        monkeypatch.setenv("DEBUG", "1")
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        return runpy.run_path(str(SETTINGS_FILE))

    return load


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"EMAIL_PROVIDER": "mailjet", "MAILJET_API_KEY": "k"}, "MAILJET_SECRET_KEY is required"),
        ({"EMAIL_PROVIDER": "sparkpost"}, "SPARKPOST_API_KEY is required"),
        ({"EMAIL_PROVIDER": "postal", "POSTAL_API_KEY": "k"}, "POSTAL_API_URL is required"),
        (
            {"EMAIL_PROVIDER": "postal", "POSTAL_API_KEY": "k", "POSTAL_API_URL": "https://p.io"},
            "POSTAL_WEBHOOK_KEY is required when EMAIL_PROVIDER is postal",
        ),
        (
            {"EMAIL_PROVIDER": "mailgun", "MAILGUN_API_KEY": "k"},
            "MAILGUN_WEBHOOK_SIGNING_KEY is required when EMAIL_PROVIDER is mailgun",
        ),
        ({"DELIVERY_SENDING_TIMEOUT": "10"}, "DELIVERY_SENDING_TIMEOUT must be between 360"),
        ({"DELIVERY_RATE_PER_SECOND": "-1"}, "DELIVERY_RATE_PER_SECOND must be between 0"),
    ],
)
def test_a_missing_or_bad_value_is_named(load, env, message):
    with pytest.raises(ImproperlyConfigured, match=message):
        load(**env)


def test_an_anymail_provider_gets_its_backend_keys_and_webhook_secrets(load):
    loaded = load(
        EMAIL_PROVIDER="mailjet",
        MAILJET_API_KEY="public",
        MAILJET_SECRET_KEY="private",
        ANYMAIL_WEBHOOK_SECRET="user:pass",
        MAILGUN_WEBHOOK_SIGNING_KEY="signing",
    )
    assert loaded["EMAIL_BACKEND"] == "anymail.backends.mailjet.EmailBackend"
    assert loaded["ANYMAIL"] == {
        "MAILJET_API_KEY": "public",
        "MAILJET_SECRET_KEY": "private",
        "WEBHOOK_SECRET": "user:pass",
        "MAILGUN_WEBHOOK_SIGNING_KEY": "signing",
    }


def test_a_stuck_delivery_waits_longer_than_the_longest_task(load):
    loaded = load(CELERY_TASK_SOFT_TIME_LIMIT="100", CELERY_TASK_TIME_LIMIT="120")
    assert loaded["DELIVERY_SENDING_TIMEOUT"] == 180
