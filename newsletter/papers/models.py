"""Papers and where they were listed. Only ``newsletter.papers.upsert`` writes Paper and ListingEntry.

The tables keep the names they had when these models lived in the ``newsletter`` app, so an
installation upgrades with ``migrate`` alone.
"""

from datetime import date
from typing import NamedTuple
from urllib.parse import urlencode

from django.core.exceptions import ValidationError
from django.db import models

from newsletter.lib.arxiv import arxiv_links


class Source(models.Model):
    """An upstream listing fetched every day; staff edit these in the admin."""

    class Format(models.TextChoices):
        HF_JSON = "hf-json", "Hugging Face API (JSON)"
        HF_HTML = "hf-html", "Hugging Face daily papers page (HTML)"
        ARXIV = "arxiv", "arXiv feed or API (Atom/RSS)"

    name = models.CharField(max_length=100, unique=True)
    format = models.CharField(max_length=20, choices=Format.choices)
    url_template = models.CharField(
        max_length=500,
        help_text="URL to fetch. {date} is the listing date (YYYY-MM-DD); {categories} the "
        "categories joined with '+'. The Hugging Face API is paged automatically.",
    )
    categories = models.CharField(
        max_length=500, blank=True, help_text="arXiv categories, separated by spaces or commas."
    )
    enabled = models.BooleanField(default=True)
    # Conditional requests: the validators of the last response for cached_url.
    cached_url = models.CharField(max_length=2000, blank=True, editable=False)
    etag = models.CharField(max_length=500, blank=True, editable=False)
    last_modified = models.CharField(max_length=100, blank=True, editable=False)

    class Meta:
        db_table = "newsletter_source"
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def category_list(self) -> list[str]:
        return [c for c in self.categories.replace(",", " ").split() if c]

    @property
    def is_dated(self) -> bool:
        """Whether the URL names the day, so a missed day can be fetched later (arXiv's
        listing feeds only ever show the current announcement)."""
        return "{date}" in self.url_template

    def url_for(self, day: date) -> str:
        """The URL to fetch for ``day``; ValueError if the template has unknown placeholders."""
        try:
            return self.url_template.format(
                date=day.isoformat(), categories="+".join(self.category_list)
            )
        except (KeyError, IndexError, ValueError) as exc:
            raise ValueError(
                f"URL template {self.url_template!r} is invalid: use only {{date}} and "
                f"{{categories}} ({type(exc).__name__}: {exc})"
            ) from None

    def clean(self) -> None:
        try:
            url = self.url_for(date(2000, 1, 1))
        except ValueError as exc:
            raise ValidationError({"url_template": str(exc)}) from None
        if not url.startswith(("https://", "http://")):
            raise ValidationError({"url_template": "The URL must start with https:// or http://."})


