"""The suite writes nothing into the checkout's var/ (its Celery messages would run on `make run`)."""

import subprocess
import sys

from django.conf import settings

from tests.helpers import ROOT, process_env

CHECKOUT_VAR = (ROOT / "var").resolve()


def _inside_checkout_var(path) -> bool:
    return str(path).startswith(str(CHECKOUT_VAR))


def test_the_suite_keeps_its_files_out_of_the_checkouts_var():
    for name in ("VAR_DIR", "BROKER_DIR", "OUTBOX_DIR", "STATIC_ROOT"):
        assert not _inside_checkout_var(getattr(settings, name)), name
    assert not _inside_checkout_var(settings.DATABASES["default"].get("TEST", {}).get("NAME", ""))


def test_processes_the_suite_starts_keep_their_files_out_of_the_checkouts_var():
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "import django; django.setup(); from django.conf import settings as s; "
            "print(s.VAR_DIR, s.BROKER_DIR, s.OUTBOX_DIR, sep='\\n')",
        ],
        cwd=ROOT,
        env=process_env(DJANGO_SETTINGS_MODULE="tests.settings"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    for line in done.stdout.split():
        assert not _inside_checkout_var(line), line
