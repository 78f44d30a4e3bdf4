"""Liveness checks for ``/healthz``: can we reach the database and the Celery broker?"""

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


def health_status() -> dict[str, str]:
    return {
        "database": "ok" if check_database() else "down",
        "broker": "ok" if check_broker() else "down",
    }
