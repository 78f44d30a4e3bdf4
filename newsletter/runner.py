"""``make run``: prepare the embedded default and run web, worker and beat in the foreground."""

from __future__ import annotations

import datetime
import multiprocessing
import os
import queue
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from honcho.manager import KILL_WAIT, SIGNALS, Manager
from honcho.printer import Printer

PROCESSES = ("web", "worker", "beat")
# Started again when they die; web dying (or Ctrl-C) still stops all three.
RESTARTED = frozenset({"worker", "beat"})
# Seconds before a restart: doubled for each crash soon after a start, up to the maximum.
RESTART_DELAY, RESTART_DELAY_MAX, STABLE_AFTER = 1.0, 30.0, 60.0


def prepare(*, host: str, port: int, say: Callable[[str], None]) -> None:
    """Run bin/release (migrations, static files), as a deploy does, then ensure the staff account."""
    release = settings.BASE_DIR / "bin" / "release"
    subprocess.run([str(release)], env=process_env(host=host, port=port), check=True)
    call_command("ensure_admin")
    say("Database and static files are ready.")


def public_url(*, host: str, port: int) -> str:
    shown = "localhost" if host in ("127.0.0.1", "0.0.0.0") else host  # noqa: S104
    return f"http://{shown}:{port}"


def site_url_record(*, host: str, port: int) -> str:
    """The SITE_URL of this installation while it runs here: SITE_URL when set, else this
    server's address, written to VAR_DIR/site_url so commands run beside it use it too."""
    url = os.environ.get("SITE_URL") or public_url(host=host, port=port)
    if not os.environ.get("SITE_URL"):
        settings.SITE_URL_FILE.parent.mkdir(parents=True, exist_ok=True)
        settings.SITE_URL_FILE.write_text(url + "\n")
    return url


def process_env(*, host: str, port: int) -> dict[str, str]:
    bin_dir = str(Path(sys.executable).parent)
    env = dict(os.environ)
    # Links in emails point at this server unless SITE_URL says otherwise.
    env["SITE_URL"] = site_url_record(host=host, port=port)
    env.update(
        HOST=host,
        PORT=str(port),
        PYTHONUNBUFFERED="1",
        PATH=os.pathsep.join([bin_dir, env.get("PATH", "")]),
        DJANGO_SETTINGS_MODULE=os.environ.get("DJANGO_SETTINGS_MODULE", "newsletter.settings"),
    )
    return env


def run_all(*, host: str, port: int) -> int:
    """Run the three processes with prefixed logs until Ctrl-C (or web dies); return the code.
    A worker or beat that dies is started again, and the log says so."""
    manager = Supervisor(Printer(sys.stdout), restarted=RESTARTED)
    env = process_env(host=host, port=port)
    for name in PROCESSES:
        manager.add_process(
            name, str(settings.BASE_DIR / "bin" / name), env=env, cwd=settings.BASE_DIR
        )
    manager.loop()
    return manager.returncode or 0


def banner(*, host: str, port: int) -> str:
    base = public_url(host=host, port=port)
    broker = "Redis" if settings.REDIS_URL else f"embedded (files under {settings.BROKER_DIR})"
    database = settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1]
    return "\n".join(
        [
            "",
            f"  {settings.SITE_NAME} is starting (web, worker and beat); Ctrl-C stops all three.",
            f"  Site:   {base}/",
            f"  Admin:  {base}/admin/",
            f"  Health: {base}/healthz",
            f"  Database: {database}; broker: {broker}; outgoing mail: {settings.EMAIL_PROVIDER}"
            + (f" ({settings.OUTBOX_DIR})" if settings.EMAIL_PROVIDER == "outbox" else ""),
            "",
        ]
    )


class Supervisor(Manager):
    """honcho's Manager, except that a process named in ``restarted`` that stops on its own is
    started again after a short delay (longer if it keeps crashing) instead of stopping the
    others. Any other process stopping, SIGINT or SIGTERM stops them all, as honcho does."""

    def __init__(self, printer: Printer, *, restarted: frozenset[str]) -> None:
        super().__init__(printer)
        self.restarted = restarted
        self._due: dict[str, float] = {}  # name -> monotonic time of its restart
        self._delay: dict[str, float] = {}
        self._started_at: dict[str, float] = {}

    def loop(self) -> None:
        def _terminate(signum: int, frame: object) -> None:
            self._system_print(f"{SIGNALS[signum]['name']} received\n")
            self.returncode = SIGNALS[signum]["rc"]
            self.terminate()

        signal.signal(signal.SIGTERM, _terminate)
        signal.signal(signal.SIGINT, _terminate)
        self._start()
        stopping_since: datetime.datetime | None = None
        while True:
            try:
                message = self.events.get(timeout=0.1)
            except queue.Empty:
                message = None
            if message is not None:
                self._handle(message)
            if self._terminating:
                self._due.clear()
                if self._all_stopped():
                    break
                stopping_since = stopping_since or self._clock.now()
                if self._clock.now() - stopping_since > datetime.timedelta(seconds=KILL_WAIT):
                    self.kill()
            else:
                self._restart_due()

    def _handle(self, message) -> None:
        entry = self._processes[message.name]
        if message.type == "line":
            self._printer.write(message)
        elif message.type == "start":
            entry["pid"] = message.data["pid"]
            self._started_at[message.name] = time.monotonic()
            self._system_print(f"{message.name} started (pid={entry['pid']})\n")
            if self._terminating:  # started again just as everything stops
                self._procmgr.terminate(entry["pid"])
        elif message.type == "stop":
            code = message.data["returncode"]
            entry["returncode"] = code
            self._system_print(f"{message.name} stopped (rc={code})\n")
            if self._terminating:
                return
            if message.name in self.restarted:
                self._schedule_restart(message.name, code)
            else:
                self.returncode = code if self.returncode is None else self.returncode
                self.terminate()

    def _schedule_restart(self, name: str, code: int) -> None:
        uptime = time.monotonic() - self._started_at.get(name, 0.0)
        previous = self._delay.get(name, 0.0)
        delay = min(previous * 2, RESTART_DELAY_MAX) if previous and uptime < STABLE_AFTER else 0
        self._delay[name] = delay = delay or RESTART_DELAY
        self._due[name] = time.monotonic() + delay
        self._system_print(
            f"{name} exited unexpectedly (rc={code}); restarting it in {delay:.0f} s\n"
        )

    def _restart_due(self) -> None:
        for name, due in list(self._due.items()):
            if time.monotonic() < due:
                continue
            del self._due[name]
            multiprocessing.active_children()  # reaps the run that ended
            entry = self._processes[name]
            entry.pop("pid", None)
            entry.pop("returncode", None)
            entry["process"] = multiprocessing.Process(
                name=name, target=entry["obj"].run, args=(self.events, True)
            )
            entry["process"].start()
            self._system_print(f"restarting {name}\n")

    def _killall(self, force: bool = False) -> None:
        # A process started again but not yet reported has no pid: it is stopped when its start
        # is reported (see _handle).
        for name, entry in self._processes.items():
            if "returncode" not in entry and "pid" in entry:
                signame = "SIGKILL" if force else "SIGTERM"
                self._system_print(f"sending {signame} to {name} (pid {entry['pid']})\n")
                (self._procmgr.kill if force else self._procmgr.terminate)(entry["pid"])

    def _all_stopped(self) -> bool:
        return all("returncode" in entry for entry in self._processes.values())
