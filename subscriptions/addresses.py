"""Email addresses: one normal form, and the keyed hash the suppression list keeps instead."""

from __future__ import annotations

import hashlib
import hmac

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.encoding import punycode

MAX_EMAIL_LENGTH = 254


def address_normalise(value: str) -> str:
    """One spelling per mailbox: stripped, the domain in its ASCII (IDNA) form, lower-cased.

    ``user@bücher.de`` and ``user@xn--bcher-kva.de`` reach the same mailbox, so they are one
    subscriber and one suppression hash. ``ValidationError`` unless it is one plausible address.
    """
    address = (value or "").strip()
    local, at, domain = address.rpartition("@")
    if not at or not local or not domain:
        raise ValidationError("Enter a valid email address.", code="invalid")
    try:
        domain = punycode(domain)
    except UnicodeError:
        raise ValidationError("Enter a valid email address.", code="invalid") from None
    address = f"{local}@{domain}".lower()
    if len(address) > MAX_EMAIL_LENGTH:
        raise ValidationError("Enter a valid email address.", code="invalid")
    if any(ch.isspace() or ord(ch) < 32 or ch in '<>,;"' for ch in address):
        raise ValidationError("Enter a valid email address.", code="invalid")
    validate_email(address)
    return address


def _normalised_or_lowered(address: str) -> str:
    try:
        return address_normalise(address)
    except ValidationError:
        return address.strip().lower()


def _hash_key() -> bytes:
    if settings.SUPPRESSION_HASH_KEY:
        return settings.SUPPRESSION_HASH_KEY.encode()
    # Without its own key, one derived from SECRET_KEY (the README says to set one).
    return hmac.new(settings.SECRET_KEY.encode(), b"suppression-hash", hashlib.sha256).digest()


def address_hash(address: str) -> str:
    """HMAC-SHA-256 of the normalised address under ``SUPPRESSION_HASH_KEY``.

    Keyed, so that someone holding a copy of the suppression list cannot test addresses against
    it. The list never stores the address itself.
    """
    key = _hash_key()
    return hmac.new(key, _normalised_or_lowered(address).encode(), hashlib.sha256).hexdigest()


def address_hash_legacy(address: str) -> str:
    """The plain SHA-256 that entries made before the keyed hash were stored under."""
    return hashlib.sha256(_normalised_or_lowered(address).encode()).hexdigest()


def address_hashes(address: str) -> list[str]:
    """Every hash an entry for ``address`` may be stored under (current first)."""
    return [address_hash(address), address_hash_legacy(address)]
