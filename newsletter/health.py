"""Checks for ``/healthz``: can we reach the database and the Celery broker, and is the current
listing day's run on time (a late run is a 503 operators can alert on)?"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from django.conf import settings
from django.db import connections
from kombu import Connection

logger = logging.getLogger(__name__)

BROKER_TIMEOUT_SECONDS = 2


def check_database() -> bool:
    try:
        with connections["default"].cursor() as cursor:
            cursor.execute("SELECT 1")
            return cursor.fetchone() == (1,)
    except Exception:
        logger.exception("health check: database unreachable")
        return False


def check_broker(url: str | None = None, transport_options: dict | None = None) -> bool:
    url = url or settings.CELERY_BROKER_URL
    options = (
        transport_options
        if transport_options is not None
        else settings.CELERY_BROKER_TRANSPORT_OPTIONS
    )
    if url.startswith("filesystem://"):
        return _filesystem_broker_ok(options)
    try:
        with Connection(
            url, connect_timeout=BROKER_TIMEOUT_SECONDS, transport_options=options
        ) as conn:
            conn.ensure_connection(max_retries=1, timeout=BROKER_TIMEOUT_SECONDS)
            conn.default_channel  # noqa: B018 - opening a channel makes Redis answer a PING
        return True
    except Exception:
        logger.exception("health check: broker unreachable at %s", url.split("@")[-1])
        return False


def _filesystem_broker_ok(options: dict) -> bool:
    folder = Path(options.get("data_folder_out", ""))
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return False
    return os.access(folder, os.W_OK)


def check_daily_run() -> str:
    """ "ok", or "late: <why>" when the current listing day's run is past its deadline."""
    from django.utils import timezone

    from newsletter.daily.run import run_late

    try:
        why = run_late(now=timezone.now())
    except Exception:
        logger.exception("health check: the daily run could not be read")
        return "unknown"
    return f"late: {why}" if why else "ok"


def health_status() -> dict[str, str]:
    database = check_database()
    return {
        "database": "ok" if database else "down",
        "broker": "ok" if check_broker() else "down",
        "daily_run": check_daily_run() if database else "unknown",
    }
