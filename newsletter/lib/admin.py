"""Custom admin pages that check a permission, not only that the user is staff."""

from __future__ import annotations

from collections.abc import Callable
from functools import update_wrapper

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse


def admin_view_allowed(
    model_admin: admin.ModelAdmin, view: Callable, *, allowed: Callable[[HttpRequest], bool]
) -> Callable:
    """``view`` behind the site's sign-in (the login page for anyone not staff), then 403 unless
    ``allowed(request)``: ``admin_view`` alone lets any staff account in."""

    def guarded(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not allowed(request):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return model_admin.admin_site.admin_view(update_wrapper(guarded, view))