class Paper(models.Model):
    """One paper, however many listings carried it: one row per arXiv id, else per title."""

    arxiv_id = models.CharField("arXiv id", max_length=64, null=True, blank=True, unique=True)
    title = models.CharField(max_length=1000)
    normalized_title = models.CharField(max_length=500, db_index=True, editable=False)
    abstract = models.TextField(blank=True)
    authors = models.JSONField(default=list, blank=True, help_text="Names, in order.")
    author_count = models.PositiveIntegerField(null=True, blank=True)
    authors_text = models.TextField(blank=True, editable=False)
    published = models.DateField(null=True, blank=True)
    categories = models.JSONField(default=list, blank=True, help_text="Primary first.")
    primary_category = models.CharField(max_length=40, blank=True, db_index=True)
    hf_url = models.URLField("Hugging Face page", max_length=2000, blank=True)
    abs_url = models.URLField("arXiv abstract", max_length=2000, blank=True)
    pdf_url = models.URLField("PDF", max_length=2000, blank=True)
    code_url = models.URLField("code", max_length=2000, blank=True)
    project_url = models.URLField("project page", max_length=2000, blank=True)
    thumbnail_url = models.URLField(max_length=2000, blank=True)
    upvotes = models.PositiveIntegerField(null=True, blank=True)
    ai_summary = models.TextField(blank=True)
    ai_keywords = models.JSONField(default=list, blank=True)
    first_seen = models.DateTimeField(db_index=True)
    updated_at = models.DateTimeField()

    class Meta:
        db_table = "newsletter_paper"
        ordering = ["-first_seen", "id"]
        constraints = [
            # Papers without an arXiv id are known by title alone. Two arXiv papers may share
            # a title, so the title is unique only among papers without an id.
            models.UniqueConstraint(
                fields=["normalized_title"],
                condition=models.Q(arxiv_id__isnull=True),
                name="paper_unique_title_without_arxiv_id",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.arxiv_id}: {self.title}" if self.arxiv_id else self.title

    @property
    def url(self) -> str:
        """The paper's page (``paper_links``): always a real URL."""
        return paper_links(self).page

    @property
    def authors_display(self) -> str:
        """Up to three names ("A, B, C et al.") or, when only the count is known, "12 authors"."""
        names = list(self.authors or [])
        if names:
            return ", ".join(names[:3]) + (" et al." if len(names) > 3 else "")
        if self.author_count:
            return f"{self.author_count} author{'s' if self.author_count != 1 else ''}"
        return ""


class PaperLinks(NamedTuple):
    """Where a paper links: ``page`` is always a real URL; the others are "" when unknown."""

    page: str
    pdf: str
    code: str
    project: str


def paper_links(paper: Paper) -> PaperLinks:
    """The one rule for a paper's links, in the email, the web copy, the home page and the
    admin: its Hugging Face page when it came from there, else its arXiv abstract page, else its
    PDF or project page. A paper known by title alone (until a lookup finds its arXiv id, or
    when none does) links to arXiv's search for its title. The PDF is arXiv's when the id is known."""
    arxiv_abs, arxiv_pdf = arxiv_links(paper.arxiv_id) if paper.arxiv_id else ("", "")
    page = paper.hf_url or paper.abs_url or arxiv_abs or paper.pdf_url or paper.project_url
    return PaperLinks(
        page=page or title_search_url(paper.title),
        pdf=paper.pdf_url or arxiv_pdf,
        code=paper.code_url,
        project=paper.project_url,
    )


def title_search_url(title: str) -> str:
    """arXiv's search for papers of this title."""
    return "https://arxiv.org/search/?" + urlencode({"query": title, "searchtype": "title"})


class IngestRun(models.Model):
    """One attempt at ingesting one input (a Source for a day, or a file/URL given by hand)."""

    class Status(models.TextChoices):
        RUNNING = "running", "running"
        OK = "ok", "ok"
        PARTIAL = "partial", "ok, some records refused"
        NOT_MODIFIED = "not_modified", "not modified upstream"
        FAILED = "failed", "failed"

    SUCCESSFUL = (Status.OK, Status.PARTIAL, Status.NOT_MODIFIED)

    source = models.ForeignKey(
        Source, null=True, blank=True, on_delete=models.SET_NULL, related_name="runs"
    )
    input = models.CharField(max_length=2000, blank=True, help_text="File or URL.")
    format = models.CharField(max_length=20, blank=True)
    listing_date = models.DateField(null=True, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.RUNNING)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    new_count = models.PositiveIntegerField(default=0)
    updated_count = models.PositiveIntegerField(default=0)
    unchanged_count = models.PositiveIntegerField(default=0)
    refused_count = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)

    class Meta:
        db_table = "newsletter_ingestrun"
        ordering = ["-started_at", "-id"]

    def __str__(self) -> str:
        return f"{self.source or self.input} {self.listing_date} {self.status}"


class ListingEntry(models.Model):
    """A paper's appearance in a listing on a day, with its rank and upvotes then."""

    paper = models.ForeignKey(Paper, on_delete=models.CASCADE, related_name="listings")
    source = models.ForeignKey(
        Source, null=True, blank=True, on_delete=models.SET_NULL, related_name="entries"
    )
    origin = models.CharField(
        max_length=200, help_text="The source's name, or the file/URL ingested."
    )
    listing_date = models.DateField(db_index=True)
    rank = models.PositiveIntegerField(help_text="Position in the listing, from 1.")
    upvotes = models.PositiveIntegerField(null=True, blank=True)
    run = models.ForeignKey(
        IngestRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="entries"
    )

    class Meta:
        db_table = "newsletter_listingentry"
        ordering = ["-listing_date", "rank"]
        verbose_name_plural = "listing entries"
        constraints = [
            models.UniqueConstraint(
                fields=["paper", "origin", "listing_date"], name="listing_entry_once_per_listing"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.origin} {self.listing_date} #{self.rank}"


class TitleLookup(models.Model):
    """A paper known by title alone, looked up on arXiv (and Hugging Face) for its id: when it
    was tried, how it went, and when it may be tried again (``newsletter.papers.resolve``)."""

    class Outcome(models.TextChoices):
        PENDING = "pending", "not tried yet"
        FOUND = "found", "found"
        MISS = "miss", "no paper with this title"
        AMBIGUOUS = "ambiguous", "several papers with this title"
        ERROR = "error", "the lookup failed"

    paper = models.OneToOneField(
        Paper, on_delete=models.CASCADE, primary_key=True, related_name="title_lookup"
    )
    outcome = models.CharField(max_length=20, choices=Outcome.choices, default=Outcome.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0, help_text="Lookups that answered.")
    tried_at = models.DateTimeField(null=True, blank=True)
    next_at = models.DateTimeField(
        null=True, blank=True, help_text="When it may be tried again; empty: never."
    )
    note = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["next_at"]
        indexes = [models.Index(fields=["next_at"], name="title_lookup_next_at")]

    def __str__(self) -> str:
        return f"{self.paper_id}: {self.outcome}"
