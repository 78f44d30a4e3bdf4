"""Source, Paper, IngestRun and ListingEntry move from the ``newsletter`` app to ``papers``.

Only Django's state moves: the tables keep their names (``db_table``), so no row is copied. The
content types are renamed in place, so admin history and permissions follow the models.
"""

import django.db.models.deletion
from django.db import migrations, models

MODELS = ["source", "paper", "ingestrun", "listingentry"]


def rename_content_types(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    ContentType.objects.filter(app_label="newsletter", model__in=MODELS).update(app_label="papers")


def restore_content_types(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    ContentType.objects.filter(app_label="papers", model__in=MODELS).update(app_label="newsletter")


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("newsletter", "0004_default_sources_and_ingest_schedule"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="Source",
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
                        ("name", models.CharField(max_length=100, unique=True)),
                        (
                            "format",
                            models.CharField(
                                choices=[
                                    ("hf-json", "Hugging Face API (JSON)"),
                                    ("hf-html", "Hugging Face daily papers page (HTML)"),
                                    ("arxiv", "arXiv feed or API (Atom/RSS)"),
                                ],
                                max_length=20,
                            ),
                        ),
                        (
                            "url_template",
                            models.CharField(
                                help_text="URL to fetch. {date} is the listing date (YYYY-MM-DD); {categories} the categories joined with '+'. The Hugging Face API is paged automatically.",
                                max_length=500,
                            ),
                        ),
                        (
                            "categories",
                            models.CharField(
                                blank=True,
                                help_text="arXiv categories, separated by spaces or commas.",
                                max_length=500,
                            ),
                        ),
                        ("enabled", models.BooleanField(default=True)),
                        (
                            "cached_url",
                            models.CharField(blank=True, editable=False, max_length=2000),
                        ),
                        ("etag", models.CharField(blank=True, editable=False, max_length=500)),
                        (
                            "last_modified",
                            models.CharField(blank=True, editable=False, max_length=100),
                        ),
                    ],
                    options={
                        "db_table": "newsletter_source",
                        "ordering": ["name"],
                    },
                ),
                migrations.CreateModel(
                    name="Paper",
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
                        (
                            "arxiv_id",
                            models.CharField(
                                blank=True,
                                max_length=64,
                                null=True,
                                unique=True,
                                verbose_name="arXiv id",
                            ),
                        ),
                        ("title", models.CharField(max_length=1000)),
                        (
                            "normalized_title",
                            models.CharField(db_index=True, editable=False, max_length=500),
                        ),
                        ("abstract", models.TextField(blank=True)),
                        (
                            "authors",
                            models.JSONField(
                                blank=True, default=list, help_text="Names, in order."
                            ),
                        ),
                        ("author_count", models.PositiveIntegerField(blank=True, null=True)),
                        ("authors_text", models.TextField(blank=True, editable=False)),
                        ("published", models.DateField(blank=True, null=True)),
                        (
                            "categories",
                            models.JSONField(blank=True, default=list, help_text="Primary first."),
                        ),
                        (
                            "primary_category",
                            models.CharField(blank=True, db_index=True, max_length=40),
                        ),
                        (
                            "hf_url",
                            models.URLField(
                                blank=True, max_length=2000, verbose_name="Hugging Face page"
                            ),
                        ),
                        (
                            "abs_url",
                            models.URLField(
                                blank=True, max_length=2000, verbose_name="arXiv abstract"
                            ),
                        ),
                        (
                            "pdf_url",
                            models.URLField(blank=True, max_length=2000, verbose_name="PDF"),
                        ),
                        (
                            "code_url",
                            models.URLField(blank=True, max_length=2000, verbose_name="code"),
                        ),
                        (
                            "project_url",
                            models.URLField(
                                blank=True, max_length=2000, verbose_name="project page"
                            ),
                        ),
                        ("thumbnail_url", models.URLField(blank=True, max_length=2000)),
                        ("upvotes", models.PositiveIntegerField(blank=True, null=True)),
                        ("ai_summary", models.TextField(blank=True)),
                        ("ai_keywords", models.JSONField(blank=True, default=list)),
                        ("first_seen", models.DateTimeField(db_index=True)),
                        ("updated_at", models.DateTimeField()),
                    ],
                    options={
                        "db_table": "newsletter_paper",
                        "ordering": ["-first_seen", "id"],
                        "constraints": [
                            models.UniqueConstraint(
                                condition=models.Q(("arxiv_id__isnull", True)),
                                fields=("normalized_title",),
                                name="paper_unique_title_without_arxiv_id",
                            )
                        ],
                    },
                ),
                migrations.CreateModel(
                    name="IngestRun",
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
                        (
                            "input",
                            models.CharField(blank=True, help_text="File or URL.", max_length=2000),
                        ),
                        ("format", models.CharField(blank=True, max_length=20)),
                        ("listing_date", models.DateField(blank=True, null=True)),
                        (
                            "status",
                            models.CharField(
                                choices=[
                                    ("running", "running"),
                                    ("ok", "ok"),
                                    ("partial", "ok, some records refused"),
                                    ("not_modified", "not modified upstream"),
                                    ("failed", "failed"),
                                ],
                                default="running",
                                max_length=20,
                            ),
                        ),
                        ("started_at", models.DateTimeField()),
                        ("finished_at", models.DateTimeField(blank=True, null=True)),
                        ("new_count", models.PositiveIntegerField(default=0)),
                        ("updated_count", models.PositiveIntegerField(default=0)),
                        ("unchanged_count", models.PositiveIntegerField(default=0)),
                        ("refused_count", models.PositiveIntegerField(default=0)),
                        ("error", models.TextField(blank=True)),
                        (
                            "source",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.SET_NULL,
                                related_name="runs",
                                to="papers.source",
                            ),
                        ),
                    ],
                    options={
                        "db_table": "newsletter_ingestrun",
                        "ordering": ["-started_at", "-id"],
                    },
                ),
                migrations.CreateModel(
                    name="ListingEntry",
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
                        (
                            "origin",
                            models.CharField(
                                help_text="The source's name, or the file/URL ingested.",
                                max_length=200,
                            ),
                        ),
                        ("listing_date", models.DateField(db_index=True)),
                        (
                            "rank",
                            models.PositiveIntegerField(
                                help_text="Position in the listing, from 1."
                            ),
                        ),
                        ("upvotes", models.PositiveIntegerField(blank=True, null=True)),
                        (
                            "run",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.SET_NULL,
                                related_name="entries",
                                to="papers.ingestrun",
                            ),
                        ),
                        (
                            "paper",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="listings",
                                to="papers.paper",
                            ),
                        ),
                        (
                            "source",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.SET_NULL,
                                related_name="entries",
                                to="papers.source",
                            ),
                        ),
                    ],
                    options={
                        "db_table": "newsletter_listingentry",
                        "verbose_name_plural": "listing entries",
                        "ordering": ["-listing_date", "rank"],
                        "constraints": [
                            models.UniqueConstraint(
                                fields=("paper", "origin", "listing_date"),
                                name="listing_entry_once_per_listing",
                            )
                        ],
                    },
                ),
            ],
        ),
        migrations.RunPython(rename_content_types, restore_content_types),
    ]
