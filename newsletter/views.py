from django.core.cache import cache
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_safe

from newsletter.health import health_status
from newsletter.papers.selectors import recent_papers
from subscriptions.views import signup

SAMPLE_PAPERS_CACHE_KEY = "home:sample-papers"


@require_http_methods(["GET", "HEAD", "POST"])
def home(request: HttpRequest) -> HttpResponse:
    """What the newsletter is, a sample of the latest listed papers, and the signup form."""
    # Every visitor sees the same sample: cached briefly.
    papers = cache.get_or_set(SAMPLE_PAPERS_CACHE_KEY, lambda: list(recent_papers(limit=5)), 300)
    return signup(request, extra_context={"sample_papers": papers})


@never_cache
@require_safe
def healthz(request: HttpRequest) -> JsonResponse:
    """200 when the database and the broker answer, else 503 naming what is down."""
    status = health_status()
    healthy = all(value == "ok" for value in status.values())
    return JsonResponse(status, status=200 if healthy else 503)
