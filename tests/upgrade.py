"""Build a database as the previous main left it, with a row in every table, for the upgrade test.

Run in a child process against a database of its own (``manage.py shell -c``), so the test
database is never migrated backwards.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

from django.db import connection
from django.db.migrations.executor import MigrationExecutor

# The previous main: the apps it had, at its last migrations.
PREVIOUS_MAIN = {
    "newsletter": "0004_default_sources_and_ingest_schedule",
    "subscriptions": "0003_timezone_validator",
}
THIRD_PARTY = ["contenttypes", "auth", "admin", "sessions", "django_celery_beat"]
NOW = datetime(2026, 11, 20, 7, 0, tzinfo=UTC)
CAPTURE_TITLE = (
    "LightHGNN: Distilling Hypergraph Neural Networks into MLPs for 100times Faster Inference"
)
ARXIV_TITLE = (
    "LightHGNN: Distilling Hypergraph Neural Networks into MLPs for $100\\times$ Faster Inference"
)


def build_previous_main() -> None:
    """Migrate to the previous main's state and fill every table; prints the rows made (JSON)."""
    executor = MigrationExecutor(connection)
    leaves = executor.loader.graph.leaf_nodes()
    targets = [node for node in leaves if node[0] in THIRD_PARTY]
    targets += list(PREVIOUS_MAIN.items())
    executor.migrate(targets)
    apps = executor.loader.project_state(targets).apps
    print(json.dumps(_fill(apps)))


def _fill(apps) -> dict:
    Source = apps.get_model("newsletter", "Source")
    Paper = apps.get_model("newsletter", "Paper")
    IngestRun = apps.get_model("newsletter", "IngestRun")
    ListingEntry = apps.get_model("newsletter", "ListingEntry")
    Heartbeat = apps.get_model("newsletter", "Heartbeat")
    Subscriber = apps.get_model("subscriptions", "Subscriber")
    Topic = apps.get_model("subscriptions", "Topic")
    Interest = apps.get_model("subscriptions", "Interest")
    ConsentRecord = apps.get_model("subscriptions", "ConsentRecord")
    SuppressedAddress = apps.get_model("subscriptions", "SuppressedAddress")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    User = apps.get_model("auth", "User")
    LogEntry = apps.get_model("admin", "LogEntry")
    ContentType = apps.get_model("contenttypes", "ContentType")

    source = Source.objects.create(
        name="Upgrade feed", format="arxiv", url_template="https://rss.arxiv.org/atom/cs.RO"
    )
    run = IngestRun.objects.create(
        source=source,
        input="x",
        format="arxiv",
        listing_date=date(2026, 11, 19),
        status="ok",
        started_at=NOW,
        finished_at=NOW,
        new_count=2,
    )
    # Keys as the previous main wrote them: lower-cased old-style id, punctuation as spaces.
    kept = Paper.objects.create(
        arxiv_id="2402.04296",
        title=ARXIV_TITLE,
        normalized_title="lighthgnn distilling hypergraph neural networks into mlps for 100 times "
        "faster inference",
        abstract="Hypergraph Neural Networks ...",
        authors=["Yifan Feng"],
        first_seen=NOW,
        updated_at=NOW,
        categories=["cs.LG"],
        primary_category="cs.LG",
    )
    capture = Paper.objects.create(
        title=CAPTURE_TITLE,
        normalized_title="lighthgnn distilling hypergraph neural networks into mlps for 100times "
        "faster inference",
        abstract="Hypergraph Neural Networks (HGNNs) have recently attracted much attention.",
        upvotes=12,
        first_seen=NOW,
        updated_at=NOW,
    )
    old_style = Paper.objects.create(
        arxiv_id="math.gt/0309136",
        title="Knots",
        normalized_title="knots",
        first_seen=NOW,
        updated_at=NOW,
    )
    for rank, paper in enumerate([kept, capture, old_style], start=1):
        ListingEntry.objects.create(
            paper=paper,
            source=source,
            origin="Upgrade feed" if rank != 2 else "capture.txt",
            listing_date=date(2026, 11, 19),
            rank=rank,
            run=run,
        )
    Heartbeat.objects.create(name="worker", last_seen=NOW, runs=3)
    subscriber = Subscriber.objects.create(
        email="reader@example.com",
        status="active",
        timezone="Europe/Berlin",
        send_hour=7,
        confirmed_at=NOW,
    )
    subscriber.topics.add(Topic.objects.first())
    Interest.objects.create(subscriber=subscriber, kind="keyword", value="motion planning")
    Interest.objects.create(subscriber=subscriber, kind="paper", value="math.gt/0309136")
    ConsentRecord.objects.create(subscriber=subscriber, action="confirm", note="upgrade")
    SuppressedAddress.objects.create(address_hash="0" * 64, reason="bounced")
    every = IntervalSchedule.objects.create(every=3, period="hours")
    PeriodicTask.objects.create(
        name="Hand-made ingest", task="newsletter.ingest_all_sources", interval=every
    )
    staff = User.objects.create(username="staff", is_staff=True, is_superuser=True)
    paper_type, _ = ContentType.objects.get_or_create(app_label="newsletter", model="paper")
    LogEntry.objects.create(
        user=staff,
        content_type=paper_type,
        object_id=str(kept.pk),
        object_repr="LightHGNN",
        action_flag=2,
        change_message="Edited the title",
        action_time=NOW,
    )
    return {
        "kept": kept.pk,
        "capture": capture.pk,
        "old_style": old_style.pk,
        "subscriber": subscriber.pk,
        "source": source.pk,
        "run": run.pk,
    }


