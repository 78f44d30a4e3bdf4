"""python manage.py import_subscribers FILE.csv [--confirmed] [--dry-run]"""

import io

import pytest
from django.core.mail.backends.base import BaseEmailBackend
from django.core.management import CommandError, call_command

from newsletter.delivery.models import Delivery
from subscriptions.addresses import address_hash
from subscriptions.models import Subscriber, SuppressedAddress
from tests.subscriptions.conftest import sent_mail

pytestmark = pytest.mark.django_db

HEADER = "email,topics,keywords,exclude,frequency,send_hour,timezone,max_papers\n"


@pytest.fixture
def csv_file(tmp_path, topics):
    def write(body: str):
        path = tmp_path / "subscribers.csv"
        path.write_text(HEADER + body, encoding="utf-8")
        return path

    return write


def run(path, *args) -> str:
    out = io.StringIO()
    call_command("import_subscribers", str(path), *args, stdout=out)
    return out.getvalue()


def test_it_creates_confirmed_subscribers_with_their_preferences(csv_file, topics):
    path = csv_file(
        "Ada@Example.com,t-llms;t-vision,graph neural nets;<b>bold</b>,survey,"
        "weekly:fri,18,Europe/Paris,20\n"
        "bob@example.com,,diffusion,,,,,\n"
    )
    out = run(path, "--confirmed")
    assert "created 2, updated 0, skipped 0" in out

    ada = Subscriber.objects.get(email="ada@example.com")
    assert ada.status == "active" and ada.confirmed_at
    assert {t.slug for t in ada.topics.all()} == {"t-llms", "t-vision"}
    assert ada.keywords == ["graph neural nets", "<b>bold</b>"] and ada.excluded_terms == ["survey"]
    assert (ada.frequency, ada.weekday, ada.send_hour, ada.timezone, ada.max_papers) == (
        "weekly", 4, 18, "Europe/Paris", 20
    )  # fmt: skip
    consent = ada.consents.get()
    assert (consent.action, consent.note) == ("import", "file subscribers.csv")
    bob = Subscriber.objects.get(email="bob@example.com")
    assert (bob.frequency, bob.max_papers, bob.timezone) == ("daily", 10, "UTC")
    assert not sent_mail()


def test_it_is_idempotent(csv_file):
    path = csv_file("ada@example.com,t-llms,rag,,daily,7,UTC,10\n")
    run(path, "--confirmed")
    out = run(path, "--confirmed")
    assert "created 0, updated 0, skipped 1" in out
    assert "already up to date" in out
    assert Subscriber.objects.get().consents.count() == 1


def test_a_changed_row_updates_the_subscriber(csv_file):
    run(csv_file("ada@example.com,t-llms,rag,,daily,7,UTC,10\n"), "--confirmed")
    out = run(csv_file("ada@example.com,t-agents,rag,,daily,7,UTC,15\n"), "--confirmed")
    assert "created 0, updated 1, skipped 0" in out
    ada = Subscriber.objects.get()
    assert ada.max_papers == 15 and [t.slug for t in ada.topics.all()] == ["t-agents"]


def test_without_confirmed_new_addresses_are_pending_and_get_a_confirmation(csv_file):
    out = run(csv_file("ada@example.com,t-llms,,,,,,\n"))
    assert Subscriber.objects.get().status == "pending"
    [message] = sent_mail()
    assert message.to == ["ada@example.com"] and "/confirm/" in message.body
    assert "Confirmation emails queued for 1" in out
    run(csv_file("ada@example.com,t-llms,,,,,,\n"))
    assert len(sent_mail()) == 1  # a re-run sends nothing new


def test_confirmed_activates_a_pending_subscriber(csv_file, make_subscriber):
    make_subscriber(email="ada@example.com", status="pending")
    out = run(csv_file("ada@example.com,,,,,,,\n"), "--confirmed")
    assert "updated 1" in out
    assert Subscriber.objects.get().status == "active"


