"""Email addresses: one normal form, and the hash the suppression list keeps instead."""

from __future__ import annotations

import hashlib

from django.core.exceptions import ValidationError
from django.core.validators import validate_email

MAX_EMAIL_LENGTH = 254


def address_normalise(value: str) -> str:
    """Strip and lower-case ``value``; ``ValidationError`` unless it is one plausible address."""
    address = (value or "").strip().lower()
    if not address or len(address) > MAX_EMAIL_LENGTH:
        raise ValidationError("Enter a valid email address.", code="invalid")
    if any(ch.isspace() or ord(ch) < 32 or ch in '<>,;"' for ch in address):
        raise ValidationError("Enter a valid email address.", code="invalid")
    validate_email(address)
    return address


def address_hash(address: str) -> str:
    """SHA-256 of the normalised address (the suppression list never stores the address itself)."""
    return hashlib.sha256(address.strip().lower().encode()).hexdigest()
