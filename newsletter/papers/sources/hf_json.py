"""Hugging Face daily papers API (``/api/daily_papers?date=YYYY-MM-DD&p=0&limit=100``).

The response is a JSON list of items ``{"paper": {...}, "publishedAt", "title", "thumbnail", ...}``;
the page's ``data-props`` carries the same items under ``dailyPapers``.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from datetime import date
from urllib.parse import urlencode

from newsletter.papers.sources.base import (
    MAX_ABSTRACT,
    MAX_AI_SUMMARY,
    MAX_KEYWORD,
    MAX_KEYWORDS,
    MAX_TITLE,
    Listing,
    PaperRecord,
    SourceError,
    arxiv_id_normalize,
    arxiv_links,
    clean_int,
    clean_names,
    clean_text,
    clean_url,
    decode_text,
    iso_date,
)

FORMAT = "hf-json"
API_URL = "https://huggingface.co/api/daily_papers"
PAGE_SIZE = 100
MAX_PAGES = 10


def parse(data: bytes, *, name: str) -> Listing:
    """Records from an API response (a list of items, or an object with ``dailyPapers``)."""
    text = decode_text(data, name=name)
    try:
        payload = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise SourceError(f"invalid JSON ({_short(exc)})", input_name=name) from None
    if isinstance(payload, dict) and isinstance(payload.get("dailyPapers"), list):
        items = payload["dailyPapers"]
    elif isinstance(payload, list):
        items = payload
    else:
        raise SourceError("JSON is not a list of daily papers", input_name=name)
    listing = items_to_listing(items, name=name, format=FORMAT)
    if items and not listing.records:
        raise SourceError(
            f"none of the {len(items)} items is a daily paper ({listing.problems[0].message})",
            input_name=name,
        )
    return listing


def items_to_listing(items: list[object], *, name: str, format: str) -> Listing:
    listing = Listing(name=name, format=format)
    days: Counter[date] = Counter()
    for index, item in enumerate(items):
        try:
            listing.records.append(item_to_record(item, name=name, index=index))
        except SourceError as exc:
            listing.problems.append(exc)
            continue
        day = iso_date(item.get("publishedAt")) if isinstance(item, dict) else None
        if day:
            days[day] += 1
    if days:
        # Items carry the time they were put on the daily list: the most common day is the list's.
        listing.listing_date = days.most_common(1)[0][0]
    return listing


def item_to_record(item: object, *, name: str, index: int) -> PaperRecord:
    """One API item (or a bare paper object) to a record; SourceError names the item."""
    if not isinstance(item, dict):
        raise SourceError("item is not an object", input_name=name, index=index)
    paper = item.get("paper", item)
    if not isinstance(paper, dict):
        raise SourceError("item has no paper object", input_name=name, index=index)
    title = clean_text(paper.get("title") or item.get("title"), limit=MAX_TITLE)
    if not title:
        raise SourceError("paper has no title", input_name=name, index=index)
    arxiv_id = arxiv_id_normalize(paper.get("id"))
    abs_url, pdf_url = arxiv_links(arxiv_id) if arxiv_id else ("", "")
    authors = paper.get("authors") if isinstance(paper.get("authors"), list) else []
    names = clean_names([a.get("name") for a in authors if isinstance(a, dict)])
    keywords = paper.get("ai_keywords", item.get("ai_keywords"))
    return PaperRecord(
        title=title,
        arxiv_id=arxiv_id,
        abstract=clean_text(paper.get("summary") or item.get("summary"), limit=MAX_ABSTRACT),
        authors=names,
        author_count=len(authors) or None,
        published=iso_date(paper.get("publishedAt")),
        hf_url=f"https://huggingface.co/papers/{arxiv_id}" if arxiv_id else "",
        abs_url=abs_url,
        pdf_url=pdf_url,
        code_url=clean_url(paper.get("githubRepo") or item.get("githubRepo")),
        project_url=clean_url(paper.get("projectPage") or item.get("projectPage")),
        thumbnail_url=clean_url(item.get("thumbnail") or paper.get("thumbnail")),
        upvotes=clean_int(paper.get("upvotes")),
        ai_summary=clean_text(
            paper.get("ai_summary") or item.get("ai_summary"), limit=MAX_AI_SUMMARY
        ),
        ai_keywords=clean_names(keywords, limit=MAX_KEYWORDS, size=MAX_KEYWORD),
    )


def page_url(*, day: date, page: int, limit: int = PAGE_SIZE, base: str = API_URL) -> str:
    """``base`` with the paging parameters, and the date unless ``base`` already names one."""
    params = {} if "date=" in base else {"date": day.isoformat()}
    params.update(p=page, limit=limit)
    return f"{base}{'&' if '?' in base else '?'}{urlencode(params)}"


def fetch(*, url: str, day: date, get: Callable[[str], bytes | None]) -> list[bytes]:
    """Every page of the day's list: ``get(url)`` returns a page's bytes (None: not modified).

    Stops at the first short page; returns [] when the first page is not modified.
    """
    pages: list[bytes] = []
    for page in range(MAX_PAGES):
        body = get(page_url(day=day, page=page, base=url))
        if body is None:
            return pages
        pages.append(body)
        try:
            count = len(json.loads(body))
        except (ValueError, TypeError, RecursionError):
            break  # parse() will say what is wrong with it
        if count < PAGE_SIZE:
            break
    return pages


def _short(exc: Exception) -> str:
    return str(exc)[:200]
