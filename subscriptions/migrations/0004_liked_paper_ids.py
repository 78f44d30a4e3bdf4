"""Liked papers stored before the one arXiv id rule get its key (``math.gt/...`` -> ``math.GT/...``);
two rows of one subscriber that now name the same paper become one."""

from django.db import migrations

from newsletter.lib.arxiv import arxiv_id_normalize


def normalise(apps, schema_editor):
    Interest = apps.get_model("subscriptions", "Interest")
    seen: set[tuple[int, str]] = set()
    changed = []
    for row in Interest.objects.filter(kind="paper").order_by("subscriber_id", "position", "id"):
        key = arxiv_id_normalize(row.value) or row.value
        if (row.subscriber_id, key) in seen:
            row.delete()  # before any update, so no update meets the unique constraint
            continue
        seen.add((row.subscriber_id, key))
        if key != row.value:
            row.value = key
            changed.append(row)
    for row in changed:
        row.save(update_fields=["value"])


class Migration(migrations.Migration):
    dependencies = [("subscriptions", "0003_timezone_validator")]

    operations = [migrations.RunPython(normalise, migrations.RunPython.noop)]
