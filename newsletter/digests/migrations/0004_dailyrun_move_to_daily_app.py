"""DailyRun now belongs to the ``daily`` app (``newsletter/daily/``); its table stays."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("digests", "0003_daily_run_schedule"),
        ("daily", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="DailyRun")],
        ),
    ]
