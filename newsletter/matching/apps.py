from django.apps import AppConfig


class MatchingConfig(AppConfig):
    name = "newsletter.matching"
    label = "matching"
    verbose_name = "Matching"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from newsletter.matching import receivers  # noqa: F401 - connects the signal receivers