def test_it_never_resubscribes_suppressed_or_unsubscribed_addresses(csv_file, make_subscriber):
    SuppressedAddress.objects.create(
        address_hash=address_hash("gone@example.com"), reason="deleted"
    )
    make_subscriber(email="left@example.com", status="unsubscribed")
    make_subscriber(email="bounced@example.com", status="bounced")
    out = run(
        csv_file(
            "Gone@example.com,t-llms,,,,,,\nleft@example.com,t-llms,,,,,,\nbounced@example.com,,,,,,,\n"
        ),
        "--confirmed",
    )
    assert "created 0, updated 0, skipped 3" in out
    assert "line 2 gone@example.com: suppressed" in out
    assert "line 3 left@example.com: unsubscribed: an import never resubscribes" in out
    assert "line 4 bounced@example.com: bounced" in out
    assert not Subscriber.objects.filter(email="gone@example.com").exists()
    assert Subscriber.objects.get(email="left@example.com").status == "unsubscribed"


def test_it_skips_bad_rows_with_a_reason_each(csv_file):
    out = run(
        csv_file(
            "not-an-email,,,,,,,\n"
            "a@example.com,no-such-topic,,,,,,\n"
            "b@example.com,,,,hourly,,,\n"
            "c@example.com,,,,,25,,\n"
            "d@example.com,,,,,,Mars/Base,\n"
            "e@example.com,,,,,,,0\n"
            f"f@example.com,,{'k' * 101},,,,,\n"
            "g@example.com,t-llms,,,,,,\n"
            "G@example.com,t-llms,,,,,,\n"
        ),
        "--confirmed",
    )
    assert "created 1, updated 0, skipped 8" in out
    for expected in [
        "line 2 not-an-email: Enter a valid email address.",
        "line 3 a@example.com: unknown topic no-such-topic",
        "line 4 b@example.com: 'hourly' is not a frequency",
        "line 5 c@example.com: send_hour must be a whole number from 0 to 23",
        "line 6 d@example.com: Choose a time zone",
        "line 7 e@example.com: max_papers must be a whole number from 1 to 50",
        "line 8 f@example.com: Each of your keywords can be at most 100 characters long.",
        "line 10 g@example.com: duplicate of an earlier line",
    ]:
        assert expected in out
    assert list(Subscriber.objects.values_list("email", flat=True)) == ["g@example.com"]


def test_dry_run_reports_and_changes_nothing(csv_file):
    out = run(csv_file("ada@example.com,t-llms,,,,,,\n"), "--dry-run")
    assert "Dry run, nothing saved: created 1, updated 0, skipped 0" in out
    assert not Subscriber.objects.exists()
    assert not sent_mail()


def test_a_file_without_the_header_is_refused(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("ada@example.com,t-llms\n")
    with pytest.raises(CommandError, match="header row"):
        call_command("import_subscribers", str(path))
    with pytest.raises(CommandError, match="Cannot read"):
        call_command("import_subscribers", str(tmp_path / "missing.csv"))


def test_a_failing_confirmation_email_does_not_stop_the_others(csv_file, settings):
    settings.EMAIL_BACKEND = "tests.subscriptions.test_import.FlakyBackend"
    FlakyBackend.sent.clear()
    out = run(csv_file("fail@example.com,t-llms,,,,,,\nok@example.com,t-llms,,,,,,\n"))
    assert "Confirmation emails queued for 2" in out  # the import never waits for the provider
    assert Subscriber.objects.count() == 2
    sent_mail()
    assert FlakyBackend.sent == ["ok@example.com"]
    failed = Delivery.objects.get(to_email="fail@example.com")
    assert failed.state == Delivery.State.UNCERTAIN and "provider refused" in failed.last_error


def test_header_names_may_differ_in_case_and_spacing(tmp_path, topics):
    path = tmp_path / "s.csv"
    path.write_text("Email , Topics\nada@example.com,t-llms\n", encoding="utf-8")
    assert "created 1" in run(path, "--confirmed")


class FlakyBackend(BaseEmailBackend):
    """A provider that refuses mail to fail@example.com."""

    sent: list[str] = []

    def send_messages(self, messages) -> int:
        for message in messages:
            if "fail@example.com" in message.to:
                raise OSError("provider refused the message")
            FlakyBackend.sent.extend(message.to)
        return len(messages)
