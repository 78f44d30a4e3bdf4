from django.apps import AppConfig


class SubscriptionsConfig(AppConfig):
    name = "subscriptions"
    verbose_name = "Subscribers"

    def ready(self) -> None:
        from subscriptions import receivers  # noqa: F401 - connects the signal receivers
