"""Staff: each subscriber's digests with their papers, previewed exactly as sent; send one now."""

from __future__ import annotations

from django.contrib import admin, messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils.html import format_html

from newsletter.digests.models import Digest, DigestItem
from newsletter.digests.rendering import digest_message
from newsletter.digests.services import digest_send_now
from newsletter.digests.views import WEB_COPY_CSP
from newsletter.lib import days

SEND_NOW_SAYS = {
    "sent": "sent",
    "quiet": "not sent, a quiet day (no papers, and no quiet-day note asked for)",
    "already sent": "already sent before, not sent again",
    "already uncertain": "not sent: an earlier send may have arrived (uncertain)",
    "already sending": "not sent: another process is sending it now",
    "suppressed": "not sent: the address is suppressed (bounced or complained)",
    "skipped": "not sent: nothing to send to this reader now",
    "busy": "not sent: another process is sending it now",
    "retry": "not sent yet: the mail server failed for now, it will be retried",
    "failed": "not sent: the mail server refused it",
}


class DigestItemInline(admin.TabularInline):
    model = DigestItem
    fields = ["section", "rank", "paper", "score", "reasons"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    ordering = ["section", "rank"]

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(Digest)
class DigestAdmin(admin.ModelAdmin):
    list_display = ["day", "subscriber", "papers_count", "since", "created_at", "preview"]
    list_filter = ["day"]
    date_hierarchy = "day"
    search_fields = ["subscriber__email"]
    list_select_related = ["subscriber"]
    readonly_fields = ["subscriber", "day", "since", "papers_count", "created_at", "preview"]
    inlines = [DigestItemInline]
    actions = ["send_today_now"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.display(description="Preview")
    def preview(self, obj: Digest) -> str:
        url = reverse("admin:digests_digest_preview", args=[obj.pk])
        return format_html('<a href="{}">exactly as sent</a>', url)

    def get_urls(self):
        preview = self.admin_site.admin_view(self.preview_view)
        return [
            path("<int:pk>/preview/", preview, name="digests_digest_preview"),
            *super().get_urls(),
        ]

    def preview_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        """The message as its reader gets it: the HTML part, or the text part for text readers."""
        digest = get_object_or_404(Digest.objects.select_related("subscriber"), pk=pk)
        message = digest_message(digest)
        if request.GET.get("part") == "text" or not message.alternatives:
            return HttpResponse(message.body, content_type="text/plain; charset=utf-8")
        response = HttpResponse(message.alternatives[0][0])
        response["Content-Security-Policy"] = WEB_COPY_CSP
        return response

    @admin.action(description="Send today's digest now (to these digests' subscribers)")
    def send_today_now(self, request: HttpRequest, queryset) -> None:
        today = days.listing_day_now()
        subscribers = {d.subscriber_id: d.subscriber for d in queryset.select_related("subscriber")}
        for subscriber in subscribers.values():
            state = digest_send_now(subscriber=subscriber, day=today)
            self.message_user(
                request,
                f"{subscriber.email}: digest of {today.isoformat()}: {SEND_NOW_SAYS.get(state, state)}.",
                messages.SUCCESS if state == "sent" else messages.WARNING,
            )
