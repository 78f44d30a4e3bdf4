"""Pages for readers. Thin: validate with a form, call one service, render.

Signed-link pages show a page on GET and act only on POST (mail scanners open links). Every page
behind a token is never cached and answers a bad token with a friendly 400/404 page.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import wraps

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import CsrfViewMiddleware
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from subscriptions import schedule, selectors, services, tokens
from subscriptions.forms import (
    FORM_VERSION,
    EmailChangeForm,
    NewLinkForm,
    PreferencesForm,
    SignupForm,
)
from subscriptions.models import Subscriber
from subscriptions.ratelimit import client_ip, rate_limit_exceeded
from subscriptions.tokens import Purpose, TokenError


def _meta(request: HttpRequest, note: str = "") -> services.ConsentMeta:
    return services.ConsentMeta(
        ip=client_ip(request) or None,
        user_agent=request.META.get("HTTP_USER_AGENT", "")[:300],
        form_version=FORM_VERSION,
        note=note,
    )


def _ip_limited(request: HttpRequest) -> bool:
    return rate_limit_exceeded(
        scope="ip", key=client_ip(request), limit=settings.SUBSCRIPTIONS_RATE_PER_IP
    )


def _address_limited(address: str) -> bool:
    return rate_limit_exceeded(
        scope="address", key=address, limit=settings.SUBSCRIPTIONS_RATE_PER_ADDRESS
    )


def _too_many(request: HttpRequest) -> HttpResponse:
    return render(request, "subscriptions/too_many.html", status=429)


def with_token(purpose: Purpose) -> Callable:
    """Resolve ``token`` to a subscriber, or answer with the friendly bad-link page."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapper(request: HttpRequest, token: str, *args, **kwargs) -> HttpResponse:
            try:
                subscriber = tokens.token_subscriber(token=token, purpose=purpose)
            except TokenError as error:
                context = {"error": error, "form": NewLinkForm()}
                return render(request, "subscriptions/bad_link.html", context, status=error.status)
            return view(request, subscriber, token, *args, **kwargs)

        return never_cache(wrapper)

    return decorator


# --- Public pages ----------------------------------------------------------------------------


def _address_form_post(
    request: HttpRequest, form: SignupForm | NewLinkForm, act: Callable[[str], object]
) -> HttpResponse | None:
    """The POST path of the forms that take an address; None means "show the form's errors".

    Known or not, limited or not, a valid address always gets the same redirect.
    """
    if _ip_limited(request):
        return _too_many(request)
    if form.is_spam():
        return redirect("subscriptions:check_inbox")
    if not form.is_valid():
        return None
    address = form.cleaned_data["email"]
    if not _address_limited(address):  # over the limit we answer the same and send nothing
        act(address)
    return redirect("subscriptions:check_inbox")


def signup(request: HttpRequest, *, extra_context: dict | None = None) -> HttpResponse:
    """The signup form and what the newsletter is. The project's home page calls this with a sample
    of today's papers in ``extra_context`` (subscriptions knows nothing of papers)."""
    form = SignupForm(request.POST or None)
    if request.method == "POST":

        def signup(address: str) -> None:
            services.subscriber_signup(
                email=address, preferences=form.preferences(), meta=_meta(request)
            )

        response = _address_form_post(request, form, signup)
        if response is not None:
            return response
    context = {**(extra_context or {}), "form": form}
    return render(request, "subscriptions/home.html", context)


@require_safe
def check_inbox(request: HttpRequest) -> HttpResponse:
    return render(request, "subscriptions/check_inbox.html")


@require_http_methods(["GET", "HEAD", "POST"])
def new_link(request: HttpRequest) -> HttpResponse:
    """Ask for a fresh link by address; the answer never says whether the address is known."""
    form = NewLinkForm(request.POST or None)
    if request.method == "POST":
        response = _address_form_post(
            request, form, lambda address: services.subscriber_send_link(email=address)
        )
        if response is not None:
            return response
    return render(
        request, "subscriptions/new_link.html", {"form": form}, status=400 if form.errors else 200
    )


# --- Confirmation ----------------------------------------------------------------------------


@require_http_methods(["GET", "HEAD", "POST"])
@with_token(Purpose.CONFIRM)
def confirm(request: HttpRequest, subscriber: Subscriber, token: str) -> HttpResponse:
    context = {
        "subscriber": subscriber,
        "first_digest": schedule.subscriber_next_digest(subscriber=subscriber),
        **_manage_links(subscriber),
    }
    if request.method == "POST" and subscriber.status == Subscriber.Status.PENDING:
        services.subscriber_confirm(subscriber=subscriber, meta=_meta(request))
        return render(request, "subscriptions/confirmed.html", context)
    return render(request, "subscriptions/confirm.html", context)


def _manage_links(subscriber: Subscriber) -> dict[str, str]:
    return {
        "preferences_url": tokens.preferences_url(subscriber),
        "unsubscribe_url": tokens.unsubscribe_url(subscriber),
    }


# --- Preference centre -----------------------------------------------------------------------


@require_http_methods(["GET", "HEAD", "POST"])
@with_token(Purpose.PREFERENCES)
def preferences(request: HttpRequest, subscriber: Subscriber, token: str) -> HttpResponse:
    saved = False
    if request.method == "POST":
        form = PreferencesForm(request.POST)
        if form.is_valid():
            services.subscriber_update_preferences(
                subscriber=subscriber, preferences=form.preferences(), meta=_meta(request)
            )
            return redirect(request.path + "?saved=1")
    else:
        form = PreferencesForm(initial=PreferencesForm.initial_for(subscriber))
        saved = request.GET.get("saved") == "1"
    return _preferences_page(request, subscriber, token, form=form, saved=saved)


