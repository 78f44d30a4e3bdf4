from django.apps import AppConfig


class DeliveryConfig(AppConfig):
    name = "newsletter.delivery"
    label = "delivery"
    verbose_name = "Delivery"

    def ready(self) -> None:
        # Receivers for subscriptions' email requests and anymail's tracking events, and the
        # builders of the subscription emails.
        from newsletter.delivery import builders, receivers  # noqa: F401
