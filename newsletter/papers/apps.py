from django.apps import AppConfig


class PapersConfig(AppConfig):
    name = "newsletter.papers"
    label = "papers"
    verbose_name = "Papers and ingest"

    def ready(self) -> None:
        from newsletter.papers import receivers  # noqa: F401 - connects the signal receivers
