from functools import wraps

from django.contrib import admin
from django_celery_beat import admin as beat_admin
from django_celery_beat.models import PeriodicTask

from newsletter.models import Heartbeat


@admin.register(Heartbeat)
class HeartbeatAdmin(admin.ModelAdmin):
    list_display = ["name", "last_seen", "runs"]
    readonly_fields = ["name", "last_seen", "runs"]

    def has_add_permission(self, request) -> bool:
        return False


def _needs_change(action):
    """django-celery-beat's action, declaring the change permission it needs (as shipped, any
    staff who may view the tasks could enable, disable or run them)."""

    @admin.action(description=action.short_description, permissions=["change"])
    @wraps(action)
    def checked(model_admin, request, queryset):
        return action(model_admin, request, queryset)

    return checked


class PeriodicTaskAdmin(beat_admin.PeriodicTaskAdmin):
    enable_tasks = _needs_change(beat_admin.PeriodicTaskAdmin.enable_tasks)
    disable_tasks = _needs_change(beat_admin.PeriodicTaskAdmin.disable_tasks)
    toggle_tasks = _needs_change(beat_admin.PeriodicTaskAdmin.toggle_tasks)
    run_tasks = _needs_change(beat_admin.PeriodicTaskAdmin.run_tasks)


admin.site.unregister(PeriodicTask)
admin.site.register(PeriodicTask, PeriodicTaskAdmin)