def describe_upgraded() -> None:
    """After ``migrate``: what the upgraded database holds, read through today's models (JSON)."""
    from django.contrib.admin.models import LogEntry
    from django_celery_beat.models import PeriodicTask

    from newsletter.celery import app
    from newsletter.models import Heartbeat
    from newsletter.papers.models import IngestRun, ListingEntry, Paper, Source
    from subscriptions.models import ConsentRecord, Interest, Subscriber, SuppressedAddress

    app.loader.import_default_modules()
    log = LogEntry.objects.get(change_message="Edited the title")
    papers = {
        str(p.pk): {
            "arxiv_id": p.arxiv_id,
            "upvotes": p.upvotes,
            "origins": sorted(p.listings.values_list("origin", flat=True)),
        }
        for p in Paper.objects.all()
    }
    facts = {
        "papers": papers,
        "counts": {
            "source": Source.objects.filter(name="Upgrade feed").count(),
            "run": IngestRun.objects.count(),
            "entry": ListingEntry.objects.count(),
            "heartbeat": Heartbeat.objects.count(),
            "subscriber": Subscriber.objects.count(),
            "consent": ConsentRecord.objects.count(),
            "suppressed": SuppressedAddress.objects.count(),
        },
        "subscriber_topics": Subscriber.objects.get().topics.count(),
        "interests": sorted(Interest.objects.values_list("kind", "value")),
        "log_entry_object": str(log.get_edited_object().pk),
        "log_entry_app": log.content_type.app_label,
        "beat_tasks": sorted(PeriodicTask.objects.values_list("task", flat=True)),
        "unknown_beat_tasks": sorted(
            set(PeriodicTask.objects.values_list("task", flat=True)) - set(app.tasks)
        ),
    }
    print(json.dumps(facts))


# Today's main, before the daily run had its own app: every app at its leaf, digests at 0003.
TODAYS_MAIN_DIGESTS = "0003_daily_run_schedule"


def build_todays_main() -> None:
    """Migrate to today's main (DailyRun in the digests app) and make two daily runs (JSON)."""
    executor = MigrationExecutor(connection)
    leaves = executor.loader.graph.leaf_nodes()
    targets = [node for node in leaves if node[0] not in ("daily", "digests")]
    targets.append(("digests", TODAYS_MAIN_DIGESTS))
    executor.migrate(targets)
    apps = executor.loader.project_state(targets).apps
    DailyRun = apps.get_model("digests", "DailyRun")
    ContentType = apps.get_model("contenttypes", "ContentType")
    for n, state in enumerate(["done", "partial"]):
        DailyRun.objects.create(
            day=date(2026, 11, 18 + n),
            state=state,
            started_at=NOW,
            ingest_deadline=NOW,
            stages={"sending": {"status": "ok", "sent": 3 + n}},
            notes=f"run {n}",
        )
    ContentType.objects.get_or_create(app_label="digests", model="dailyrun")
    print(json.dumps({"runs": 2}))


def describe_daily_runs() -> None:
    """After ``migrate``: the daily runs, read through today's model (JSON)."""
    from django.contrib.contenttypes.models import ContentType
    from django_celery_beat.models import PeriodicTask

    from newsletter.celery import app
    from newsletter.daily.models import DailyRun

    app.loader.import_default_modules()
    print(
        json.dumps(
            {
                "runs": [
                    [str(r.day), r.state, r.stages["sending"]["sent"], r.notes]
                    for r in DailyRun.objects.order_by("day")
                ],
                "content_type": ContentType.objects.get_for_model(DailyRun).app_label,
                "stale_types": ContentType.objects.filter(
                    app_label="digests", model="dailyrun"
                ).count(),
                "unknown_beat_tasks": sorted(
                    set(PeriodicTask.objects.values_list("task", flat=True)) - set(app.tasks)
                ),
            }
        )
    )
