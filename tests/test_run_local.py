"""`make run`'s processes start on a free port, serve the site and admin, start a crashed worker
again, and stop cleanly on Ctrl-C."""

from __future__ import annotations

import http.cookiejar
import os
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest

from newsletter.celery import app
from newsletter.lib.broker import EMBEDDED_BROKER_URL, embedded_broker_options
from newsletter.tasks import heartbeat
from tests.helpers import ROOT, free_port, port_open, process_env

pytestmark = pytest.mark.slow


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def _wait_for_files(folder, pattern: str, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and not list(folder.glob(pattern)):
        time.sleep(0.3)


def _wait_for_health(base: str, process: subprocess.Popen, seconds: float) -> int | None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and process.poll() is None:
        try:
            status, _ = _get(base + "/healthz")
            if status == 200:
                return status
        except OSError:
            pass
        time.sleep(0.5)
    return None


def _sign_up(base: str, email: str) -> str:
    """Post the home page's signup form as a browser would (cookie and CSRF token)."""
    opener = urllib.request.build_opener(
        urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
    )
    page = opener.open(base + "/", timeout=5).read().decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    topic = re.search(r'name="topics" value="([^"]+)"', page).group(1)
    fields = {
        "csrfmiddlewaretoken": token,
        "email": email,
        "topics": topic,
        "frequency": "daily",
        "weekday": "0",
    }
    form = urllib.parse.urlencode(fields).encode()
    request = urllib.request.Request(base + "/", data=form, headers={"Referer": base + "/"})
    return opener.open(request, timeout=10).url


def _worker_runs_a_task(var_dir, seconds: float) -> bool:
    """Queue a heartbeat on the embedded broker and wait for the worker to write it to SQLite."""
    folders = embedded_broker_options(var_dir / "broker")
    with app.connection_for_write(EMBEDDED_BROKER_URL, transport_options=folders) as conn:
        heartbeat.apply_async(kwargs={"name": "smoke"}, connection=conn)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with sqlite3.connect(var_dir / "db.sqlite3") as db:
            if db.execute("SELECT 1 FROM newsletter_heartbeat WHERE name = 'smoke'").fetchone():
                return True
        time.sleep(0.5)
    return False


def test_make_run_serves_the_site_and_stops_on_ctrl_c(tmp_path):
    port = free_port()
    var_dir = tmp_path / "var"
    base = f"http://127.0.0.1:{port}"
    env = process_env(
        VAR_DIR=str(var_dir),
        ADMIN_EMAIL="staff@example.org",
        ADMIN_PASSWORD="a-long-test-password",
        WEB_CONCURRENCY="1",
        WORKER_CONCURRENCY="1",
    )
    process = subprocess.Popen(
        [sys.executable, "manage.py", "run_local", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        healthy = _wait_for_health(base, process, seconds=90)
        admin_status, admin_page = _get(base + "/admin/login/")
        worker_ran = healthy and _worker_runs_a_task(var_dir, seconds=45)
        signed_up_at = _sign_up(base, "smoke@example.org") if healthy else None
        # The confirmation leaves from the worker, after the request: give it a moment.
        _wait_for_files(var_dir / "outbox", "*.eml", seconds=45 if healthy else 0)
    finally:
        process.send_signal(signal.SIGINT)
        try:
            output = process.communicate(timeout=40)[0]
        except subprocess.TimeoutExpired:
            process.kill()
            output = process.communicate()[0]
            pytest.fail(f"run_local did not stop within 40 s of Ctrl-C:\n{output}")

    assert healthy == 200, output
    assert admin_status == 200
    assert "Daily Papers Digest" in admin_page
    assert f"Admin:  http://localhost:{port}/admin/" in output
    for name in ("web", "worker", "beat"):
        assert f"{name} started" in output
        assert f"{name} stopped" in output
    assert worker_ran, output
    assert signed_up_at == base + "/check-your-inbox/"
    emails = [path.read_text() for path in (var_dir / "outbox").glob("*.eml")]
    assert len(emails) == 1 and "To: smoke@example.org" in emails[0]
    assert f"http://localhost:{port}/confirm/" in emails[0]  # links point at this server
    assert not port_open("127.0.0.1", port)


def test_make_run_restarts_a_worker_that_dies_and_says_so(tmp_path):
    port = free_port()
    var_dir = tmp_path / "var"
    env = process_env(
        VAR_DIR=str(var_dir),
        ADMIN_EMAIL="staff@example.org",
        ADMIN_PASSWORD="a-long-test-password",
        WEB_CONCURRENCY="1",
        WORKER_CONCURRENCY="1",
    )
    process = subprocess.Popen(
        [sys.executable, "manage.py", "run_local", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    threading.Thread(target=lambda: lines.extend(process.stdout), daemon=True).start()

    def worker_pids() -> list[int]:
        return [int(m) for m in re.findall(r"worker started \(pid=(\d+)\)", "".join(lines))]

    try:
        healthy = _wait_for_health(f"http://127.0.0.1:{port}", process, seconds=90)
        first = worker_pids()
        if healthy and first:
            os.killpg(first[0], signal.SIGKILL)  # the worker and its pool die at once
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and len(worker_pids()) < 2:
            time.sleep(0.5)
        served_again = len(worker_pids()) == 2 and _worker_runs_a_task(var_dir, seconds=60)
        web_still_up = _get(f"http://127.0.0.1:{port}/healthz")[0] == 200
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=40)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            pytest.fail("run_local did not stop within 40 s of Ctrl-C:\n" + "".join(lines))
    output = "".join(lines)
    assert healthy == 200, output
    assert "worker exited unexpectedly (rc=-9); restarting it in 1 s" in output, output
    assert served_again, output
    assert web_still_up
    assert "web stopped" in output and "beat stopped" in output
    assert not port_open("127.0.0.1", port)
