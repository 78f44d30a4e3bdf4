"""Beat entries of the daily run: the hourly tick and the sweep; the ingest-only entry is disabled.

The tick starts each listing day's run (its ingest first) at DAILY_RUN_HOUR and sends each digest at
its subscriber's hour, so the older daily entry that only ingested would fetch everything twice.
Staff edit all of them in the admin (Periodic tasks).
"""

from django.db import migrations

TICK = "Daily run: start the day, send digests due (hourly)"
SWEEP = "Daily run: sweep (finds stalled work)"
OLD_INGEST = "Ingest daily paper listings (daily)"


def create(apps, schema_editor):
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    hourly, _ = CrontabSchedule.objects.get_or_create(
        minute="0", hour="*", day_of_week="*", day_of_month="*", month_of_year="*", timezone="UTC"
    )
    PeriodicTask.objects.get_or_create(
        name=TICK,
        defaults={
            "task": "daily.tick",
            "crontab": hourly,
            "kwargs": "{}",
            "description": "Starts the run of each listing day (its ingest) and hands each "
            "subscriber's digest to the workers when their local hour has come. See Daily runs.",
        },
    )
    every_five, _ = IntervalSchedule.objects.get_or_create(every=5, period="minutes")
    PeriodicTask.objects.get_or_create(
        name=SWEEP,
        defaults={
            "task": "daily.sweep",
            "interval": every_five,
            "kwargs": "{}",
            "description": "Moves open daily runs on and hands out again work that stalled.",
        },
    )
    PeriodicTask.objects.filter(name=OLD_INGEST, task="newsletter.ingest_all_sources").update(
        enabled=False,
        description="Disabled: the daily run (above) starts the day's ingest. Enable it only to "
        "ingest without sending.",
    )


def remove(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTask.objects.filter(name__in=[TICK, SWEEP]).delete()
    PeriodicTask.objects.filter(name=OLD_INGEST).update(enabled=True)


class Migration(migrations.Migration):
    dependencies = [
        ("digests", "0002_dailyrun"),
        ("newsletter", "0004_default_sources_and_ingest_schedule"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create, remove)]
