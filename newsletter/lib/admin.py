"""Custom admin pages that check a permission, not only that the user is staff."""

from __future__ import annotations

from collections.abc import Callable
from functools import update_wrapper

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.utils.html import format_html, format_html_join


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


def shortened(text: str, length: int) -> str:
    """``text`` cut to ``length`` characters with an ellipsis, whole on hover (a list column)."""
    if len(text) <= length:
        return text
    return format_html('<span title="{}">{}\u2026</span>', text, text[: length - 1])


def readable(value) -> str:
    """A JSON value as staff read it: an object as a table of names and values, a list of rows
    as a table, a list of plain values as a comma list; everything escaped."""
    if isinstance(value, dict):
        if not value:
            return "-"
        rows = format_html_join("", "<tr><th>{}</th><td>{}</td></tr>", _pairs(value.items()))
        return format_html('<table class="readable">{}</table>', rows)
    if isinstance(value, list | tuple):
        if not value:
            return "-"
        if all(isinstance(item, list | tuple) for item in value):
            cells = (
                format_html_join("", "<td>{}</td>", ((readable(cell),) for cell in row))
                for row in value
            )
            rows = format_html_join("", "<tr>{}</tr>", ((cell,) for cell in cells))
            return format_html('<table class="readable">{}</table>', rows)
        if any(isinstance(item, dict | list | tuple) for item in value):
            return format_html_join("", "<div>{}</div>", ((readable(item),) for item in value))
        return ", ".join(str(item) for item in value)
    return "-" if value is None or value == "" else str(value)


def _pairs(items):
    return ((str(key), readable(item)) for key, item in items)
