"""Hugging Face daily papers page (``https://huggingface.co/papers?date=YYYY-MM-DD``).

The page embeds the list as JSON in the ``data-props`` of ``div[data-target="DailyPapers"]``; when
that is missing we read the rendered ``<article>`` cards (title, arXiv id, upvotes, thumbnail). A
single paper page (``data-target="PaperContent"``) gives its one paper.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import date

from bs4 import BeautifulSoup
from bs4.element import Tag

from newsletter.papers.sources import hf_json
from newsletter.papers.sources.base import (
    MAX_TITLE,
    Listing,
    PaperRecord,
    SourceError,
    arxiv_id_normalize,
    arxiv_links,
    clean_text,
    clean_url,
    decode_text,
    iso_date,
)

FORMAT = "hf-html"
PAGE_URL = "https://huggingface.co/papers"
_DATE_PARAM_RE = re.compile(r"[?&]date=(\d{4}-\d{2}-\d{2})(?![\d])")
_UPVOTES_RE = re.compile(r"^\s*(\d{1,9})\s*$")


def parse(data: bytes, *, name: str) -> Listing:
    """Records from a daily papers page (or a paper page)."""
    text = decode_text(data, name=name)
    if "<" not in text:
        raise SourceError("not HTML", input_name=name)
    try:
        soup = BeautifulSoup(text, "html.parser")
    except (AssertionError, ValueError, RecursionError, TypeError) as exc:
        raise SourceError(f"unreadable HTML ({str(exc)[:200]})", input_name=name) from None
    props = _props(soup, "DailyPapers", name=name)
    if props is not None and isinstance(props.get("dailyPapers"), list):
        items = props["dailyPapers"]
        listing = hf_json.items_to_listing(items, name=name, format=FORMAT)
        if items and not listing.records:
            raise SourceError(
                f"none of the {len(items)} items is a daily paper ({listing.problems[0].message})",
                input_name=name,
            )
        listing.listing_date = iso_date(props.get("date")) or listing.listing_date
        return listing
    paper = _props(soup, "PaperContent", name=name)
    if paper is not None and isinstance(paper.get("paper"), dict):
        listing = hf_json.items_to_listing([paper["paper"]], name=name, format=FORMAT)
        if listing.problems:
            raise listing.problems[0]
        listing.listing_date = iso_date(paper["paper"].get("submittedOnDailyAt"))
        return listing
    articles = soup.find_all("article")
    if not articles:
        raise SourceError(
            "no daily papers data and no paper cards: not a Hugging Face papers page",
            input_name=name,
        )
    listing = Listing(name=name, format=FORMAT, listing_date=_page_date(soup))
    for index, article in enumerate(articles):
        try:
            listing.records.append(_card_to_record(article, name=name, index=index))
        except SourceError as exc:
            listing.problems.append(exc)
    if not listing.records:
        raise SourceError("none of the cards on the page is a paper", input_name=name)
    return listing


def _props(soup: BeautifulSoup, target: str, *, name: str) -> dict | None:
    element = soup.find(attrs={"data-target": target})
    if not isinstance(element, Tag):
        return None
    raw = element.get("data-props")
    if not isinstance(raw, str):
        return None
    try:
        props = json.loads(raw)
    except (ValueError, RecursionError):
        # A cut-off page: the JSON is unusable, the rendered cards may still be there.
        return None
    return props if isinstance(props, dict) else None


def _page_date(soup: BeautifulSoup) -> date | None:
    """The day the page lists: its canonical/og:url ``?date=``, else its date heading's
    ``<time datetime>``. (The page also links the previous and next days: those are not it.)"""
    for element in (
        soup.find("link", rel="canonical", href=True),
        soup.find("meta", property="og:url", content=True),
    ):
        if isinstance(element, Tag):
            url = element.get("href") or element.get("content")
            match = _DATE_PARAM_RE.search(url) if isinstance(url, str) else None
            if match and (day := iso_date(match.group(1))):
                return day
    heading = soup.find("time", datetime=True)
    value = heading.get("datetime") if isinstance(heading, Tag) else None
    return iso_date(value) if isinstance(value, str) else None


def _card_to_record(article: Tag, *, name: str, index: int) -> PaperRecord:
    heading = article.find(["h3", "h2", "h1"])
    link = heading.find("a", href=True) if isinstance(heading, Tag) else None
    if not isinstance(heading, Tag):
        raise SourceError("card has no title", input_name=name, index=index)
    title = clean_text(heading.get_text(" "), limit=MAX_TITLE)
    if not title:
        raise SourceError("card has no title", input_name=name, index=index)
    href = link.get("href") if isinstance(link, Tag) else None
    arxiv_id = arxiv_id_normalize(href) if isinstance(href, str) and "/papers/" in href else ""
    abs_url, pdf_url = arxiv_links(arxiv_id) if arxiv_id else ("", "")
    upvotes = None
    for div in article.find_all("div", class_="leading-none"):
        match = _UPVOTES_RE.match(div.get_text())
        if match:
            upvotes = int(match.group(1))
            break
    image = article.find("img", src=True)
    return PaperRecord(
        title=title,
        arxiv_id=arxiv_id,
        hf_url=f"https://huggingface.co/papers/{arxiv_id}" if arxiv_id else "",
        abs_url=abs_url,
        pdf_url=pdf_url,
        thumbnail_url=clean_url(image.get("src")) if isinstance(image, Tag) else "",
        upvotes=upvotes,
    )


def page_url(*, day: date, base: str = PAGE_URL) -> str:
    if "date=" in base:
        return base
    return f"{base}{'&' if '?' in base else '?'}date={day.isoformat()}"


def fetch(*, url: str, day: date, get: Callable[[str], bytes | None]) -> list[bytes]:
    body = get(page_url(day=day, base=url))
    return [] if body is None else [body]
