"""anymail's provider webhooks at ``/anymail/<provider>/tracking/``, refused without a secret.

anymail accepts unauthenticated posts (with a warning) when ``WEBHOOK_SECRET`` is unset; here a
webhook without ``ANYMAIL_WEBHOOK_SECRET`` configured answers 403 and changes nothing.
"""

from __future__ import annotations

from functools import wraps

from anymail import urls as anymail_urls
from django.conf import settings
from django.http import HttpResponseForbidden
from django.urls import path
from django.views.decorators.csrf import csrf_exempt


def _secret_required(view):
    @csrf_exempt
    @wraps(view)
    def guarded(request, *args, **kwargs):
        if not settings.ANYMAIL.get("WEBHOOK_SECRET"):
            return HttpResponseForbidden("Webhooks are off: ANYMAIL_WEBHOOK_SECRET is not set.")
        return view(request, *args, **kwargs)

    return guarded


app_name = "anymail"
urlpatterns = [
    path(str(pattern.pattern), _secret_required(pattern.callback), name=pattern.name)
    for pattern in anymail_urls.urlpatterns
    if str(pattern.pattern).endswith("tracking/")
]
