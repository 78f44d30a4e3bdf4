"""`manage.py deliveries`: counts per state, and sending what is due without a worker."""

from __future__ import annotations

import io

import pytest
from django.core import mail
from django.core.management import call_command

from tests.delivery.conftest import enqueue_welcome

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("deliveries", *args, stdout=out)
    return out.getvalue()


def test_it_sends_what_is_due_once_and_prints_counts(subscriber):
    enqueue_welcome(subscriber)
    dry = run("--send", "--sweep", "--dry-run")
    assert "due now: 1 (dry run: nothing sent)" in dry and "sweep: not run" in dry
    assert not mail.outbox
    out = run("--send", "--sweep")
    assert "sent now: {'sent': 1}" in out and "today: queued 0, sending 0, sent 1" in out
    assert "nothing was due" in run("--send")
    assert len(mail.outbox) == 1
