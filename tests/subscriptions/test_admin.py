"""Staff: the subscriber and topic admin, its filters, inlines and actions."""

import csv
import importlib
import io

import pytest

from subscriptions.addresses import address_hash
from subscriptions.models import ConsentRecord, Interest, Subscriber, SuppressedAddress, Topic
from tests.subscriptions.conftest import sent_mail

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(admin_client):
    return admin_client


@pytest.fixture
def people(make_subscriber, topics):
    active = make_subscriber(email="active@example.com")
    active.topics.add(topics[0])
    Interest.objects.create(subscriber=active, kind="keyword", value='=HYPERLINK("http://evil")')
    ConsentRecord.objects.create(
        subscriber=active, action="signup", ip="192.0.2.9", user_agent="UA/1"
    )
    pending = make_subscriber(
        email="pending@example.com", status=Subscriber.Status.PENDING, frequency="weekly"
    )
    pending.topics.add(topics[1])
    return active, pending


def changelist(staff, query=""):
    response = staff.get(f"/admin/subscriptions/subscriber/{query}")
    assert response.status_code == 200
    return response.content.decode()


def test_the_list_shows_status_topics_and_dates_and_filters(staff, people, topics):
    html = changelist(staff)
    assert "active@example.com" in html and "Test LLMs" in html and "Last emailed at" in html
    assert "pending@example.com" not in changelist(staff, "?status__exact=active")
    assert "active@example.com" not in changelist(staff, "?frequency__exact=weekly")
    assert "active@example.com" not in changelist(staff, f"?topics__id__exact={topics[1].pk}")
    assert "pending@example.com" not in changelist(staff, "?q=ACTIVE@")


def test_the_change_page_has_interest_and_consent_inlines(staff, people):
    html = staff.get(f"/admin/subscriptions/subscriber/{people[0].pk}/change/").content.decode()
    assert "Interests" in html and "Consent records" in html
    assert "192.0.2.9" in html and "UA/1" in html


def _action(staff, action, subscribers):
    return staff.post(
        "/admin/subscriptions/subscriber/",
        {"action": action, "_selected_action": [s.pk for s in subscribers]},
        follow=action != "export_csv",
    )


def test_resend_confirmation_mails_pending_subscribers_only(staff, people):
    response = _action(staff, "resend_confirmation", people)
    assert "Sent 1 confirmation email(s); skipped 1" in response.content.decode()
    [message] = sent_mail()
    assert message.to == ["pending@example.com"] and "/confirm/" in message.body


def test_pause_pauses_active_subscribers(staff, people):
    _action(staff, "pause", people)
    statuses = dict(Subscriber.objects.values_list("email", "status"))
    assert statuses == {"active@example.com": "paused", "pending@example.com": "pending"}
    assert people[0].consents.filter(note__startswith="paused by staff").exists()


def test_suppress_stops_mail_and_blocks_imports(staff, people):
    _action(staff, "suppress", [people[0]])
    people[0].refresh_from_db()
    assert people[0].status == "unsubscribed"
    assert SuppressedAddress.objects.get().address_hash == address_hash("active@example.com")


def test_export_csv_neutralises_formulas(staff, people):
    response = _action(staff, "export_csv", people)
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert {r["email"] for r in rows} == {"active@example.com", "pending@example.com"}
    active = next(r for r in rows if r["email"] == "active@example.com")
    assert active["topics"] == "t-llms"
    assert active["keywords"].startswith("'=HYPERLINK")
    assert next(r for r in rows if r["status"] == "pending")["frequency"] == "weekly:monday"


def test_topics_show_subscriber_counts(staff, people):
    html = staff.get("/admin/subscriptions/topic/?q=Test").content.decode()
    assert "Active subscribers" in html and "Test LLMs" in html


def test_suppressed_addresses_are_searchable_by_address(staff):
    SuppressedAddress.objects.create(
        address_hash=address_hash("gone@example.com"), reason="deleted"
    )
    html = staff.get("/admin/subscriptions/suppressedaddress/?q=Gone@Example.com").content.decode()
    assert address_hash("gone@example.com")[:12] in html
    assert (
        "0 suppressed addresses"
        in staff.get("/admin/subscriptions/suppressedaddress/?q=other@example.com").content.decode()
    )


def test_the_catalogue_migration_created_at_least_thirty_topics():
    catalogue = importlib.import_module("subscriptions.migrations.0002_topics").TOPICS
    slugs = [slug for _, slug, *_ in catalogue]
    assert len(slugs) >= 30 and len(set(slugs)) == len(slugs)
    assert Topic.objects.filter(slug__in=slugs, active=True).count() == len(slugs)
    assert all(phrases for *_, phrases in catalogue)
