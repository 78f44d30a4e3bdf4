"""A newcomer's first digest, following the README: sign up, confirm from the outbox, then the
README's own commands (read from the README, so the two cannot drift), with no network at all."""

from __future__ import annotations

import email
import email.policy
import re
import shlex
import socket
import time
from pathlib import Path

import pytest
from django.core.management import call_command

from newsletter.delivery.services import deliveries_send_due
from subscriptions.models import Subscriber
from tests.helpers import ROOT

pytestmark = pytest.mark.django_db

SECTION = "### Your first digest in five minutes, without network"
LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1"}


def readme_commands() -> list[list[str]]:
    """The ``manage.py`` commands of the README's first-digest block, as argument lists."""
    readme = (ROOT / "README.md").read_text()
    assert SECTION in readme, "the README lost its first-digest section"
    section = readme.split(SECTION, 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```sh\n(.*?)```", section, re.S)
    assert block, "no command block in the first-digest section"
    commands = []
    for line in block.group(1).splitlines():
        words = shlex.split(line, comments=True)
        if "manage.py" in words:
            commands.append(words[words.index("manage.py") + 1 :])
    return commands


@pytest.fixture
def no_network(monkeypatch):
    """Every name lookup and connection beyond this machine fails, as on a machine offline."""
    real_getaddrinfo = socket.getaddrinfo

    def getaddrinfo(host, *args, **kwargs):
        if host not in LOCAL_HOSTS:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


def outbox(folder: Path) -> list[email.message.EmailMessage]:
    return [
        email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        for path in sorted(folder.glob("*.eml"))
    ]


def part(message, subtype: str) -> str:
    return message.get_body(preferencelist=(subtype,)).get_content()


def test_the_readme_path_puts_a_first_digest_in_the_outbox_with_every_paper_linked(
    client, settings, tmp_path, no_network
):
    settings.EMAIL_BACKEND = "newsletter.lib.outbox.OutboxBackend"
    settings.OUTBOX_DIR = tmp_path
    settings.SITE_URL = "http://testserver"
    commands = readme_commands()
    assert [c[0] for c in commands] == ["ingest", "run_daily"]
    assert "tests/data/listings/" in commands[0] and "--no-fetch" in commands[1]
    assert (ROOT / "tests/data/listings").is_dir()  # what a clone has

    # 1. Sign up in the browser (the real view), keeping the defaults but a keyword.
    assert client.get("/").status_code == 200
    response = client.post(
        "/",
        {"email": "newcomer@example.com", "keywords": "language models", "frequency": "daily",
         "weekday": "0", "send_hour": "7", "timezone": "Europe/Berlin", "website": ""},
    )  # fmt: skip
    assert response.status_code == 302
    deliveries_send_due()  # what make run's worker does a moment later

    # 2. Confirm from the outbox.
    [confirmation] = outbox(tmp_path)
    link = re.search(r"http://testserver(/confirm/[^/\s]+/)", part(confirmation, "plain"))
    assert link, "no confirmation link in the outbox"
    page = client.post(link.group(1)).content.decode()
    assert "You are subscribed" in page and "Berlin time" in page
    assert Subscriber.objects.get().status == Subscriber.Status.ACTIVE
    deliveries_send_due()
    assert len(outbox(tmp_path)) == 2  # and the welcome email

    # 3. The README's commands, as written there.
    started = time.monotonic()
    for name, *args in commands:
        call_command(name, *args, "--no-progress" if name == "run_daily" else "-v1")
    elapsed = time.monotonic() - started
    assert elapsed < 60, f"the README's commands took {elapsed:.0f} s without network"

    # 4. The first digest is in the outbox, every paper in it linked somewhere real.
    digests = [m for m in outbox(tmp_path) if "for you" in m["Subject"]]
    assert len(digests) == 1, [m["Subject"] for m in outbox(tmp_path)]
    [digest] = digests
    assert digest["To"] == "newcomer@example.com"
    html = part(digest, "html")
    assert "language models" in html.lower()
    # Papers of the text captures carry no arXiv id: each must still link somewhere (issue 17a).
    assert 'href=""' not in html, "a paper links nowhere"
    assert not re.search(r"<a\b(?![^>]*\bhref=)[^>]*>", html), "a link without a target"
