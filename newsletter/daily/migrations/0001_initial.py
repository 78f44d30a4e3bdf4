"""DailyRun moves from the ``digests`` app to ``daily`` (``newsletter/daily/``); its table stays.

Only Django's state moves: the table keeps its name (``db_table``), so no row is copied. The
content type is renamed in place, so admin history and permissions follow the model. The beat
entries name their tasks (``daily.tick``, ``daily.sweep``), which keep their names.
"""

from django.db import migrations, models


def rename_content_types(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    ContentType.objects.filter(app_label="digests", model="dailyrun").update(app_label="daily")


def restore_content_types(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    ContentType.objects.filter(app_label="daily", model="dailyrun").update(app_label="digests")


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("digests", "0003_daily_run_schedule"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="DailyRun",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True,
                                primary_key=True,
                                serialize=False,
                                verbose_name="ID",
                            ),
                        ),
                        ("day", models.DateField(unique=True, verbose_name="listing day")),
                        (
                            "state",
                            models.CharField(
                                choices=[
                                    ("ingesting", "Ingesting"),
                                    ("matching", "Matching"),
                                    ("sending", "Sending"),
                                    ("done", "Done"),
                                    ("partial", "Done, with problems"),
                                    ("failed", "Failed"),
                                ],
                                db_index=True,
                                default="ingesting",
                                max_length=12,
                            ),
                        ),
                        ("started_at", models.DateTimeField()),
                        (
                            "ingest_deadline",
                            models.DateTimeField(
                                help_text="Digests wait for late sources until then, and go out without them after."
                            ),
                        ),
                        ("finished_at", models.DateTimeField(blank=True, null=True)),
                        ("created_at", models.DateTimeField(auto_now_add=True)),
                        ("updated_at", models.DateTimeField(auto_now=True)),
                        ("ingest_expected", models.JSONField(blank=True, default=list)),
                        ("ingest_retries", models.JSONField(blank=True, default=dict)),
                        ("candidates", models.PositiveIntegerField(blank=True, null=True)),
                        ("quiet_reason", models.CharField(blank=True, max_length=300)),
                        ("stages", models.JSONField(blank=True, default=dict)),
                        (
                            "notes",
                            models.TextField(
                                blank=True, help_text="Late or failed sources, stalls found, ..."
                            ),
                        ),
                        ("dispatched_at", models.DateTimeField(blank=True, null=True)),
                        ("dispatched_through", models.DateTimeField(blank=True, null=True)),
                    ],
                    options={
                        "db_table": "digests_dailyrun",
                        "ordering": ["-day"],
                    },
                ),
            ],
        ),
        migrations.RunPython(rename_content_types, restore_content_types),
    ]
