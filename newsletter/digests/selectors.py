"""Reads about stored digests that other apps ask for (through what ``DigestsConfig`` registers)."""

from __future__ import annotations

from newsletter.digests.models import DigestItem


def digest_paper_shown(*, subscriber_id: int, paper_id: int) -> bool:
    """Whether the paper is in one of the subscriber's digests (their email and its web copy)."""
    return DigestItem.objects.filter(
        digest__subscriber_id=subscriber_id, paper_id=paper_id
    ).exists()
