"""A server that trickles its answer cannot hold an ingest: every fetch ends at its deadline."""

from __future__ import annotations

import threading
import time
from datetime import date
from io import StringIO
from socketserver import BaseRequestHandler, ThreadingTCPServer

import pytest
from django.core.management import CommandError, call_command

from newsletter.papers.daily import source_ingest
from newsletter.papers.http import FetchError, http_get
from newsletter.papers.models import Source

DEADLINE = 3
INTERVAL = 1.5  # one byte this often: never long enough for a per-read timeout to fire
BOUND = DEADLINE + INTERVAL + 1.5


class Trickle(BaseRequestHandler):
    """Answers "/body" with its headers at once and then its body a byte at a time, "/headers"
    with its headers a byte at a time."""

    def handle(self) -> None:
        request = self.request.recv(65536).decode("latin-1")
        head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n"
        trickled = b"[" + b" " * 99
        if " /headers" in request.split("\r\n", 1)[0]:
            head, trickled = b"", head + trickled
        try:
            self.request.sendall(head)
            for byte in trickled:
                self.request.sendall(bytes([byte]))
                time.sleep(INTERVAL)
        except OSError:
            pass  # the client gave up: that is the point


class Server(ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


@pytest.fixture
def server(settings):
    settings.INGEST_FETCH_DEADLINE = DEADLINE
    settings.INGEST_HTTP_TIMEOUT = 30
    settings.INGEST_HTTP_RETRIES = 0
    with Server(("127.0.0.1", 0), Trickle) as tcp:
        threading.Thread(target=tcp.serve_forever, daemon=True).start()
        yield f"http://127.0.0.1:{tcp.server_address[1]}"
        tcp.shutdown()


@pytest.mark.parametrize("path", ["/body", "/headers"])
def test_a_trickling_server_is_cut_off_at_the_fetch_deadline(server, path):
    started = time.monotonic()
    with pytest.raises(FetchError, match=rf"{DEADLINE} s fetch deadline") as raised:
        http_get(server + path)
    elapsed = time.monotonic() - started
    print(f"{path}: cut off after {elapsed:.1f} s")
    assert DEADLINE - 0.5 < elapsed < BOUND
    assert raised.value.transient


@pytest.mark.django_db
def test_the_ingest_command_gives_up_on_a_trickling_url_at_the_deadline(server):
    started = time.monotonic()
    with pytest.raises(CommandError):
        call_command("ingest", server + "/body", stdout=StringIO(), stderr=(err := StringIO()))
    assert time.monotonic() - started < BOUND
    assert f"took longer than the {DEADLINE} s fetch deadline" in err.getvalue()


@pytest.mark.django_db
def test_a_source_on_a_trickling_server_fails_its_run_at_the_deadline(server):
    source = Source.objects.create(
        name="trickle", format="hf-json", url_template=server + "/body?date={date}"
    )
    started = time.monotonic()
    run = source_ingest(source_id=source.pk, day=date(2026, 11, 24))
    assert time.monotonic() - started < BOUND
    assert run.status == "failed" and "fetch deadline" in run.error
