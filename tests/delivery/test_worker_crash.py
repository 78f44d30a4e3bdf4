"""A real worker on the real broker, SIGKILLed in the middle of a batch and started again.

Every subscriber's email arrives at the SMTP server exactly once: rows the dead worker had claimed
but not handed over are queued again by the sweep, and the restarted worker sends only what is
still queued. A message the worker was handing over at the very moment of the kill is recorded as
uncertain (never resent) and arrived at most once.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
import uuid
from collections import Counter
from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from newsletter.delivery import services, tasks
from newsletter.delivery.models import Delivery
from subscriptions.models import Subscriber
from tests.delivery.conftest import enqueue_welcome
from tests.helpers import ROOT, database_url_for_children, process_env, require_service

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

State = Delivery.State
COUNT = 24


def _worker_env(smtp_port: int, var_dir) -> dict[str, str]:
    broker = (
        {"REDIS_URL": settings.REDIS_URL}
        if settings.REDIS_URL
        else {"BROKER_DIR": str(settings.BROKER_DIR)}
    )
    return process_env(
        DATABASE_URL=database_url_for_children(),
        VAR_DIR=str(var_dir),
        EMAIL_PROVIDER="smtp",
        EMAIL_HOST="127.0.0.1",
        EMAIL_PORT=str(smtp_port),
        EMAIL_USE_TLS="0",
        DELIVERY_RATE_PER_SECOND="8",
        DELIVERY_BATCH_SIZE="8",
        SITE_URL="http://testserver",
        **broker,
    )


def _start_worker(env: dict[str, str], queue: str) -> subprocess.Popen:
    return subprocess.Popen(
        [str(ROOT / "bin" / "worker"), "--concurrency", "1", "--pool", "prefork", "-Q", queue],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its own process group: the kill takes the pool child too
    )


def _wait(condition, seconds: float, worker: subprocess.Popen) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        if worker.poll() is not None:
            return False
        time.sleep(0.1)
    return False


def test_a_worker_killed_mid_batch_and_restarted_sends_each_email_once(
    smtp_server, tmp_path, monkeypatch
):
    if settings.REDIS_URL:
        from urllib.parse import urlsplit

        parts = urlsplit(settings.REDIS_URL)
        require_service("Redis", parts.hostname or "127.0.0.1", parts.port or 6379)
    subscribers = [
        Subscriber.objects.create(email=f"crash{i:02d}@example.com", status="active")
        for i in range(COUNT)
    ]
    ids = [enqueue_welcome(s).pk for s in subscribers]
    # A queue of its own, so that no other test's leftover task runs in this worker.
    queue = f"test-crash-{uuid.uuid4().hex[:12]}"
    monkeypatch.setattr(
        tasks.deliveries_send_task,
        "delay",
        lambda ids: tasks.deliveries_send_task.apply_async(args=[ids], queue=queue),
    )
    env = _worker_env(smtp_server.port, tmp_path)
    worker = _start_worker(env, queue)
    output = ""
    try:
        for start in range(0, COUNT, 8):
            tasks.deliveries_send_task.delay(ids[start : start + 8])
        started = _wait(lambda: len(smtp_server.received) >= 5, 60, worker)
        os.killpg(worker.pid, signal.SIGKILL)
        output += worker.communicate(timeout=30)[0]
        assert started, f"the worker never sent anything:\n{output}"
        assert len(smtp_server.received) < COUNT, "the batch finished before the kill"

        # What a later beat tick does, once the dead worker's rows are past their deadline.
        later = timezone.now() + timedelta(hours=1)
        swept = services.deliveries_sweep(now=later)
        assert swept["nudged"] >= 1

        worker = _start_worker(env, queue)
        unfinished = (State.QUEUED, State.SENDING, State.RETRY)
        done = _wait(lambda: not Delivery.objects.filter(state__in=unfinished).exists(), 90, worker)
        assert done, f"deliveries left: {Counter(Delivery.objects.values_list('state', flat=True))}"
    finally:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGTERM)
            output += worker.communicate(timeout=30)[0]

    arrived = Counter(r.rcpt_tos[0] for r in smtp_server.received)
    states = dict(Delivery.objects.values_list("to_email", "state"))
    assert max(arrived.values()) == 1, f"sent twice: {arrived}"
    uncertain = [email for email, state in states.items() if state == State.UNCERTAIN]
    assert len(uncertain) <= 1  # at most the one message in flight at the kill
    assert {e for e, s in states.items() if s == State.SENT} == set(arrived) - set(uncertain)
    assert set(states.values()) <= {State.SENT, State.UNCERTAIN}
