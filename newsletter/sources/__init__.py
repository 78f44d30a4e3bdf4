"""Upstream listing formats: one module each, ``parse()`` pure (bytes in, records out),
``fetch()`` doing the I/O through a ``get(url)`` callable it is given.

``parse_listing`` picks the module from the content (or from ``format``) and is what callers use.
"""

from __future__ import annotations

import re
from datetime import date

from newsletter.sources import arxiv, hf_html, hf_json, text
from newsletter.sources.base import (
    MAX_INPUT_BYTES,
    Listing,
    PaperRecord,
    SourceError,
    check_size,
    normalize_title,
)

__all__ = [
    "FORMATS",
    "Listing",
    "PaperRecord",
    "SourceError",
    "detect_format",
    "normalize_title",
    "parse_listing",
]

FORMATS = (hf_html.FORMAT, hf_json.FORMAT, arxiv.FORMAT, text.FORMAT)
_HTML_RE = re.compile(rb"<!doctype html|<html|<body|<article|data-target=", re.IGNORECASE)
_FEED_RE = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?(?:feed|rss)[\s>]")


def detect_format(data: bytes, *, name: str) -> str:
    """The format of ``data`` judged from its content, or SourceError if it is none of ours."""
    check_size(data, name=name, max_bytes=max(len(data), 1))
    head = data.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    if head in (b"[", b"{"):
        return hf_json.FORMAT
    if head == b"<":
        if _FEED_RE.search(data[:4096]):
            return arxiv.FORMAT
        if _HTML_RE.search(data[:65536]):
            return hf_html.FORMAT
        raise SourceError("markup that is neither a feed nor an HTML page", input_name=name)
    return text.FORMAT


def parse_listing(
    data: bytes,
    *,
    name: str,
    format: str = "auto",
    today: date,
    listing_date: date | None = None,
    max_bytes: int = MAX_INPUT_BYTES,
) -> Listing:
    """Parse one input. ``listing_date`` (from --date or a task) overrides what the input shows."""
    check_size(data, name=name, max_bytes=max_bytes)
    chosen = detect_format(data, name=name) if format == "auto" else format
    if chosen == text.FORMAT:
        listing = text.parse(data, name=name, today=today, listing_date=listing_date)
    elif chosen == hf_json.FORMAT:
        listing = hf_json.parse(data, name=name)
    elif chosen == hf_html.FORMAT:
        listing = hf_html.parse(data, name=name)
    elif chosen == arxiv.FORMAT:
        listing = arxiv.parse(data, name=name)
    else:
        raise SourceError(f"unknown format {chosen!r}", input_name=name)
    if listing_date is not None:
        listing.listing_date = listing_date
    return listing
