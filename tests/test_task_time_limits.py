"""A runaway task is killed at its hard time limit, even inside a C call that holds the
interpreter, and the worker goes on serving the next task."""

from __future__ import annotations

import subprocess
import time
import uuid

import pytest

from newsletter.celery import app
from newsletter.lib.broker import EMBEDDED_BROKER_URL, embedded_broker_options
from newsletter.models import Heartbeat
from newsletter.tasks import heartbeat
from tests.helpers import (
    database_url_for_children,
    process_env,
    start_worker,
    stop_process_group,
)
from tests.worker_tasks import runaway

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def _wait_for(name: str, seconds: float, worker: subprocess.Popen) -> float | None:
    """Seconds until a Heartbeat called ``name`` exists, or None."""
    started = time.monotonic()
    while time.monotonic() - started < seconds and worker.poll() is None:
        if Heartbeat.objects.filter(name=name).exists():
            return time.monotonic() - started
        time.sleep(0.2)
    return None


def test_a_runaway_task_is_killed_at_its_hard_limit_and_the_worker_serves_the_next(tmp_path):
    name = f"runaway-{uuid.uuid4().hex[:8]}"
    broker_dir = tmp_path / "broker"
    env = process_env(
        DATABASE_URL=database_url_for_children(),
        BROKER_DIR=str(broker_dir),
        DJANGO_SETTINGS_MODULE="tests.worker_settings",
        CELERY_TASK_SOFT_TIME_LIMIT="1",
        CELERY_TASK_TIME_LIMIT="3",
    )
    worker = start_worker(env, "--concurrency", "1")
    try:
        folders = embedded_broker_options(broker_dir)
        with app.connection_for_write(EMBEDDED_BROKER_URL, transport_options=folders) as conn:
            # Queued from here, with this process' own (default, longer) time limits.
            runaway.apply_async(kwargs={"name": name}, connection=conn)
            started = _wait_for(name, 60, worker)
            heartbeat.apply_async(kwargs={"name": f"{name}-next"}, connection=conn)
        sent = time.monotonic()
        served = _wait_for(f"{name}-next", 30, worker)
        waited = time.monotonic() - sent
    finally:
        output = stop_process_group(worker)
    assert started is not None, f"the runaway task never started:\n{output}"
    assert served is not None, f"the next task was not served within 30 s:\n{output}"
    assert waited < 15
    assert "Hard time limit (3" in output and "tests.runaway" in output, output
