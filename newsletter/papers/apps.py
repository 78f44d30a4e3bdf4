from django.apps import AppConfig


class PapersConfig(AppConfig):
    name = "newsletter.papers"
    label = "papers"
    verbose_name = "Papers and ingest"
