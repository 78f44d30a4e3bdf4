"""The "more like this / less like this" page opened from a digest. GET (and HEAD) shows, POST
records; only for a paper that reader was shown (``services.paper_shown``)."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from newsletter.matching import services
from newsletter.matching.models import Vote
from newsletter.papers.models import Paper
from subscriptions.models import Subscriber
from subscriptions.tokens import Purpose
from subscriptions.views import with_token


@require_http_methods(["GET", "HEAD", "POST"])
@with_token(Purpose.FEEDBACK)
def feedback(
    request: HttpRequest, subscriber: Subscriber, token: str, paper_id: int, direction: str
) -> HttpResponse:
    if direction not in Vote.Direction.values:
        raise Http404("Unknown feedback.")
    paper = Paper.objects.filter(pk=paper_id).first()
    if paper is None or not services.paper_shown(subscriber_id=subscriber.pk, paper_id=paper.pk):
        # A forged or mistyped paper id: a page that says so, and no vote.
        return render(request, "matching/feedback.html", {"not_shown": True}, status=404)
    recorded = False
    if request.method == "POST":
        services.vote_record(subscriber=subscriber, paper=paper, direction=direction)
        recorded = True
    current = Vote.objects.filter(subscriber=subscriber, paper=paper).first()
    other = Vote.Direction.LESS if direction == Vote.Direction.MORE else Vote.Direction.MORE
    context = {
        "paper": paper,
        "token": token,
        "direction": direction,
        "label": Vote.Direction(direction).label,
        "other": other,
        "other_label": Vote.Direction(other).label,
        "current": current,
        "recorded": recorded,
    }
    return render(request, "matching/feedback.html", context)
