"""Every process of one installation builds the same absolute links under `make run`."""

import subprocess
import sys

from newsletter import runner
from tests.helpers import ROOT, process_env

SHOW = (
    "import django; django.setup(); from django.conf import settings; "
    "print(settings.SITE_URL)"
)


def _site_url(env: dict) -> str:
    done = subprocess.run(
        [sys.executable, "-c", SHOW], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout.strip().splitlines()[-1]


def test_a_command_beside_make_run_links_to_the_port_it_serves(tmp_path, monkeypatch, settings):
    var = tmp_path / "var"
    monkeypatch.delenv("SITE_URL", raising=False)
    monkeypatch.setattr(settings, "SITE_URL_FILE", var / "site_url")
    worker_env = runner.process_env(host="127.0.0.1", port=8765)  # what web/worker/beat get
    assert worker_env["SITE_URL"] == "http://localhost:8765"
    command_env = process_env(VAR_DIR=str(var), DJANGO_SETTINGS_MODULE="tests.settings")
    command_env.pop("SITE_URL", None)  # an operator's shell beside `make run`
    assert _site_url(command_env) == "http://localhost:8765"
