"""Email addresses: one normal form, and the keyed hash the suppression list keeps instead."""

from __future__ import annotations

import hashlib
import hmac

from django.conf import settings
from django.core.exceptions import ValidationError
from email_validator import EmailNotValidError, validate_email

MAX_EMAIL_LENGTH = 254


def address_normalise(value: str, *, display_name: bool = False) -> str:
    """One spelling per mailbox: the domain in its ASCII form (IDNA 2008, UTS 46), lower-cased.

    ``user@bücher.de`` and ``user@xn--bcher-kva.de`` reach the same mailbox, so they are one
    subscriber and one suppression hash; ``u@ß.de`` stays ``xn--zca.de`` (IDNA 2003 made it
    another domain, ``ss.de``). Validated by ``email-validator`` in strict mode: RFC length
    limits (64 before the @, 254 in all), a dotted, globally deliverable domain (no bare host
    such as ``localhost``, no ``[127.0.0.1]``), ASCII before the @ and no quoting.
    ``ValidationError`` unless it is one such address. ``display_name``: also take the address
    out of ``Name <address>`` (as providers write a bounced recipient).
    """
    address = (value or "").strip()
    if len(address) > 4 * MAX_EMAIL_LENGTH:  # nothing that long can pass: do not parse it
        raise ValidationError("Enter a valid email address.", code="invalid")
    try:
        info = validate_email(
            address,
            allow_smtputf8=False,
            allow_quoted_local=False,
            allow_domain_literal=False,
            allow_display_name=display_name,
            strict=True,
            check_deliverability=False,
            globally_deliverable=True,
        )
    except EmailNotValidError as error:
        raise ValidationError(
            "Enter a valid email address. %(reason)s", code="invalid", params={"reason": error}
        ) from None
    normalised = info.ascii_email.lower()
    if len(normalised) > MAX_EMAIL_LENGTH:
        raise ValidationError("Enter a valid email address.", code="invalid")
    return normalised


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


def address_hash_variants(address: str) -> list[str]:
    """Every hash an entry for ``address`` may be stored under (current first)."""
    return [address_hash(address), address_hash_legacy(address)]
