"""The two permissions of live email in the admin; superusers have both, others only if given."""

from __future__ import annotations

from django.http import HttpRequest

VIEW_LIVE_EMAIL = "delivery.view_live_email"  # previews and the outbox carry a reader's live links
SEND_EMAIL = "delivery.send_email"  # "send today's digest now", "resend"


class LiveEmailPermissions:
    """For a ModelAdmin: ``has_live_email_permission`` and ``has_send_permission`` (the
    ``permissions=["send"]`` of an action)."""

    def has_live_email_permission(self, request: HttpRequest) -> bool:
        return self.has_view_permission(request) and request.user.has_perm(VIEW_LIVE_EMAIL)

    def has_send_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(SEND_EMAIL)
