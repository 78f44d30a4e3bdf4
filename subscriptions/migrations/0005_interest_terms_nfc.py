"""Keywords, excluded terms and followed authors stored before terms were Unicode-normalised get
their NFC form; two rows of one subscriber that are one term (``café`` typed two ways, or in
another case) become one, the first kept."""

import unicodedata

from django.db import migrations


def _key(term: str) -> str:  # parsing.term_key as of this migration
    return unicodedata.normalize("NFC", unicodedata.normalize("NFC", term).casefold())


def normalise(apps, schema_editor):
    Interest = apps.get_model("subscriptions", "Interest")
    rows = Interest.objects.filter(kind__in=["keyword", "exclude", "author"]).order_by(
        "subscriber_id", "kind", "position", "id"
    )
    seen: set[tuple[int, str, str]] = set()
    changed = []
    for row in rows:
        key = (row.subscriber_id, row.kind, _key(row.value))
        if key in seen:
            row.delete()  # before any update, so no update meets the unique constraint
            continue
        seen.add(key)
        value = unicodedata.normalize("NFC", row.value)
        if value != row.value:
            row.value = value
            changed.append(row)
    for row in changed:
        row.save(update_fields=["value"])


class Migration(migrations.Migration):
    dependencies = [("subscriptions", "0004_liked_paper_ids")]

    operations = [migrations.RunPython(normalise, migrations.RunPython.noop)]
