"""send_digests: a day by hand, in this process; run twice, it sends once."""

from __future__ import annotations

import pytest
from django.core import mail
from django.core.management import CommandError, call_command

from newsletter.delivery.models import Delivery
from newsletter.digests.models import Digest
from subscriptions.models import Subscriber

pytestmark = pytest.mark.django_db


def _run(*args: str) -> str:
    from io import StringIO

    out = StringIO()
    call_command("send_digests", *args, stdout=out)
    return out.getvalue()


def test_running_the_day_twice_sends_each_digest_once(papers, reader):
    reader("ada@example.com")
    reader("grace@example.com", keywords=["elliptic curve"])
    reader("quiet@example.com", keywords=["gravitational waves"])
    reader("paused@example.com", status=Subscriber.Status.PAUSED)
    first = _run("--date", "2026-02-02")
    assert "sent: 2" in first and "quiet: 1" in first and "subscribers: 3" in first
    assert sorted(m.to[0] for m in mail.outbox) == ["ada@example.com", "grace@example.com"]
    second = _run("--date", "2026-02-02")
    assert "already sent: 2" in second and "sent: 2" not in second.replace("already sent", "")
    assert len(mail.outbox) == 2
    assert Delivery.objects.count() == 2 and Digest.objects.count() == 3


def test_a_weekly_reader_gets_the_week_whose_send_time_is_their_local_weekday(papers, reader):
    # Tuesday at 07:00 in Berlin is the send time of listing day Monday 2 Feb (its run starts at
    # 23:00 UTC on Monday): the daily run's rule, which send_digests follows.
    reader(frequency="weekly", weekday=1, timezone="Europe/Berlin", send_hour=7)
    assert "weekly, not today: 1" in _run("--date", "2026-02-03")
    assert not mail.outbox
    assert "sent: 1" in _run("--date", "2026-02-02")
    [message] = mail.outbox
    assert "Your week, Tue 27 Jan to Mon 2 Feb" in message.body
    assert "Learning Dexterous Robot Manipulation" in message.body  # listed on Monday
    assert Digest.objects.get().since.isoformat() == "2026-01-27"


def test_one_reader_by_address(papers, reader):
    reader("ada@example.com")
    reader("grace@example.com")
    assert "sent: 1" in _run("--date", "2026-02-02", "--email", "Ada@Example.com")
    assert [m.to for m in mail.outbox] == [["ada@example.com"]]


def test_a_dry_run_stores_and_sends_nothing(papers, reader):
    reader()
    out = _run("--date", "2026-02-02", "--dry-run")
    assert "Dry run" in out and "would send: 1" in out
    assert not mail.outbox and not Digest.objects.exists() and not Delivery.objects.exists()


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (["--date", "02/02/2026"], "YYYY-MM-DD"),
        (["--email", "nobody@example.com"], "no subscriber"),
        (["--email", "not an address"], "not an email address"),
    ],
)
def test_bad_input_is_a_clear_error(db, args, error):
    with pytest.raises(CommandError, match=error):
        _run(*args)
