"""The beat entry that looks title-only papers up on arXiv (see newsletter.papers.resolve)."""

from django.db import migrations

RESOLVE = "Look up title-only papers on arXiv (every 15 minutes)"


def create_schedule(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    every_fifteen, _ = IntervalSchedule.objects.get_or_create(every=15, period="minutes")
    PeriodicTask.objects.get_or_create(
        name=RESOLVE,
        defaults={
            "task": "newsletter.papers.titles_resolve",
            "interval": every_fifteen,
            "kwargs": "{}",
            "description": "Papers stored without an arXiv id are looked up by title on arXiv "
            "(one request every 3 seconds) and Hugging Face, a batch at a time; an ingest starts "
            "this too. A title found nowhere is tried again after 7 days, at most 3 times.",
        },
    )


def remove_schedule(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=RESOLVE).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("papers", "0004_title_lookup"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create_schedule, remove_schedule)]
