"""The paper models now belong to the ``papers`` app (``newsletter/papers/``); their tables stay."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("newsletter", "0004_default_sources_and_ingest_schedule"),
        ("papers", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.DeleteModel(name="ListingEntry"),
                migrations.DeleteModel(name="IngestRun"),
                migrations.DeleteModel(name="Paper"),
                migrations.DeleteModel(name="Source"),
            ],
        ),
    ]
