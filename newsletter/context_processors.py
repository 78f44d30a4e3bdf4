from django.conf import settings
from django.http import HttpRequest


def site(request: HttpRequest) -> dict[str, str]:
    """Expose the product name and public URL to every template."""
    return {"site_name": settings.SITE_NAME, "site_url": settings.SITE_URL}
