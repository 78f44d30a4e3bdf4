from django.apps import AppConfig


class DigestsConfig(AppConfig):
    name = "newsletter.digests"
    label = "digests"
    verbose_name = "Digests"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # The delivery ledger looks the "digest" builder up at send time; it never imports us.
        from newsletter.delivery.registry import register_builder
        from newsletter.digests.rendering import digest_message_build, digests_prepare
        from newsletter.digests.selectors import digest_paper_shown
        from newsletter.matching.services import paper_shown_register

        register_builder("digest", digest_message_build, active_only=True, prepare=digests_prepare)
        # Votes ("more / less like this") count only for papers the reader was shown.
        paper_shown_register(digest_paper_shown)
