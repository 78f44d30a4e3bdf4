"""Staff see and do only what their permissions allow: every admin URL and every action, walked.

Two accounts: staff with no permission at all, and staff allowed to view every model. Neither
opens a digest preview or the outbox (live links to a reader's data), neither changes a row or
sends an email through an action. The walk is built from the admin site itself, so a page or an
action added later is walked too (and an unknown kind of page fails here until it is classified).
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import time_machine
from django.apps import apps
from django.contrib import admin
from django.contrib.auth.models import Group, Permission, User
from django.contrib.sessions.models import Session
from django.core import mail
from django.core.mail import EmailMultiAlternatives, get_connection
from django.urls import URLPattern, URLResolver
from django.utils import timezone
from django_celery_beat.models import ClockedSchedule, PeriodicTask, SolarSchedule

from newsletter.daily.models import DailyRun
from newsletter.delivery.models import Delivery, TrackingEvent
from newsletter.digests.services import digests_build
from newsletter.matching.models import PaperVector, SubscriberProfile, Vote
from newsletter.models import Heartbeat
from newsletter.papers.models import IngestRun, TitleLookup
from subscriptions.addresses import address_hash_variants
from subscriptions.models import Subscriber, SuppressedAddress, Topic
from tests.delivery.conftest import enqueue_welcome
from tests.digests.conftest import DAY1, _mail_settings, papers, reader  # noqa: F401 - fixtures

pytestmark = pytest.mark.django_db

# Pages about no model: any staff member may open them (their own password, the empty index).
SITE_PAGES_FOR_ANY_STAFF = {"index", "password_change", "password_change_done", "jsi18n"}
# Model pages a view-only account opens; every other model page is refused it.
VIEW_PAGES = ("_changelist", "_change", "_history", "_by_day", "_dashboard")
LIVE_PAGES = ("_preview", "_outbox", "_outbox_message", "_outbox_html")


@pytest.fixture
def everything(papers, reader, settings):  # noqa: F811 - the fixtures imported above
    """One row (at least) of every model the admin shows, and a message in the outbox."""
    active = reader()
    reader("pending@example.com", status=Subscriber.Status.PENDING)
    bounced = reader("bounced@example.com", status=Subscriber.Status.BOUNCED)
    SuppressedAddress.objects.create(
        address_hash=address_hash_variants(bounced.email)[0],
        reason=SuppressedAddress.Reason.BOUNCED,
    )
    Topic.objects.get_or_create(slug="robotics", defaults={"name": "Robotics"})
    [digest] = digests_build(day=DAY1, subscriber_ids=[active.pk])
    paper = digest.items.first().paper
    Vote.objects.create(subscriber=active, paper=paper, direction="up")
    now = timezone.now()
    SubscriberProfile.objects.get_or_create(subscriber=active, defaults={"built_at": now})
    PaperVector.objects.get_or_create(
        paper=paper, defaults={"text_hash": "0" * 64, "computed_at": now}
    )
    IngestRun.objects.create(started_at=now, input="by hand")
    TitleLookup.objects.get_or_create(paper=paper)
    DailyRun.objects.create(day=DAY1, started_at=now, ingest_deadline=now, state="failed")
    for state in (Delivery.State.UNCERTAIN, Delivery.State.FAILED):
        Delivery.objects.filter(pk=enqueue_welcome(active, key=state).pk).update(state=state)
    TrackingEvent.objects.create(provider="postal", event_id="e1", event_type="bounced")
    Heartbeat.objects.create(name="beat", last_seen=now)
    Group.objects.create(name="editors")
    ClockedSchedule.objects.create(clocked_time=now + timedelta(days=1))
    SolarSchedule.objects.create(event="sunrise", latitude=52.5, longitude=13.4)
    message = EmailMultiAlternatives("Your digest", "Plain", "a@example.org", [active.email])
    message.attach_alternative("<p>Live links</p>", "text/html")
    get_connection("newsletter.lib.outbox.OutboxBackend").send_messages([message])
    return {"digest": digest, "outbox": next(settings.OUTBOX_DIR.glob("*.eml")).name}


def staff(username: str, *codenames: str) -> User:
    user = User.objects.create_user(username, password="x", is_staff=True)
    user.user_permissions.set(Permission.objects.filter(codename__in=codenames))
    return user


@pytest.fixture
def nobody(db) -> User:
    return staff("nobody")


@pytest.fixture
def viewer(db) -> User:
    codenames = Permission.objects.filter(codename__startswith="view_").values_list("codename")
    return staff("viewer", *[c for (c,) in codenames if c != "view_live_email"])


def _route(pattern) -> str:
    return str(pattern.pattern).lstrip("^").rstrip("$")


def admin_urls(everything) -> list[tuple[str, str]]:
    """(name, url) of every page the admin site serves, with real ids filled in."""
    urls = []
    for model, model_admin in admin.site._registry.items():
        instance = model._default_manager.order_by("pk").first()
        assert instance is not None, f"the walk needs a {model.__name__} row: add one above"
        values = {"object_id": instance.pk, "pk": instance.pk, "id": instance.pk}
        if model is Delivery:
            values["name"] = everything["outbox"]
        prefix = f"/admin/{model._meta.app_label}/{model._meta.model_name}/"
        for pattern in model_admin.get_urls():
            route = re.sub(
                r"<(?:\w+:)?(\w+)>", lambda m, v=values: str(v[m.group(1)]), _route(pattern)
            )
            urls.append((pattern.name or "redirect", prefix + route))
    return urls


def site_pages() -> set[str]:
    """Names of the site's own pages (not a model's)."""
    return {p.name for p in admin.site.get_urls() if isinstance(p, URLPattern) and p.name} - {
        "app_list",
        "view_on_site",
        "login",
        "logout",
        "autocomplete",
    }


def refused(response) -> bool:
    login = response.redirect_chain and "/admin/login/" in response.redirect_chain[-1][0]
    return response.status_code == 403 or bool(login)


def snapshot() -> dict:
    """Every row of every table but the sessions (a message to staff lives there)."""
    return {
        model._meta.label: sorted(map(repr, model._default_manager.values_list()))
        for model in apps.get_models()
        if model is not Session
    }


def test_the_site_pages_for_any_staff_are_the_known_ones():
    """A new site-wide page must be classified here (and checked) before it ships."""
    assert site_pages() == SITE_PAGES_FOR_ANY_STAFF
    models = {f"{m._meta.app_label}/{m._meta.model_name}/" for m in admin.site._registry}
    assert {_route(p) for p in admin.site.get_urls() if isinstance(p, URLResolver)} == models


def test_staff_without_permissions_open_no_admin_page(client, everything, nobody):
    client.force_login(nobody)
    before = snapshot()
    opened = [
        (name, url)
        for name, url in admin_urls(everything)
        if not refused(client.get(url, follow=True))
    ]
    assert opened == []
    assert client.get("/admin/digests/", follow=True).status_code in (403, 404)
    assert snapshot() == before


def test_staff_who_may_view_open_model_pages_but_no_live_email(client, everything, viewer):
    client.force_login(viewer)
    before = snapshot()
    wrong = []
    for name, url in admin_urls(everything):
        response = client.get(url, follow=True)
        if name.endswith(LIVE_PAGES):
            expected = "refused"
        elif name.endswith(VIEW_PAGES) or name == "redirect":
            expected = "opened" if "/password/" not in url else "refused"
        elif name.endswith(("_add", "_delete", "_password_change")):
            expected = "refused"
        else:
            pytest.fail(f"classify the admin page {name} ({url}) in this test")
        got = "refused" if refused(response) else ("opened" if response.status_code == 200 else "")
        if got != expected:
            wrong.append((url, response.status_code, expected))
    assert wrong == []
    assert snapshot() == before


def test_nobody_sees_a_preview_or_outbox_link_without_the_permission(client, everything, viewer):
    client.force_login(viewer)
    digests = client.get("/admin/digests/digest/").content.decode()
    digest = client.get(f"/admin/digests/digest/{everything['digest'].pk}/change/").content.decode()
    deliveries = client.get("/admin/delivery/delivery/").content.decode()
    assert "/preview/" not in digests + digest and "exactly as sent" not in digests + digest
    assert "/outbox/" not in deliveries and "by-day/" in deliveries
    client.force_login(staff("nobody2"))
    assert "dashboard/" not in client.get("/admin/").content.decode()


def test_the_live_email_permission_opens_previews_and_the_outbox(client, everything):
    client.force_login(staff("reviewer", "view_digest", "view_delivery", "view_live_email"))
    digest = everything["digest"]
    assert client.get(f"/admin/digests/digest/{digest.pk}/preview/").status_code == 200
    assert client.get(f"/admin/digests/digest/{digest.pk}/preview/?part=text").status_code == 200
    outbox = client.get("/admin/delivery/delivery/outbox/").content.decode()
    assert everything["outbox"] in outbox
    assert "/preview/" in client.get("/admin/digests/digest/").content.decode()


def all_actions() -> list[tuple[type, str]]:
    return [
        (model, name)
        for model, model_admin in admin.site._registry.items()
        for _, name, _ in model_admin._get_base_actions()
    ]


@pytest.mark.parametrize("who", ["nobody", "viewer"])
def test_no_action_changes_anything_for_staff_who_may_not_change(client, everything, who, request):
    client.force_login(request.getfixturevalue(who))
    PeriodicTask.objects.update(enabled=True)
    before, ran = snapshot(), []
    with time_machine.travel("2026-02-02 12:00:00Z", tick=False):
        for model, action in all_actions():
            url = f"/admin/{model._meta.app_label}/{model._meta.model_name}/"
            selected = list(model._default_manager.values_list("pk", flat=True))
            data = {"action": action, "_selected_action": selected, "confirm": "yes", "post": "yes"}
            response = client.post(url, data)
            if response.status_code not in (200, 302, 403) or snapshot() != before or mail.outbox:
                ran.append((model.__name__, action, response.status_code))
                mail.outbox.clear()
                before = snapshot()
    assert ran == []
    assert len(all_actions()) >= 12  # the walk saw the project's actions, not just deletes
