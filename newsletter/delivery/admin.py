"""Staff views of the ledger: deliveries by day and state, resend, tracking events, the outbox."""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import path
from django.utils import timezone
from django.views.decorators.clickjacking import xframe_options_sameorigin

from newsletter.delivery import selectors, services
from newsletter.delivery.models import Delivery, TrackingEvent
from newsletter.delivery.permissions import LiveEmailPermissions
from newsletter.lib.admin import admin_view_allowed, shortened


@admin.register(Delivery)
class DeliveryAdmin(LiveEmailPermissions, admin.ModelAdmin):
    # What fits 1,280 px beside the filters; every field is on the detail page.
    list_display = ["recipient", "kind", "state", "created", "error"]
    list_filter = ["state", "kind", "created_at", "sent_at"]
    date_hierarchy = "created_at"
    search_fields = ["to_email", "=key", "=provider_message_id"]
    actions = ["resend"]
    readonly_fields = [f.name for f in Delivery._meta.fields]
    list_select_related = ["subscriber"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    @admin.display(description="to", ordering="to_email")
    def recipient(self, delivery: Delivery) -> str:
        return shortened(delivery.to_email, 24)

    @admin.display(description="created", ordering="created_at")
    def created(self, delivery: Delivery) -> str:
        return f"{timezone.localtime(delivery.created_at):%Y-%m-%d %H:%M}"

    @admin.display(description="last error")
    def error(self, delivery: Delivery) -> str:
        return shortened(delivery.last_error, 40)

    class Media:
        css = {"all": ["css/admin-lists.css"]}

    def get_urls(self):
        def viewable(view):
            return admin_view_allowed(self, view, allowed=self.has_view_permission)

        def live(view):
            return admin_view_allowed(self, view, allowed=self.has_live_email_permission)

        extra = [
            path("by-day/", viewable(self.by_day_view), name="delivery_by_day"),
            path("outbox/", live(self.outbox_view), name="delivery_outbox"),
            path(
                "outbox/<str:name>/",
                live(self.outbox_message_view),
                name="delivery_outbox_message",
            ),
            path(
                "outbox/<str:name>/html/",
                live(xframe_options_sameorigin(self.outbox_html_view)),
                name="delivery_outbox_html",
            ),
        ]
        return extra + super().get_urls()

    def _context(self, request: HttpRequest, title: str) -> dict:
        return {**self.admin_site.each_context(request), "opts": self.model._meta, "title": title}

    def by_day_view(self, request: HttpRequest) -> HttpResponse:
        states = list(Delivery.State)
        rows = [
            (day, [(state, counts.get(state, 0)) for state in states], sum(counts.values()))
            for day, counts in selectors.deliveries_by_day(days=30)
        ]
        context = {**self._context(request, "Deliveries by day"), "states": states, "rows": rows}
        return TemplateResponse(request, "admin/delivery/delivery/by_day.html", context)

    def outbox_view(self, request: HttpRequest) -> HttpResponse:
        context = {
            **self._context(request, "Outbox"),
            "entries": selectors.outbox_entries(),
        }
        return TemplateResponse(request, "admin/delivery/delivery/outbox.html", context)

    def outbox_message_view(self, request: HttpRequest, name: str) -> HttpResponse:
        message = selectors.outbox_message(name=name)
        if message is None:
            raise Http404("No such message in the outbox.")
        text = message.get_body(("plain",))
        context = {
            **self._context(request, str(message["Subject"] or name)),
            "name": name,
            "headers": list(message.items()),
            "text": text.get_content() if text else "",
            "has_html": message.get_body(("html",)) is not None,
        }
        return TemplateResponse(request, "admin/delivery/delivery/outbox_message.html", context)

    def outbox_html_view(self, request: HttpRequest, name: str) -> HttpResponse:
        """The HTML part as it is, for the preview frame: its inline styles may apply, nothing
        else (no scripts, no requests, a sandbox)."""
        message = selectors.outbox_message(name=name)
        html = message.get_body(("html",)) if message is not None else None
        if html is None:
            raise Http404("No such message in the outbox.")
        response = HttpResponse(html.get_content(), content_type="text/html; charset=utf-8")
        response["Content-Security-Policy"] = (
            "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
            "frame-ancestors 'self'; sandbox"
        )
        return response

    @admin.action(
        description="Resend (uncertain or failed ones; may arrive twice)", permissions=["send"]
    )
    def resend(self, request: HttpRequest, queryset: QuerySet[Delivery]) -> HttpResponse | None:
        eligible = queryset.filter(state__in=services.RESENDABLE)
        if request.POST.get("confirm") == "yes":
            count = sum(
                services.delivery_resend(delivery_id=pk, by=f"staff ({request.user})")
                for pk in eligible.values_list("pk", flat=True)
            )
            self.message_user(request, f"{count} delivery(ies) queued again.", messages.SUCCESS)
            return None
        context = {
            **self._context(request, "Resend deliveries?"),
            "eligible": list(eligible),
            "ignored": queryset.exclude(state__in=services.RESENDABLE).count(),
            "selected": request.POST.getlist(ACTION_CHECKBOX_NAME),
        }
        return TemplateResponse(request, "admin/delivery/delivery/resend_confirm.html", context)


@admin.register(TrackingEvent)
class TrackingEventAdmin(admin.ModelAdmin):
    list_display = ["received_at", "provider", "event_type", "soft", "recipient", "processed_at"]
    list_filter = ["provider", "event_type", "soft", "received_at"]
    search_fields = ["recipient", "=provider_message_id", "=event_id"]
    readonly_fields = [f.name for f in TrackingEvent._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False
