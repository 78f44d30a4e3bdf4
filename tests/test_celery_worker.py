"""A task sent through a real broker is run by a real worker process, and its effect lands in the database."""

from __future__ import annotations

import os
import subprocess
import time
import uuid
from urllib.parse import urlsplit

import pytest

from newsletter.celery import app
from newsletter.lib.broker import EMBEDDED_BROKER_URL, embedded_broker_options
from newsletter.models import Heartbeat
from newsletter.tasks import heartbeat
from tests.helpers import ROOT, database_url_for_children, process_env, require_service

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def _run_heartbeat_through(
    *, broker_url: str, transport_options: dict, env: dict[str, str]
) -> None:
    name = f"test-{uuid.uuid4().hex[:12]}"
    queue = f"test-queue-{name}"
    worker = subprocess.Popen(
        [str(ROOT / "bin" / "worker"), "--queues", queue, "--concurrency", "1"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        with app.connection_for_write(broker_url, transport_options=transport_options) as conn:
            heartbeat.apply_async(kwargs={"name": name}, queue=queue, connection=conn)
        deadline = time.monotonic() + 45
        while time.monotonic() < deadline and worker.poll() is None:
            if Heartbeat.objects.filter(name=name).exists():
                break
            time.sleep(0.3)
    finally:
        worker.terminate()
        output = worker.communicate(timeout=30)[0]
    beat = Heartbeat.objects.filter(name=name).first()
    assert beat is not None, f"the worker never ran the task; its output:\n{output}"
    assert beat.runs == 1


def test_a_worker_on_redis_runs_a_task_into_the_database():
    redis_url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    parts = urlsplit(redis_url)
    require_service("Redis", parts.hostname or "127.0.0.1", parts.port or 6379)
    env = process_env(DATABASE_URL=database_url_for_children(), REDIS_URL=redis_url)
    _run_heartbeat_through(
        broker_url=redis_url, transport_options={"visibility_timeout": 3600}, env=env
    )


def test_the_embedded_broker_needs_no_server(tmp_path):
    broker_dir = tmp_path / "broker"
    env = process_env(DATABASE_URL=database_url_for_children(), BROKER_DIR=str(broker_dir))
    folders = embedded_broker_options(broker_dir)
    _run_heartbeat_through(broker_url=EMBEDDED_BROKER_URL, transport_options=folders, env=env)
