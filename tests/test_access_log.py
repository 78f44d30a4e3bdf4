"""gunicorn's access log shows the paths of signed links with the token replaced."""

import subprocess
import time
import urllib.error
import urllib.request

import pytest

import subscriptions.urls
from newsletter.access_log import path_redact
from tests.helpers import ROOT, free_port, port_open, process_env

TOKEN = "8a4c2f0e-1d2b-4c3d-9e8f-0a1b2c3d4e5f.1:1xXmrb:e-PqnZB2PUrzlaNMbPBtJqX60ncE5FaYxOXiGxDLgks"


@pytest.mark.parametrize(
    ("logged", "shown"),
    [
        (f"GET /preferences/{TOKEN}/status/ HTTP/1.1", "GET /preferences/<token>/status/ HTTP/1.1"),
        (f"http://site/unsubscribe/{TOKEN}/", "http://site/unsubscribe/<token>/"),
        (f"/confirm/{TOKEN}/?x=1", "/confirm/<token>/?x=1"),
        (f"/email/confirm/{TOKEN}/", "/email/confirm/<token>/"),
        ("http://127.0.0.1:8000/new-link/", "http://127.0.0.1:8000/new-link/"),
        ("/new-link/", "/new-link/"),
    ],
)
def test_tokens_are_redacted_from_what_the_log_shows(logged, shown):
    assert path_redact(logged) == shown


def test_every_route_with_a_token_is_redacted():
    routes = [p for p in subscriptions.urls.urlpatterns if "<str:token>" in str(p.pattern)]
    assert len(routes) >= 8
    for route in routes:
        path = "/" + str(route.pattern).replace("<str:token>", TOKEN)
        assert TOKEN not in path_redact(path), route.pattern


@pytest.mark.slow
def test_the_web_process_logs_a_signed_link_without_its_token(tmp_path):
    port = free_port()
    env = process_env(VAR_DIR=str(tmp_path / "var"), HOST="127.0.0.1", PORT=str(port))
    env["WEB_CONCURRENCY"] = "1"
    web = subprocess.Popen(
        [str(ROOT / "bin" / "web")],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while not port_open("127.0.0.1", port) and time.monotonic() < deadline:
            time.sleep(0.2)
        for path in (f"/preferences/{TOKEN}/", f"/unsubscribe/{TOKEN}/"):
            request = urllib.request.Request(
                f"http://127.0.0.1:{port}{path}",
                headers={"Referer": f"http://127.0.0.1:{port}/confirm/{TOKEN}/"},
            )
            with pytest.raises(urllib.error.HTTPError):  # 400: a bad link, logged all the same
                urllib.request.urlopen(request, timeout=10)
    finally:
        web.terminate()
        log = web.communicate(timeout=20)[0]
    assert "GET /preferences/<token>/ HTTP/1.1" in log, log
    assert "GET /unsubscribe/<token>/ HTTP/1.1" in log
    assert "/confirm/<token>/" in log  # the referrer too
    assert "1xXmrb" not in log
