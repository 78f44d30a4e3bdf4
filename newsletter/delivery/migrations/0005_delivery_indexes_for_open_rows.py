# Fewer index writes per email: every email updates its row three times (claimed, handed over,
# sent), and an update that cannot stay on its page writes a new entry into every index.

from django.db import migrations, models


def _fillfactor(value: str):
    """Leave room on each PostgreSQL page, so an update that changes no indexed column (the
    hand-over) can stay on its page and write no index at all. It applies to pages written from
    now on (every day's new rows); existing pages keep theirs. Other databases: nothing."""

    def apply(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            table = schema_editor.quote_name(apps.get_model("delivery", "Delivery")._meta.db_table)
            schema_editor.execute(f"ALTER TABLE {table} {value}")

    return apply


class Migration(migrations.Migration):
    dependencies = [
        ("delivery", "0004_delivery_state_indexed_with_due"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="delivery",
            index=models.Index(
                condition=models.Q(
                    ("state__in", ["queued", "retry", "sending", "failed", "uncertain"])
                ),
                fields=["state", "next_attempt_at"],
                name="delivery_open",
            ),
        ),
        migrations.AddIndex(
            model_name="delivery",
            index=models.Index(
                condition=models.Q(("provider_message_id", ""), _negated=True),
                fields=["provider_message_id"],
                name="delivery_provider_message_id",
            ),
        ),
        migrations.RemoveIndex(model_name="delivery", name="delivery_due"),
        migrations.AlterField(
            model_name="delivery",
            name="next_attempt_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AlterField(
            model_name="delivery",
            name="provider_message_id",
            field=models.CharField(blank=True, max_length=200),
        ),
        migrations.RunPython(
            _fillfactor("SET (fillfactor = 80)"), _fillfactor("RESET (fillfactor)")
        ),
    ]
