from django.contrib import admin

from newsletter.models import Heartbeat


@admin.register(Heartbeat)
class HeartbeatAdmin(admin.ModelAdmin):
    list_display = ["name", "last_seen", "runs"]
    readonly_fields = ["name", "last_seen", "runs"]

    def has_add_permission(self, request) -> bool:
        return False
