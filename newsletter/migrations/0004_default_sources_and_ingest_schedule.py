"""Default listing sources and the daily beat entry that ingests every enabled one.

Staff edit both later in the admin (Sources; Periodic tasks).
"""

from django.db import migrations

INGEST = "Ingest daily paper listings (daily)"
HF_API = "Hugging Face daily papers (API)"
ARXIV_CATEGORIES = ["cs.LG", "cs.CL", "cs.CV", "cs.AI", "stat.ML"]


def create_defaults(apps, schema_editor):
    Source = apps.get_model("newsletter", "Source")
    Source.objects.get_or_create(
        name=HF_API,
        defaults={
            "format": "hf-json",
            "url_template": "https://huggingface.co/api/daily_papers?date={date}",
            "enabled": True,
        },
    )
    for category in ARXIV_CATEGORIES:
        Source.objects.get_or_create(
            name=f"arXiv {category}",
            defaults={
                "format": "arxiv",
                "url_template": "https://rss.arxiv.org/atom/{categories}",
                "categories": category,
                "enabled": True,
            },
        )
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    # 23:00 UTC: the day's Hugging Face list is nearly complete and arXiv's feeds carry the
    # announcement made at the start of the same day.
    daily, _ = CrontabSchedule.objects.get_or_create(
        minute="0", hour="23", day_of_week="*", day_of_month="*", month_of_year="*", timezone="UTC"
    )
    PeriodicTask.objects.get_or_create(
        name=INGEST,
        defaults={
            "task": "newsletter.ingest_all_sources",
            "crontab": daily,
            "kwargs": "{}",
            "description": "Fetches every enabled Source for today's date (UTC); see Ingest runs.",
        },
    )


def remove_defaults(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=INGEST).delete()
    Source = apps.get_model("newsletter", "Source")
    Source.objects.filter(name__in=[HF_API] + [f"arXiv {c}" for c in ARXIV_CATEGORIES]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("newsletter", "0003_papers"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create_defaults, remove_defaults)]
