"""Helpers for tests that start real processes (workers, the web server)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parent.parent
SERVICE_VARIABLES = ("DATABASE_URL", "REDIS_URL", "BROKER_DIR", "VAR_DIR", "DJANGO_SETTINGS_MODULE")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def require_service(name: str, host: str, port: int) -> None:
    """Skip on a developer machine without the service; CI (CI=true) must have it, so there it fails."""
    if port_open(host, port):
        return
    message = f"{name} is not running on {host}:{port}"
    if os.environ.get("CI"):
        pytest.fail(message + " (.ci/run starts it)")
    pytest.skip(message)


def database_url_for_children() -> str:
    """The URL of the database the tests run on, for processes the tests start."""
    settings = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{settings['NAME']}"
    auth = settings["USER"] + (f":{settings['PASSWORD']}" if settings["PASSWORD"] else "")
    return f"postgres://{auth}@{settings['HOST'] or 'localhost'}:{settings['PORT'] or 5432}/{settings['NAME']}"


def process_env(**overrides: str) -> dict[str, str]:
    """A clean environment for a child process: no inherited service settings, the venv on PATH."""
    env = {k: v for k, v in os.environ.items() if k not in SERVICE_VARIABLES}
    env.update(
        DEBUG="1",
        PYTHONUNBUFFERED="1",
        VAR_DIR=str(settings.VAR_DIR),  # the suite's private one, never the checkout's var/
        TITLE_LOOKUP="0",  # a child never asks arXiv: nothing in the suite reaches the network
        PATH=os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")]),
    )
    env.update(overrides)
    return env


def start_worker(env: dict[str, str], *args: str) -> subprocess.Popen:
    """bin/worker in its own process group (so a test can end it and its pool), output piped."""
    return subprocess.Popen(
        [str(ROOT / "bin" / "worker"), *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )


def stop_process_group(process: subprocess.Popen, *, grace: float = 20) -> str:
    """Ask ``process`` to stop (SIGTERM), kill its whole group if it has not within ``grace``
    seconds, and return its output."""
    process.terminate()
    try:
        return process.communicate(timeout=grace)[0]
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        return process.communicate(timeout=10)[0]
