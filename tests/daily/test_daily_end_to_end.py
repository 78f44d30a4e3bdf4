"""The daily run end to end: beat's task, a real worker process, the real broker, an SMTP server.

Three readers with different interests in Berlin, New York and Tokyo each receive exactly one
digest of a day, at their own hour (the test sets the clock through the task's ``now``), with the
papers matching picked for them; running the day again sends nothing; a paper sent yesterday is
not sent today; a worker killed in the middle of a day and started again still gives exactly one
digest each (or, for the one email it may have been handing over at that moment, a delivery
recorded as uncertain and never sent twice). The suite runs this on PostgreSQL + Redis and on the
embedded default (SQLite + the filesystem broker), whichever the suite runs on.
"""

from __future__ import annotations

import functools
import os
import signal
import subprocess
import threading
import time
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from email import message_from_bytes, policy
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import pytest
from aiosmtpd.controller import Controller
from django.conf import settings
from django.utils import timezone

from newsletter.celery import app
from newsletter.daily.models import DailyRun
from newsletter.daily.tasks import daily_sweep_task, daily_tick_task
from newsletter.delivery.models import Delivery
from newsletter.delivery.services import deliveries_sweep
from newsletter.digests.models import Digest, DigestItem
from newsletter.digests.services import digest_key
from newsletter.matching.services import rankings_for_day
from newsletter.papers.models import IngestRun, Source
from tests.daily.daily_helpers import CAPTURES, listing_for, reader
from tests.helpers import ROOT, database_url_for_children, free_port, process_env, require_service

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

YESTERDAY, TODAY, TOMORROW = date(2026, 3, 2), date(2026, 3, 3), date(2026, 3, 4)


def at(day: date, hour: int) -> str:
    """An ISO moment on ``day`` (UTC) for the task's ``now``."""
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC).isoformat()


class Inbox:
    """An SMTP server in the test: every message, by recipient."""

    def __init__(self) -> None:
        self.messages: dict[str, list] = defaultdict(list)
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        message = message_from_bytes(envelope.content, policy=policy.default)
        with self.lock:
            for address in envelope.rcpt_tos:
                self.messages[address].append(message)
        return "250 OK"

    def days(self, address: str) -> list[str]:
        """The listing day of each digest ``address`` received (from the ledger, by Message-ID)."""
        keys = []
        for message in self.messages.get(address, []):
            pk = int(message["Message-ID"].split("-")[1].split(".")[0])
            keys.append(Delivery.objects.get(pk=pk).key.split(":")[1])
        return keys

    def count(self) -> int:
        return sum(len(messages) for messages in self.messages.values())


@pytest.fixture
def inbox():
    handler = Inbox()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield handler, controller.port
    controller.stop()


@pytest.fixture
def listing_server():
    """The Hugging Face API capture, served as an upstream source would serve it."""
    handler = functools.partial(
        SimpleHTTPRequestHandler, directory=str(ROOT / "tests" / "data" / "hf")
    )
    handler.log_message = lambda *args: None
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/api_daily_papers_2024-10-25.json"
    server.shutdown()


@pytest.fixture
def broker_env():
    """The worker's broker: the suite's Redis, or the embedded broker's folders (shared with us)."""
    redis_url = os.environ.get("REDIS_URL")
    if redis_url:
        parts = urlsplit(redis_url)
        require_service("Redis", parts.hostname or "127.0.0.1", parts.port or 6379)
        env = {"REDIS_URL": redis_url}
    else:
        env = {"BROKER_DIR": str(settings.BROKER_DIR)}
    with app.connection_for_write() as conn:
        app.control.purge(connection=conn)  # tasks left by earlier tests are not ours
    return env


class Worker:
    def __init__(self, env: dict[str, str]):
        self.env = env
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [str(ROOT / "bin" / "worker"), "--concurrency", "1"],
            cwd=ROOT,
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )

    def kill(self) -> None:
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGKILL)  # the main process and its pool, no goodbye
        self.process.wait(10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)


def wait_for(condition, what: str, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}")


def nothing_waiting() -> bool:
    return not Delivery.objects.filter(state__in=("queued", "sending", "retry")).exists()


def tick(now: str) -> None:
    daily_tick_task.delay(now=now)


def start_day(day: date) -> None:
    """Beat's tick at 23:00 UTC starts the day's run; wait until the worker has ingested it."""
    tick(at(day, 23))
    wait_for(
        lambda: (
            DailyRun.objects.filter(day=day).exists()
            and IngestRun.objects.filter(source__isnull=False, listing_date=day).exists()
            and not IngestRun.objects.filter(source__isnull=False, status="running").exists()
        ),
        f"the ingest of {day}",
    )


