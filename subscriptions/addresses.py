"""Email addresses: one normal form, and the hash the suppression list keeps instead."""

from __future__ import annotations

import hashlib

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


def address_hash(address: str) -> str:
    """SHA-256 of the normalised address (the suppression list never stores the address itself)."""
    try:
        address = address_normalise(address)
    except ValidationError:
        address = address.strip().lower()
    return hashlib.sha256(address.encode()).hexdigest()