def _preferences_page(
    request: HttpRequest, subscriber: Subscriber, token: str, *, status: int = 200, **extra
) -> HttpResponse:
    context = {
        "subscriber": subscriber,
        "token": token,
        "form": extra.pop("form", None)
        or PreferencesForm(initial=PreferencesForm.initial_for(subscriber)),
        "email_form": extra.pop("email_form", None) or EmailChangeForm(),
        "unsubscribe_url": tokens.unsubscribe_url(subscriber),
        **extra,
    }
    return render(request, "subscriptions/preferences.html", context, status=status)


_STATUS_ACTIONS = {
    "pause": (services.subscriber_pause, "Your emails are paused. Resume whenever you like."),
    "resume": (services.subscriber_resume, "Welcome back: your emails are on again."),
    "unsubscribe": (services.subscriber_unsubscribe, "You are unsubscribed. No more emails."),
    "resubscribe": (services.subscriber_resubscribe, "You are subscribed again."),
}


@require_POST
@with_token(Purpose.PREFERENCES)
def preferences_status(request: HttpRequest, subscriber: Subscriber, token: str) -> HttpResponse:
    action = _STATUS_ACTIONS.get(request.POST.get("action", ""))
    if action is None:
        return _preferences_page(request, subscriber, token, notice="Unknown action.", status=400)
    service, notice = action
    service(subscriber=subscriber, meta=_meta(request))
    subscriber.refresh_from_db()
    return _preferences_page(request, subscriber, token, notice=notice)


@require_POST
@with_token(Purpose.PREFERENCES)
def email_change(request: HttpRequest, subscriber: Subscriber, token: str) -> HttpResponse:
    if _ip_limited(request):
        return _too_many(request)
    form = EmailChangeForm(request.POST)
    if not form.is_valid():
        return _preferences_page(request, subscriber, token, email_form=form, status=400)
    address = form.cleaned_data["new_email"]
    if not _address_limited(address):
        services.subscriber_request_email_change(subscriber=subscriber, new_email=address)
    return render(
        request, "subscriptions/email_change_sent.html", {"preferences_url": request.path}
    )


@require_http_methods(["GET", "HEAD", "POST"])
@with_token(Purpose.EMAIL_CHANGE)
def email_change_confirm(request: HttpRequest, subscriber: Subscriber, token: str) -> HttpResponse:
    if request.method == "POST":
        moved = services.subscriber_confirm_email_change(subscriber=subscriber, meta=_meta(request))
        context = {"moved": moved, "preferences_url": tokens.preferences_url(subscriber)}
        return render(request, "subscriptions/email_changed.html", context)
    return render(request, "subscriptions/email_change_confirm.html", {"subscriber": subscriber})


@require_safe
@with_token(Purpose.PREFERENCES)
def export(request: HttpRequest, subscriber: Subscriber, token: str) -> HttpResponse:
    """Download my data: everything stored about the subscriber, as JSON."""
    data = selectors.subscriber_export(subscriber=subscriber)
    response = HttpResponse(
        json.dumps(data, indent=2, ensure_ascii=False), content_type="application/json"
    )
    stamp = timezone.now().strftime("%Y%m%d")
    response["Content-Disposition"] = f'attachment; filename="my-subscription-{stamp}.json"'
    return response


@require_http_methods(["GET", "HEAD", "POST"])
@with_token(Purpose.PREFERENCES)
def delete(request: HttpRequest, subscriber: Subscriber, token: str) -> HttpResponse:
    if request.method == "POST":
        services.subscriber_delete(subscriber=subscriber)
        return render(request, "subscriptions/deleted.html")
    return render(request, "subscriptions/delete.html", {"subscriber": subscriber})


# --- Unsubscribe -----------------------------------------------------------------------------


def _is_one_click(request: HttpRequest) -> bool:
    return request.method == "POST" and request.POST.get("List-Unsubscribe") == "One-Click"


def _csrf_failure(request: HttpRequest) -> HttpResponse | None:
    # The view is csrf_exempt only for RFC 8058 one-click posts; everything else is checked here.
    return CsrfViewMiddleware(lambda r: HttpResponse()).process_view(request, None, (), {})


@csrf_exempt
@require_http_methods(["GET", "HEAD", "POST"])
@with_token(Purpose.UNSUBSCRIBE)
def unsubscribe(request: HttpRequest, subscriber: Subscriber, token: str) -> HttpResponse:
    """GET: a page with one button. POST: unsubscribe (the button, or a mail client's one-click)."""
    if _is_one_click(request):
        services.subscriber_unsubscribe(
            subscriber=subscriber, meta=_meta(request, note="one-click")
        )
        return HttpResponse("You are unsubscribed.\n", content_type="text/plain; charset=utf-8")
    if request.method == "POST":
        failure = _csrf_failure(request)
        if failure is not None:
            return failure
        services.subscriber_unsubscribe(subscriber=subscriber, meta=_meta(request))
        subscriber.refresh_from_db()
        return render(
            request, "subscriptions/unsubscribed.html", {"subscriber": subscriber, "token": token}
        )
    return render(
        request, "subscriptions/unsubscribe.html", {"subscriber": subscriber, "token": token}
    )


@require_POST
@with_token(Purpose.UNSUBSCRIBE)
def resubscribe(request: HttpRequest, subscriber: Subscriber, token: str) -> HttpResponse:
    services.subscriber_resubscribe(subscriber=subscriber, meta=_meta(request))
    context = {"preferences_url": tokens.preferences_url(subscriber)}
    return render(request, "subscriptions/resubscribed.html", context)
