"""A worker killed mid-ingest on the embedded broker loses its task (kombu's filesystem transport
deleted the message when the worker fetched it); the sweep finds the run the task left "running"
and the work is done again by another worker."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.utils import timezone

from newsletter.celery import app
from newsletter.lib.broker import EMBEDDED_BROKER_URL, embedded_broker_options
from newsletter.models import Heartbeat
from newsletter.papers import sweep
from newsletter.papers.models import IngestRun, Paper, Source
from newsletter.papers.tasks import ingest_source
from newsletter.tasks import heartbeat
from tests.helpers import database_url_for_children, process_env, start_worker, stop_process_group

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]
DAY = date(2024, 10, 25)
LISTING = os.path.join(os.path.dirname(__file__), "data", "hf", "api_daily_papers_2024-10-25.json")


class Upstream(ThreadingHTTPServer):
    """Hangs on its first request (the worker is killed while it waits), answers the rest."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.requests = 0
        self.first = threading.Event()
        self.release = threading.Event()
        with open(LISTING, "rb") as listing:
            self.body = listing.read()


class Handler(BaseHTTPRequestHandler):
    server: Upstream

    def do_GET(self) -> None:
        self.server.requests += 1
        if self.server.requests == 1:
            self.server.first.set()
            self.server.release.wait(60)
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(self.server.body)))
        self.end_headers()
        self.wfile.write(self.server.body)

    def log_message(self, *args: object) -> None:
        pass


def _wait(condition: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.3)
    return False


def test_the_sweep_recovers_an_ingest_whose_worker_was_killed_mid_task(tmp_path):
    upstream = Upstream()
    threading.Thread(target=upstream.serve_forever, daemon=True).start()
    port = upstream.server_address[1]
    source = Source.objects.create(
        name="local upstream",
        format="hf-json",
        url_template=f"http://127.0.0.1:{port}/?date={{date}}",
    )
    broker_dir = tmp_path / "broker"
    folders = embedded_broker_options(broker_dir)
    env = process_env(DATABASE_URL=database_url_for_children(), BROKER_DIR=str(broker_dir))
    outputs = []
    first = start_worker(env, "--concurrency", "1")
    second = None
    try:
        with app.connection_for_write(EMBEDDED_BROKER_URL, transport_options=folders) as conn:
            ingest_source.apply_async((source.pk, DAY.isoformat()), connection=conn)
            assert upstream.first.wait(60), "the first worker never fetched the listing"
            os.killpg(first.pid, signal.SIGKILL)  # the worker and its pool, mid-task
            outputs.append(first.communicate(timeout=10)[0])
            lost = IngestRun.objects.get(source=source)
            assert lost.status == "running"

            second = start_worker(env, "--concurrency", "1")
            heartbeat.apply_async(kwargs={"name": "after-the-crash"}, connection=conn)
            served = _wait(lambda: Heartbeat.objects.filter(name="after-the-crash").exists(), 45)
            assert served, "the second worker never served a task"
            # The broker has nothing left: the killed worker's task is gone for good.
            assert (
                upstream.requests == 1 and IngestRun.objects.get(source=source).status == "running"
            )

            result = sweep.ingest_runs_sweep(
                dispatch=lambda source_id, day: ingest_source.apply_async(
                    (source_id, day.isoformat()), connection=conn
                ),
                now=timezone.now() + sweep.stuck_after(),
            )
            assert result.requeued == [(source.pk, DAY)]
            done = _wait(lambda: IngestRun.objects.filter(source=source, status="ok").exists(), 45)
    finally:
        upstream.release.set()
        upstream.shutdown()
        if first.poll() is None:
            os.killpg(first.pid, signal.SIGKILL)
        if second is not None:
            outputs.append(stop_process_group(second))
    assert done, "\n".join(outputs)
    lost.refresh_from_db()
    assert lost.status == "failed" and lost.error.startswith(sweep.LOST)
    assert Paper.objects.filter(listings__source=source).count() > 0
