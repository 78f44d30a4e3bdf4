"""The signed link of a digest's web copy: ``/d/<token>/``.

Signed like the subscriber links (``subscriptions.tokens``) but salted for this one purpose; it
carries the digest's random ``public_id`` and the subscriber's link version, never an address or a
row id, so bumping ``Subscriber.link_version`` revokes the web copies with every other link.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.urls import reverse

from newsletter.digests.models import Digest
from subscriptions.tokens import TokenError, TokenExpired, TokenRevoked

_SIGNER = signing.TimestampSigner(salt="digests.web-copy")


def digest_token(digest: Digest) -> str:
    return _SIGNER.sign(f"{digest.public_id.hex}.{digest.subscriber.link_version}")


def digest_url(digest: Digest) -> str:
    return settings.SITE_URL + reverse("digests:web_copy", kwargs={"token": digest_token(digest)})


def digest_from_token(token: str) -> Digest:
    """The digest a web-copy token was made for; raises a ``TokenError`` for anything else."""
    max_age = timedelta(days=settings.SUBSCRIPTIONS_MANAGE_LINK_DAYS)
    try:
        value = _SIGNER.unsign(token[:300], max_age=max_age)
    except signing.SignatureExpired:
        raise TokenExpired from None
    except signing.BadSignature:
        raise TokenError from None
    public_id, _, version = value.partition(".")
    try:
        digest = Digest.objects.select_related("subscriber").get(public_id=uuid.UUID(hex=public_id))
    except (Digest.DoesNotExist, ValueError):
        raise TokenRevoked from None
    if str(digest.subscriber.link_version) != version:
        raise TokenRevoked
    return digest