def test_three_readers_each_get_one_digest_at_their_hour_through_a_real_worker(
    inbox, listing_server, broker_env
):
    handler, smtp_port = inbox
    Source.objects.all().delete()
    Source.objects.create(
        name="Local HF API", format="hf-json", url_template=listing_server + "?date={date}"
    )
    listing_for(YESTERDAY, CAPTURES[0])
    listing_for(TODAY, *CAPTURES)
    berlin = reader(
        "berlin@example.com",
        tz="Europe/Berlin",
        hour=7,
        keywords=["diffusion models", "image generation"],
        quiet_day_note=True,
    )
    new_york = reader(
        "ny@example.com",
        tz="America/New_York",
        hour=8,
        keywords=["hypergraph", "link prediction"],
        quiet_day_note=True,
    )
    tokyo = reader(
        "tokyo@example.com",
        tz="Asia/Tokyo",
        hour=9,
        keywords=["model merging", "grokking", "scaling laws"],
        quiet_day_note=True,
    )
    readers = {r.email: r for r in (berlin, new_york, tokyo)}

    env = process_env(
        DATABASE_URL=database_url_for_children(),
        **broker_env,
        EMAIL_PROVIDER="smtp",
        EMAIL_HOST="127.0.0.1",
        EMAIL_PORT=str(smtp_port),
        EMAIL_USE_TLS="0",
        DELIVERY_RATE_PER_SECOND="0",
        DAILY_RUN_HOUR="23",
        DAILY_CHUNK_SIZE="1",
        OUTBOX_DIR=str(settings.OUTBOX_DIR),
    )
    worker = Worker(env)
    worker.start()
    try:
        # Yesterday: beat starts the run at 23:00 UTC; the worker ingests the local source.
        start_day(YESTERDAY)
        ids = [r.pk for r in readers.values()]
        expected = rankings_for_day(day=YESTERDAY, subscriber_ids=ids)
        assert all(expected.values()), "each reader has papers yesterday"
        tick(at(TODAY, 0))  # 09:00 in Tokyo
        wait_for(lambda: handler.days("tokyo@example.com") == ["2026-03-02"], "Tokyo's digest")
        tick(at(TODAY, 5))  # 06:00 in Berlin, 00:00 in New York: nobody
        time.sleep(3)
        assert handler.count() == 1
        tick(at(TODAY, 6))  # 07:00 in Berlin
        wait_for(lambda: handler.days("berlin@example.com") == ["2026-03-02"], "Berlin's digest")
        tick(at(TODAY, 13))  # 08:00 in New York
        wait_for(lambda: handler.days("ny@example.com") == ["2026-03-02"], "New York's digest")
        wait_for(nothing_waiting, "the last sends")
        run = DailyRun.objects.get(day=YESTERDAY)
        assert run.ingest_expected and run.stages["ingest"]["status"] == "ok"

        # Each got the papers picked for them: every paper matching ranks for one of their own
        # keywords, and nothing that matched another reader's keywords only.
        for address, subscriber in readers.items():
            (message,) = handler.messages[address]
            text = " ".join(message.get_body(("plain",)).get_content().split())
            items = list(
                DigestItem.objects.filter(
                    digest__subscriber=subscriber, digest__day=YESTERDAY, section="pick"
                ).select_related("paper")
            )
            keyword_hits = {
                p.paper_id
                for p in expected[subscriber.pk]
                if any(r.kind == "keyword" for r in p.reasons)
            }
            assert keyword_hits and keyword_hits <= {item.paper_id for item in items}
            for item in items:
                assert " ".join(item.paper.title.split()[:4]) in text
        others = {
            pk: {p.paper_id for p in picks if any(r.kind == "keyword" for r in p.reasons)}
            for pk, picks in expected.items()
        }
        assert (
            not others[berlin.pk] & others[tokyo.pk] and not others[berlin.pk] & others[new_york.pk]
        )

        # The same day again: nothing more.
        tick(at(TODAY, 14))
        daily_sweep_task.delay(now=at(TODAY, 15))
        time.sleep(4)
        assert handler.count() == 3

        # Today (three listings, one of them yesterday's again): nothing sent yesterday again.
        start_day(TODAY)
        tick(at(TOMORROW, 14))
        wait_for(
            lambda: all(handler.days(a) == ["2026-03-02", "2026-03-03"] for a in readers),
            "today's digests",
        )
        for subscriber in readers.values():
            days = {
                d.day: set(d.items.values_list("paper_id", flat=True))
                for d in Digest.objects.filter(subscriber=subscriber)
            }
            assert not days[YESTERDAY] & days[TODAY]

        # Tomorrow the worker dies in the middle of the day and is started again.
        listing_for(TOMORROW, CAPTURES[1])
        start_day(TOMORROW)
        tick(at(TOMORROW + timedelta(days=1), 14))
        wait_for(
            lambda: Digest.objects.filter(day=TOMORROW).exists() or handler.count() > 6,
            "the first of tomorrow's digests",
        )
        worker.kill()
        worker.start()
        deliveries_sweep(now=timezone.now() + timedelta(hours=1))
        daily_sweep_task.delay(now=at(TOMORROW + timedelta(days=1), 15))
        # A worker killed after marking an email handed over and before the server took it
        # leaves that one email "uncertain": recorded for staff, never sent again on its own.
        # Every other reader gets the day's digest, and nobody gets it twice.
        three_days = ["2026-03-02", "2026-03-03", "2026-03-04"]

        def uncertain() -> set[str]:
            return set(
                Delivery.objects.filter(
                    kind="digest",
                    key__in=[
                        digest_key(subscriber_id=s.pk, day=TOMORROW) for s in readers.values()
                    ],
                    state=Delivery.State.UNCERTAIN,
                ).values_list("to_email", flat=True)
            )

        wait_for(
            lambda: all(handler.days(a) == three_days or a in uncertain() for a in readers),
            "tomorrow's digests after the restart",
            timeout=120,
        )
        wait_for(nothing_waiting, "the last sends")
        time.sleep(2)
        assert len(uncertain()) <= 1
        for address in readers:
            assert handler.days(address) == three_days or (
                address in uncertain() and handler.days(address) in (three_days, three_days[:2])
            )
    finally:
        worker.stop()
