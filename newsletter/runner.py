"""``make run``: prepare the embedded default and run web, worker and beat in the foreground."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from honcho.manager import Manager
from honcho.printer import Printer

PROCESSES = ("web", "worker", "beat")


def prepare(*, host: str, port: int, say: Callable[[str], None]) -> None:
    """Run bin/release (migrations, static files), as a deploy does, then ensure the staff account."""
    release = settings.BASE_DIR / "bin" / "release"
    subprocess.run([str(release)], env=process_env(host=host, port=port), check=True)
    call_command("ensure_admin")
    say("Database and static files are ready.")


def public_url(*, host: str, port: int) -> str:
    shown = "localhost" if host in ("127.0.0.1", "0.0.0.0") else host  # noqa: S104
    return f"http://{shown}:{port}"


def process_env(*, host: str, port: int) -> dict[str, str]:
    bin_dir = str(Path(sys.executable).parent)
    env = dict(os.environ)
    # Links in emails point at this server unless SITE_URL says otherwise.
    env.setdefault("SITE_URL", public_url(host=host, port=port))
    env.update(
        HOST=host,
        PORT=str(port),
        PYTHONUNBUFFERED="1",
        PATH=os.pathsep.join([bin_dir, env.get("PATH", "")]),
        DJANGO_SETTINGS_MODULE=os.environ.get("DJANGO_SETTINGS_MODULE", "newsletter.settings"),
    )
    return env


def run_all(*, host: str, port: int) -> int:
    """Run the three processes with prefixed logs until Ctrl-C (or one of them dies); return the code."""
    manager = Manager(Printer(sys.stdout))
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
