"""Settings come from the environment; a bad value stops start-up with a message naming the variable."""

import os
import runpy
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

ROOT = Path(__file__).resolve().parent.parent
SETTINGS_FILE = ROOT / "newsletter" / "settings.py"
VARIABLES = [
    "DEBUG",
    "SECRET_KEY",
    "SITE_URL",
    "ALLOWED_HOSTS",
    "DATABASE_URL",
    "REDIS_URL",
    "EMAIL_PROVIDER",
    "POSTMARK_SERVER_TOKEN",
    "EMAIL_HOST",
    "EMAIL_PORT",
    "EMAIL_USE_TLS",
    "EMAIL_USE_SSL",
    "CELERY_TASK_SOFT_TIME_LIMIT",
    "CELERY_TASK_TIME_LIMIT",
    "LOG_LEVEL",
    "MAILGUN_API_KEY",
    "MAILGUN_API_URL",
    "SECURE_SSL_REDIRECT",
    "SECURE_HSTS_SECONDS",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS",
    "SECURE_HSTS_PRELOAD",
]


@pytest.fixture
def load_settings(monkeypatch, tmp_path):
    """Evaluate settings.py afresh with exactly the given variables (plus a private VAR_DIR)."""

    def load(**env: str) -> dict:
        for name in VARIABLES:
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("VAR_DIR", str(tmp_path / "var"))
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        return runpy.run_path(str(SETTINGS_FILE))

    return load


GOOD_KEY = "tests-0123456789-abcdefghijklmnopqrstuvwxyz-ABCDEFGHIJ"


def test_debug_is_off_unless_set(load_settings):
    assert load_settings(SECRET_KEY=GOOD_KEY)["DEBUG"] is False
    assert load_settings(DEBUG="yes")["DEBUG"] is True


def test_times_are_utc(load_settings):
    loaded = load_settings(SECRET_KEY=GOOD_KEY)
    assert loaded["TIME_ZONE"] == "UTC" and loaded["USE_TZ"] is True


def test_production_shape_reads_postgres_and_redis(load_settings):
    loaded = load_settings(
        SECRET_KEY=GOOD_KEY,
        DATABASE_URL="postgres://app:pw@db:5432/digest",
        REDIS_URL="redis://cache:6379/1",
        ALLOWED_HOSTS="papers.example.org,www.papers.example.org",
        SITE_URL="https://papers.example.org/",
    )
    assert loaded["DATABASES"]["default"]["ENGINE"] == "django.db.backends.postgresql"
    assert loaded["DATABASES"]["default"]["NAME"] == "digest"
    assert loaded["CELERY_BROKER_URL"] == "redis://cache:6379/1"
    assert loaded["CACHES"]["default"]["BACKEND"].endswith("RedisCache")
    assert loaded["ALLOWED_HOSTS"] == ["papers.example.org", "www.papers.example.org"]
    assert loaded["SITE_URL"] == "https://papers.example.org"
    assert loaded["SESSION_COOKIE_SECURE"] is True


def test_redis_visibility_timeout_outlasts_the_longest_task(load_settings):
    loaded = load_settings(SECRET_KEY=GOOD_KEY, REDIS_URL="redis://cache:6379/0")
    timeout = loaded["CELERY_BROKER_TRANSPORT_OPTIONS"]["visibility_timeout"]
    assert timeout > loaded["CELERY_TASK_TIME_LIMIT"] > loaded["CELERY_TASK_SOFT_TIME_LIMIT"]


