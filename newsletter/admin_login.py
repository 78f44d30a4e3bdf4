"""Throttled staff sign-in: failed attempts counted per client IP and per account in the cache.

The cache is shared by every web process (Redis, or files under VAR_DIR), so the limits hold
however many workers serve. While an IP or an account is over its limit the password is not even
checked, and the form says why and for how long.
"""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.contrib.admin.forms import AdminAuthenticationForm
from django.core.cache import cache
from django.core.exceptions import ValidationError

from subscriptions.ratelimit import client_ip


def _keys(*, ip: str, username: str) -> dict[str, str]:
    account = hashlib.sha256(username.strip().casefold().encode()).hexdigest()[:32]
    return {"ip": f"admin-login:ip:{ip}", "account": f"admin-login:account:{account}"}


def _limits() -> dict[str, int]:
    per_account = settings.ADMIN_LOGIN_MAX_FAILURES
    # One address may serve several staff (an office): it gets more tries than one account.
    return {"ip": per_account * 4, "account": per_account}


def login_blocked(*, ip: str, username: str) -> bool:
    """True while the IP or the account has used up its failed attempts."""
    keys, limits = _keys(ip=ip, username=username), _limits()
    counts = cache.get_many(list(keys.values()))
    return any(counts.get(keys[kind], 0) >= limits[kind] for kind in keys)


def login_failed(*, ip: str, username: str) -> None:
    """Count one failed attempt; the count lasts ADMIN_LOGIN_LOCKOUT_MINUTES from the first."""
    timeout = settings.ADMIN_LOGIN_LOCKOUT_MINUTES * 60
    for key in _keys(ip=ip, username=username).values():
        if not cache.add(key, 1, timeout=timeout):
            try:
                cache.incr(key)
            except ValueError:  # expired in between
                cache.add(key, 1, timeout=timeout)


def login_succeeded(*, username: str) -> None:
    """The account's owner signed in: forget its failures (the IP's count stays)."""
    cache.delete(_keys(ip="", username=username)["account"])


class ThrottledAdminAuthenticationForm(AdminAuthenticationForm):
    error_messages = {
        **AdminAuthenticationForm.error_messages,
        "throttled": (
            "Too many failed sign-in attempts from your network or for this account. "
            "Wait %(minutes)d minutes, then try again."
        ),
    }

    def clean(self):
        ip = client_ip(self.request) if self.request else ""
        username = self.cleaned_data.get("username") or ""
        if login_blocked(ip=ip, username=username):
            raise ValidationError(
                self.error_messages["throttled"],
                code="throttled",
                params={"minutes": settings.ADMIN_LOGIN_LOCKOUT_MINUTES},
            )
        try:
            cleaned = super().clean()
        except ValidationError:
            login_failed(ip=ip, username=username)
            raise
        login_succeeded(username=username)
        return cleaned
