"""The web copy of a digest (``/d/<token>/``): the email's HTML part, as a page."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from newsletter.digests.links import digest_from_token
from newsletter.digests.rendering import digest_html
from subscriptions.forms import NewLinkForm
from subscriptions.tokens import TokenError

# The email's HTML carries its styles inline (as mail clients need) and no script at all.
WEB_COPY_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src https: data:; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)


@never_cache
@require_safe
def web_copy(request: HttpRequest, token: str) -> HttpResponse:
    try:
        digest = digest_from_token(token)
    except TokenError as error:
        context = {"error": error, "form": NewLinkForm()}
        return render(request, "subscriptions/bad_link.html", context, status=error.status)
    response = HttpResponse(digest_html(digest))
    response["Content-Security-Policy"] = WEB_COPY_CSP
    response["X-Robots-Tag"] = "noindex"
    return response