def test_embedded_default_needs_no_servers(load_settings):
    loaded = load_settings(DEBUG="1")
    # One cache for every process (rate limits), in files under VAR_DIR.
    assert loaded["CACHES"]["default"]["BACKEND"] == "newsletter.lib.filecache.SharedFileCache"
    assert loaded["CACHES"]["default"]["LOCATION"].startswith(str(loaded["VAR_DIR"]))
    assert loaded["DATABASES"]["default"]["ENGINE"] == "django.db.backends.sqlite3"
    assert loaded["CELERY_BROKER_URL"].startswith("filesystem://")
    assert loaded["EMAIL_BACKEND"] == "newsletter.lib.outbox.OutboxBackend"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"DEBUG": "maybe"}, "DEBUG must be a boolean"),
        ({}, "SECRET_KEY is required when DEBUG is off"),
        ({"SECRET_KEY": "short"}, "SECRET_KEY must be at least 32 characters"),
        ({"SECRET_KEY": "a" * 32}, "SECRET_KEY must have at least 10 distinct characters"),
        ({"SECRET_KEY": "abcde" * 12}, "SECRET_KEY must have at least 10 distinct characters"),
        ({"DEBUG": "1", "SITE_URL": "papers.example.org"}, "SITE_URL must be a URL"),
        ({"DEBUG": "1", "DATABASE_URL": "mysql://db/x"}, "DATABASE_URL must be a URL"),
        ({"DEBUG": "1", "REDIS_URL": "localhost:6379"}, "REDIS_URL must be a URL"),
        (
            {"DEBUG": "1", "ALLOWED_HOSTS": "a.org,,b.org"},
            "ALLOWED_HOSTS must be a comma-separated list",
        ),
        ({"DEBUG": "1", "EMAIL_PROVIDER": "carrier-pigeon"}, "EMAIL_PROVIDER must be one of"),
        ({"DEBUG": "1", "EMAIL_PROVIDER": "postmark"}, "POSTMARK_SERVER_TOKEN is required"),
        ({"DEBUG": "1", "EMAIL_PROVIDER": "smtp"}, "EMAIL_HOST is required"),
        (
            {"DEBUG": "1", "EMAIL_PROVIDER": "smtp", "EMAIL_HOST": "mx", "EMAIL_PORT": "99999"},
            "EMAIL_PORT must be between 1 and 65535",
        ),
        (
            {"DEBUG": "1", "CELERY_TASK_SOFT_TIME_LIMIT": "ten"},
            "CELERY_TASK_SOFT_TIME_LIMIT must be a whole",
        ),
        (
            {"DEBUG": "1", "CELERY_TASK_SOFT_TIME_LIMIT": "100", "CELERY_TASK_TIME_LIMIT": "50"},
            "CELERY_TASK_TIME_LIMIT must be greater",
        ),
        ({"DEBUG": "1", "LOG_LEVEL": "loud"}, "LOG_LEVEL must be one of"),
    ],
)
def test_a_bad_value_names_the_variable(load_settings, env, message):
    with pytest.raises(ImproperlyConfigured, match=message):
        load_settings(**env)


def test_start_up_stops_with_the_message(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in VARIABLES}
    env.update(DEBUG="perhaps", VAR_DIR=str(tmp_path), DJANGO_SETTINGS_MODULE="newsletter.settings")
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert result.returncode != 0
    assert "DEBUG must be a boolean" in result.stderr


def test_the_values_in_env_example_start_the_service(load_settings, monkeypatch, tmp_path):
    """Copying .env.example to .env (and setting SECRET_KEY) gives a configuration that starts."""
    example = (ROOT / ".env.example").read_text().splitlines()
    values = dict(line.split("=", 1) for line in example if line and not line.startswith("#"))
    for name in values:
        monkeypatch.delenv(name, raising=False)
    values.update(SECRET_KEY=GOOD_KEY)
    monkeypatch.chdir(tmp_path)  # the relative folders (./var/...) land here
    loaded = load_settings(**values)
    assert loaded["DEBUG"] is False
    assert loaded["EMAIL_BACKEND"] == "newsletter.lib.outbox.OutboxBackend"
    assert loaded["DEFAULT_FROM_EMAIL"] == "Daily Papers Digest <digest@localhost>"


def test_hsts_subdomains_and_preload_come_from_the_environment(load_settings):
    loaded = load_settings(SECRET_KEY=GOOD_KEY)
    assert (loaded["SECURE_HSTS_INCLUDE_SUBDOMAINS"], loaded["SECURE_HSTS_PRELOAD"]) == (
        False,
        False,
    )
    loaded = load_settings(
        SECRET_KEY=GOOD_KEY,
        SECURE_HSTS_SECONDS="31536000",
        SECURE_HSTS_INCLUDE_SUBDOMAINS="1",
        SECURE_HSTS_PRELOAD="yes",
    )
    assert (loaded["SECURE_HSTS_INCLUDE_SUBDOMAINS"], loaded["SECURE_HSTS_PRELOAD"]) == (True, True)


def test_the_deploy_check_finds_nothing_in_a_production_configuration(tmp_path):
    # The browser test sets DJANGO_ALLOW_ASYNC_UNSAFE for its own process; production never does.
    env = {
        k: v for k, v in os.environ.items() if k not in {*VARIABLES, "DJANGO_ALLOW_ASYNC_UNSAFE"}
    }
    env.update(
        DJANGO_SETTINGS_MODULE="newsletter.settings",
        VAR_DIR=str(tmp_path),
        SECRET_KEY="Kq8-xV2_pL5nR9tZ3wY7bC1dF4gH6jM0sA8eU2iO5kN7-Xr3Tq9Lz1Wv",
        SITE_URL="https://papers.example.org",
        ALLOWED_HOSTS="papers.example.org",
        SECURE_SSL_REDIRECT="1",
        SECURE_HSTS_SECONDS="31536000",
        SECURE_HSTS_INCLUDE_SUBDOMAINS="1",
        SECURE_HSTS_PRELOAD="1",
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "DEBUG"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout
