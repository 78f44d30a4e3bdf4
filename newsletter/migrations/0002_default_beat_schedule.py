"""Create the default periodic tasks; staff edit them later in the admin (Periodic tasks)."""

from django.db import migrations

HEARTBEAT = "Worker heartbeat (every 5 minutes)"


def create_schedule(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    every_five, _ = IntervalSchedule.objects.get_or_create(every=5, period="minutes")
    PeriodicTask.objects.get_or_create(
        name=HEARTBEAT,
        defaults={
            "task": "newsletter.heartbeat",
            "interval": every_five,
            "kwargs": '{"name": "beat"}',
            "description": "Proves that beat schedules tasks and a worker runs them (see Heartbeats).",
        },
    )


def remove_schedule(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=HEARTBEAT).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("newsletter", "0001_initial"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create_schedule, remove_schedule)]
