"""Upstream listing formats: one module each, ``parse()`` pure (bytes in, records out),
``fetch()`` doing the I/O through a ``get(url)`` callable it is given.

``parse_listing`` picks the module from the content (or from ``format``) and is what callers use.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from newsletter.papers.sources import arxiv, hf_html, hf_json, text
from newsletter.papers.sources.base import (
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


@dataclass(frozen=True, slots=True)
class Format:
    """One upstream format: its pure parser and, for formats fetched from a URL, its fetcher."""

    parse: Callable[[bytes, str, date, date | None], Listing]  # data, name, today, listing date
    fetch: Callable[..., list[bytes]] | None  # fetch(*, url, day, get)


# The one dispatch table: parsing and fetching both look a format up here.
FORMATS: dict[str, Format] = {
    hf_html.FORMAT: Format(
        lambda data, name, today, day: hf_html.parse(data, name=name), hf_html.fetch
    ),
    hf_json.FORMAT: Format(
        lambda data, name, today, day: hf_json.parse(data, name=name), hf_json.fetch
    ),
    arxiv.FORMAT: Format(lambda data, name, today, day: arxiv.parse(data, name=name), arxiv.fetch),
    text.FORMAT: Format(
        lambda data, name, today, day: text.parse(data, name=name, today=today, listing_date=day),
        None,
    ),
}
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
    if chosen not in FORMATS:
        raise SourceError(f"unknown format {chosen!r}", input_name=name)
    listing = FORMATS[chosen].parse(data, name, today, listing_date)
    if listing_date is not None:
        listing.listing_date = listing_date
    return listing
