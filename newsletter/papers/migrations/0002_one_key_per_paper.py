"""Every stored paper gets today's keys, and papers that now share one become one.

- arXiv ids get the one rule of ``newsletter.lib.arxiv`` (``math.gt/0309136`` -> ``math.GT/0309136``);
  two papers with the same id merge.
- Title keys are recomputed with ``normalize_title``, which no longer depends on how a listing renders
  LaTeX: a paper known by title alone merges into the paper with an arXiv id and the same title key
  (the oldest, as ingest does), else into the oldest title-only paper with that key.

Merging keeps every listing entry (moved to the kept paper; an entry of the same listing on the
same day is already there), fills the kept paper's gaps and never erases what it knows.
"""

from django.db import migrations

from newsletter.lib.arxiv import arxiv_id_normalize
from newsletter.papers.sources.base import normalize_title

GAP_FIELDS = [
    "published",
    "primary_category",
    "hf_url",
    "abs_url",
    "pdf_url",
    "code_url",
    "project_url",
    "thumbnail_url",
    "ai_summary",
    "ai_keywords",
    "author_count",
]


def _merge_into(kept, other, ListingEntry) -> None:
    for name in GAP_FIELDS:
        if not getattr(kept, name) and getattr(other, name):
            setattr(kept, name, getattr(other, name))
    if len(other.abstract) > len(kept.abstract):
        kept.abstract = other.abstract
    if len(other.authors or []) > len(kept.authors or []):
        kept.authors, kept.authors_text = other.authors, other.authors_text
    known = list(kept.categories or [])
    kept.categories = known + [c for c in other.categories or [] if c not in known]
    if other.upvotes is not None and (kept.upvotes is None or other.upvotes > kept.upvotes):
        kept.upvotes = other.upvotes
    kept.first_seen = min(kept.first_seen, other.first_seen)
    kept.updated_at = max(kept.updated_at, other.updated_at)
    present = set(
        ListingEntry.objects.filter(paper_id=kept.pk).values_list("origin", "listing_date")
    )
    for entry in ListingEntry.objects.filter(paper_id=other.pk):
        if (entry.origin, entry.listing_date) in present:
            entry.delete()
        else:
            present.add((entry.origin, entry.listing_date))
            entry.paper_id = kept.pk
            entry.save(update_fields=["paper"])
    other.delete()


def rekey(apps, schema_editor):
    Paper = apps.get_model("papers", "Paper")
    ListingEntry = apps.get_model("papers", "ListingEntry")
    papers = list(Paper.objects.order_by("pk"))
    new_id = {
        p.pk: (arxiv_id_normalize(p.arxiv_id) or p.arxiv_id) if p.arxiv_id else None for p in papers
    }
    new_key = {p.pk: normalize_title(p.title) for p in papers}
    kept_by_id: dict[str, object] = {}
    kept_by_key: dict[str, object] = {}  # oldest paper with an id per key, else oldest title-only
    merges = []
    for paper in papers:  # papers with an id first decide who keeps each key
        if new_id[paper.pk] is None:
            continue
        if new_id[paper.pk] in kept_by_id:
            merges.append((kept_by_id[new_id[paper.pk]], paper))
            continue
        kept_by_id[new_id[paper.pk]] = paper
        kept_by_key.setdefault(new_key[paper.pk], paper)
    for paper in papers:
        if new_id[paper.pk] is not None:
            continue
        if new_key[paper.pk] in kept_by_key:
            merges.append((kept_by_key[new_key[paper.pk]], paper))
        else:
            kept_by_key[new_key[paper.pk]] = paper
    for kept, other in merges:
        _merge_into(kept, other, ListingEntry)
        kept.save()
    gone = {other.pk for _, other in merges}
    for paper in papers:
        if paper.pk in gone:
            continue
        if (paper.arxiv_id, paper.normalized_title) != (new_id[paper.pk], new_key[paper.pk]):
            paper.arxiv_id, paper.normalized_title = new_id[paper.pk], new_key[paper.pk]
            paper.save()


class Migration(migrations.Migration):
    dependencies = [("papers", "0001_initial")]

    operations = [migrations.RunPython(rekey, migrations.RunPython.noop)]
