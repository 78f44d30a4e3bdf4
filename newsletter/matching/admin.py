from django.contrib import admin

from newsletter.matching.models import PaperVector, SubscriberProfile, Vote


@admin.register(Vote)
class VoteAdmin(admin.ModelAdmin):
    list_display = ["subscriber", "paper", "direction", "updated_at"]
    list_filter = ["direction"]
    search_fields = ["subscriber__email", "paper__title", "paper__arxiv_id"]
    raw_id_fields = ["subscriber", "paper"]
    date_hierarchy = "updated_at"


@admin.register(SubscriberProfile)
class SubscriberProfileAdmin(admin.ModelAdmin):
    list_display = ["subscriber", "built_at", "has_vector"]
    search_fields = ["subscriber__email"]
    readonly_fields = [
        "subscriber",
        "version",
        "model",
        "categories",
        "inputs",
        "query_total",
        "built_at",
    ]

    @admin.display(boolean=True, description="semantic")
    def has_vector(self, obj: SubscriberProfile) -> bool:
        return obj.vector is not None


@admin.register(PaperVector)
class PaperVectorAdmin(admin.ModelAdmin):
    list_display = ["paper", "model", "computed_at"]
    search_fields = ["paper__title", "paper__arxiv_id"]
    readonly_fields = ["paper", "text_hash", "model", "computed_at"]
    exclude = ["terms"]
