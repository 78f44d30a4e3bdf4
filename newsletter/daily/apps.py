from django.apps import AppConfig


class DailyConfig(AppConfig):
    name = "newsletter.daily"
    label = "daily"
    verbose_name = "Daily runs"
    default_auto_field = "django.db.models.BigAutoField"
