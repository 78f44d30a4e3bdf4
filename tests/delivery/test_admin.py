"""Staff: deliveries by day and state, the resend action with its confirmation, the outbox pages."""

from __future__ import annotations

import pytest
from django.core.mail import EmailMultiAlternatives, get_connection

from newsletter.delivery.models import Delivery
from tests.delivery.conftest import enqueue_welcome

pytestmark = pytest.mark.django_db

State = Delivery.State
URL = "/admin/delivery/delivery/"


@pytest.fixture
def deliveries(make_subscriber):
    rows = {}
    for state in (State.SENT, State.SENT, State.UNCERTAIN, State.FAILED, State.QUEUED):
        delivery = enqueue_welcome(make_subscriber(f"{state}-{len(rows)}@example.com"))
        Delivery.objects.filter(pk=delivery.pk).update(state=state)
        rows[delivery.pk] = state
    return rows


def test_the_list_filters_by_state_and_links_to_the_day_view(admin_client, deliveries):
    page = admin_client.get(URL + "?state=uncertain").content.decode()
    assert "uncertain-2@example.com" in page and "sent-0@example.com" not in page
    assert 'href="/admin/delivery/delivery/by-day/"' in page


def test_the_day_view_counts_each_state(admin_client, deliveries):
    page = admin_client.get(URL + "by-day/").content.decode()
    assert "Deliveries by day" in page
    assert "?state=sent&amp;created_at__year=" in page
    row = page.split("<tbody>")[1].split("</tr>")[0]
    cells = [c.split("</td>")[0] for c in row.split("<td>")[1:]]
    assert [c.rsplit(">", 2)[-2].split("<")[0] if "<a" in c else c for c in cells] == [
        "1",  # queued
        "0",  # sending
        "2",  # sent
        "0",  # retry
        "1",  # failed
        "1",  # uncertain
        "0",  # skipped
        "0",  # suppressed
        "5",  # total
    ]


def test_resend_asks_first_and_then_queues_only_uncertain_and_failed_ones(admin_client, deliveries):
    selected = [str(pk) for pk in deliveries]
    confirm = admin_client.post(URL, {"action": "resend", "_selected_action": selected})
    page = confirm.content.decode()
    assert "Resend deliveries?" in page and "may get it twice" in page
    assert "3 selected delivery(ies) in another state will be left alone" in page
    assert Delivery.objects.filter(state=State.QUEUED).count() == 1  # nothing changed yet
    done = admin_client.post(
        URL, {"action": "resend", "_selected_action": selected, "confirm": "yes"}, follow=True
    )
    assert "2 delivery(ies) queued again" in done.content.decode()
    states = sorted(Delivery.objects.values_list("state", flat=True))
    assert states == [State.QUEUED] * 3 + [State.SENT] * 2


def test_the_outbox_page_lists_and_renders_messages(admin_client, settings, tmp_path):
    settings.OUTBOX_DIR = tmp_path
    message = EmailMultiAlternatives(
        "Hello <there>", "Plain body", "a@example.org", ["b@example.org"]
    )
    message.attach_alternative("<p>HTML body</p>", "text/html")
    get_connection("newsletter.lib.outbox.OutboxBackend").send_messages([message])
    listing = admin_client.get(URL + "outbox/").content.decode()
    assert "Hello &lt;there&gt;" in listing and "b@example.org" in listing
    [name] = [p.name for p in tmp_path.glob("*.eml")]
    shown = admin_client.get(URL + f"outbox/{name}/").content.decode()
    assert "Plain body" in shown and 'sandbox=""' in shown
    assert f'src="/admin/delivery/delivery/outbox/{name}/html/"' in shown
    html = admin_client.get(URL + f"outbox/{name}/html/")
    assert html.content.decode().strip() == "<p>HTML body</p>"
    # The email's own inline styles may apply in the frame; scripts and requests may not.
    policy = html["Content-Security-Policy"]
    assert "style-src 'unsafe-inline'" in policy and "default-src 'none'" in policy
    assert "sandbox" in policy and html["X-Frame-Options"] == "SAMEORIGIN"
    assert admin_client.get(URL + "outbox/..db.sqlite3/").status_code == 404
    assert admin_client.get(URL + "outbox/missing.eml/").status_code == 404


def test_the_delivery_pages_are_for_staff_only(client, deliveries):
    for path in (URL, URL + "by-day/", URL + "outbox/"):
        assert client.get(path).status_code == 302
