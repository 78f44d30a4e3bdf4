from django.contrib import admin
from django.db import models
from django.db.models import QuerySet
from django.http import HttpRequest

from newsletter.papers.models import IngestRun, ListingEntry, Paper, Source, TitleLookup


class CategoryFilter(admin.SimpleListFilter):
    title = "category"
    parameter_name = "category"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        codes = Paper.objects.exclude(primary_category="").values_list(
            "primary_category", flat=True
        )
        return [(code, code) for code in sorted(set(codes))[:100]]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Paper]) -> QuerySet[Paper]:
        if not self.value():
            return queryset
        # The JSON text holds each code in quotes: an exact element match on SQLite and PostgreSQL.
        return queryset.filter(categories__icontains=f'"{self.value()}"')


class ListingEntryInline(admin.TabularInline):
    model = ListingEntry
    extra = 0
    can_delete = False
    fields = ["listing_date", "origin", "source", "rank", "upvotes", "run"]
    readonly_fields = fields
    ordering = ["-listing_date", "rank"]

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(Paper)
class PaperAdmin(admin.ModelAdmin):
    list_display = ["title", "arxiv_id", "primary_category", "published", "upvotes", "first_seen"]
    search_fields = ["title", "=arxiv_id", "authors_text"]
    list_filter = [
        "first_seen",
        "published",
        ("listings__listing_date", admin.DateFieldListFilter),
        ("listings__source", admin.RelatedOnlyFieldListFilter),
        CategoryFilter,
    ]
    date_hierarchy = "first_seen"
    readonly_fields = ["normalized_title", "first_seen", "updated_at"]
    inlines = [ListingEntryInline]
    show_full_result_count = False
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}


@admin.register(Source)
class SourceAdmin(admin.ModelAdmin):
    list_display = ["name", "format", "categories", "enabled", "url_template"]
    list_editable = ["enabled"]
    list_filter = ["format", "enabled"]
    search_fields = ["name", "categories"]
    readonly_fields = ["cached_url", "etag", "last_modified"]


@admin.register(IngestRun)
class IngestRunAdmin(admin.ModelAdmin):
    list_display = [
        "started_at",
        "source",
        "input",
        "listing_date",
        "status",
        "new_count",
        "updated_count",
        "unchanged_count",
        "refused_count",
    ]
    list_filter = ["status", "source", "format", "listing_date"]
    search_fields = ["input", "error"]
    date_hierarchy = "started_at"

    def get_readonly_fields(self, request: HttpRequest, obj=None) -> list[str]:
        return [field.name for field in IngestRun._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(TitleLookup)
class TitleLookupAdmin(admin.ModelAdmin):
    """Papers known by title alone and their lookups on arXiv: which stay unresolved, and why."""

    list_display = ["paper", "outcome", "attempts", "tried_at", "next_at"]
    list_filter = ["outcome"]
    search_fields = ["paper__title", "note"]
    list_select_related = ["paper"]

    def get_readonly_fields(self, request: HttpRequest, obj=None) -> list[str]:
        return [field.name for field in TitleLookup._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
