"""anymail's provider webhooks at ``/anymail/<provider>/tracking/``, for the configured provider only.

anymail accepts unauthenticated posts (with a warning) when ``WEBHOOK_SECRET`` is unset; here a
webhook without ``ANYMAIL_WEBHOOK_SECRET`` configured answers 403 and changes nothing. The URL of
a provider other than ``EMAIL_PROVIDER`` answers 404 (its view would fail on its missing keys). A
body that passes the provider's checks but that anymail cannot parse answers 400 with one log
line; a failure while storing its events stays a 500, so the provider posts them again.
"""

from __future__ import annotations

import logging
from functools import wraps

from anymail import urls as anymail_urls
from anymail.webhooks.base import AnymailCoreWebhookView
from django.conf import settings
from django.core.exceptions import SuspiciousOperation
from django.http import Http404, HttpResponse, HttpResponseBadRequest, HttpResponseForbidden
from django.urls import path
from django.utils.log import log_response
from django.views.decorators.csrf import csrf_exempt

logger = logging.getLogger(__name__)


class _MalformedBodyRefused(AnymailCoreWebhookView):
    """anymail's ``post``, with what its validators and parsers raise on a bad body made a 400."""

    def post(self, request, *args, **kwargs):
        try:
            self.run_validators(request)
            events = list(self.parse_events(request))
        except SuspiciousOperation:  # a failed signature or basic auth: anymail's 400
            raise
        except Exception as error:
            response = HttpResponseBadRequest("Malformed webhook body.")
            log_response(
                "%s webhook: malformed body refused (%s: %.200s)",
                self.esp_name,
                type(error).__name__,
                error,
                response=response,
                request=request,
                logger=logger,
                level="warning",
            )
            return response
        for event in events:
            self.signal.send(sender=self.__class__, event=event, esp_name=self.esp_name)
        return HttpResponse()


def _tracking_view(provider: str, view_class: type):
    strict = type(f"Strict{view_class.__name__}", (view_class, _MalformedBodyRefused), {})
    view = strict.as_view()

    @csrf_exempt
    @wraps(view)
    def guarded(request, *args, **kwargs):
        if provider != settings.EMAIL_PROVIDER:
            raise Http404("No such provider webhook here.")
        if not settings.ANYMAIL.get("WEBHOOK_SECRET"):
            return HttpResponseForbidden("Webhooks are off: ANYMAIL_WEBHOOK_SECRET is not set.")
        return view(request, *args, **kwargs)

    return guarded


app_name = "anymail"
urlpatterns = [
    path(
        str(pattern.pattern),
        _tracking_view(str(pattern.pattern).split("/")[0], pattern.callback.view_class),
        name=pattern.name,
    )
    for pattern in anymail_urls.urlpatterns
    if str(pattern.pattern).endswith("tracking/")
]
