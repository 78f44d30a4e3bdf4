"""The beat entry that sweeps ingest runs whose task is gone (see newsletter.papers.sweep)."""

from django.db import migrations

SWEEP = "Sweep stuck ingest runs (every 5 minutes)"


def create_schedule(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    every_five, _ = IntervalSchedule.objects.get_or_create(every=5, period="minutes")
    PeriodicTask.objects.get_or_create(
        name=SWEEP,
        defaults={
            "task": "newsletter.papers.ingest_runs_sweep",
            "interval": every_five,
            "kwargs": "{}",
            "description": "Marks ingest runs still running well past the hard time limit as failed "
            "and queues their source and day again (at most 3 attempts).",
        },
    )


def remove_schedule(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=SWEEP).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("papers", "0002_one_key_per_paper"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create_schedule, remove_schedule)]
