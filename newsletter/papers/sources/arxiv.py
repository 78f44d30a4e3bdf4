"""arXiv: API responses (Atom, ``export.arxiv.org/api/query``) and the category listing feeds
(``rss.arxiv.org/atom/<category>``, Atom; ``rss.arxiv.org/rss/<category>``, RSS 2.0).

The API reports a bad query as a feed holding one entry whose id is under ``arxiv.org/api/errors``;
that is an error, never zero papers. An empty result is zero papers.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from datetime import date, datetime
from email.utils import parsedate_to_datetime

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring as defused_fromstring

from newsletter.papers.sources.base import (
    MAX_ABSTRACT,
    MAX_AUTHOR,
    MAX_AUTHORS,
    MAX_TITLE,
    Listing,
    PaperRecord,
    SourceError,
    arxiv_id_normalize,
    arxiv_links,
    check_size,
    clean_categories,
    clean_names,
    clean_text,
    iso_date,
    plausible,
    raw_bound,
)

FORMAT = "arxiv"
ATOM = "{http://www.w3.org/2005/Atom}"
ARXIV = "{http://arxiv.org/schemas/atom}"
DC = "{http://purl.org/dc/elements/1.1/}"

# The listing feeds prefix the abstract: "arXiv:2510.14999v1 Announce Type: new \nAbstract: ...".
_ANNOUNCE_RE = re.compile(
    r"^\s*arXiv:\S+\s+Announce Type:\s*\S+\s*(?:Abstract:\s*)?", re.IGNORECASE
)
# Old RSS titles end with "(arXiv:2101.00001v1 [cs.LG])" or "(arXiv:... [cs.LG] UPDATED)". (No
# leading \s*: tried at every space of a long run it would be quadratic; clean_text trims.)
_TITLE_SUFFIX_RE = re.compile(r"\(arXiv:[^()]*\)\s*\Z")


def parse(data: bytes, *, name: str) -> Listing:
    """Records from an arXiv Atom or RSS document."""
    check_size(data, name=name)
    try:
        # defusedxml refuses any DOCTYPE (entity declarations are how XML bombs and external
        # entities work; arXiv never sends one), in whatever encoding the document declares.
        root = defused_fromstring(data, forbid_dtd=True)
    except DefusedXmlException:
        raise SourceError(
            "XML with a DOCTYPE or entity declaration is refused", input_name=name
        ) from None
    except (ET.ParseError, ValueError, LookupError, UnicodeError, RecursionError) as exc:
        raise SourceError(f"not well-formed XML ({str(exc)[:200]})", input_name=name) from None
    if root.tag == f"{ATOM}feed":
        listing = _parse_atom(root, name=name)
    elif root.tag == "rss" and isinstance(root.find("channel"), ET.Element):
        listing = _parse_rss(root.find("channel"), name=name)
    else:
        raise SourceError(f"XML root <{root.tag[:80]}> is not an Atom or RSS feed", input_name=name)
    if listing.problems and not listing.records:
        # Zero entries is an empty day; entries that are all unusable is not.
        first = listing.problems[0]
        raise SourceError(
            f"none of the {len(listing.problems)} entries is usable (record {first.index + 1}: "
            f"{first.message})",
            input_name=name,
        )
    return listing


def _parse_atom(feed: ET.Element, *, name: str) -> Listing:
    entries = feed.findall(f"{ATOM}entry")
    _raise_api_error(entries, name=name)
    listing = Listing(name=name, format=FORMAT, listing_date=_datetime_date(feed, f"{ATOM}updated"))
    for index, entry in enumerate(entries):
        try:
            listing.records.append(_atom_entry(entry, name=name, index=index))
        except SourceError as exc:
            listing.problems.append(exc)
    return listing


def _raise_api_error(entries: list[ET.Element], *, name: str) -> None:
    for entry in entries:
        if "arxiv.org/api/errors" in _text(entry, f"{ATOM}id"):
            message = clean_text(_text(entry, f"{ATOM}summary"), limit=300) or "unknown error"
            raise SourceError(f"arXiv API error: {message}", input_name=name)


def _atom_entry(entry: ET.Element, *, name: str, index: int) -> PaperRecord:
    arxiv_id = arxiv_id_normalize(_text(entry, f"{ATOM}id"))
    if not arxiv_id:
        for link in entry.findall(f"{ATOM}link"):
            arxiv_id = arxiv_id or arxiv_id_normalize(link.get("href"))
    title = _title(_text(entry, f"{ATOM}title"))
    if not arxiv_id:
        raise SourceError("entry has no arXiv id", input_name=name, index=index)
    if not title:
        raise SourceError("entry has no title", input_name=name, index=index)
    primary = entry.find(f"{ARXIV}primary_category")
    categories = [primary.get("term")] if primary is not None else []
    categories += [c.get("term") for c in entry.findall(f"{ATOM}category")]
    authors = [_text(a, f"{ATOM}name") for a in entry.findall(f"{ATOM}author")]
    if not authors:
        authors = _split_creators(_text(entry, f"{DC}creator"))
    abs_url, pdf_url = arxiv_links(arxiv_id)
    published = iso_date(_text(entry, f"{ATOM}published")) or iso_date(
        _text(entry, f"{ATOM}updated")
    )
    return PaperRecord(
        title=title,
        arxiv_id=arxiv_id,
        abstract=_abstract(_text(entry, f"{ATOM}summary")),
        authors=clean_names(authors),
        author_count=len(authors) or None,
        published=published,
        categories=clean_categories(categories),
        abs_url=abs_url,
        pdf_url=pdf_url,
    )


def _parse_rss(channel: ET.Element, *, name: str) -> Listing:
    listing = Listing(
        name=name, format=FORMAT, listing_date=_rfc822_date(_text(channel, "pubDate"))
    )
    for index, item in enumerate(channel.findall("item")):
        try:
            listing.records.append(_rss_item(item, name=name, index=index))
        except SourceError as exc:
            listing.problems.append(exc)
    return listing


def _rss_item(item: ET.Element, *, name: str, index: int) -> PaperRecord:
    arxiv_id = arxiv_id_normalize(_text(item, "guid")) or arxiv_id_normalize(_text(item, "link"))
    title = _title(_text(item, "title"))
    if not arxiv_id:
        raise SourceError("item has no arXiv id", input_name=name, index=index)
    if not title:
        raise SourceError("item has no title", input_name=name, index=index)
    authors = _split_creators(_text(item, f"{DC}creator"))
    abs_url, pdf_url = arxiv_links(arxiv_id)
    return PaperRecord(
        title=title,
        arxiv_id=arxiv_id,
        abstract=_abstract(_text(item, "description")),
        authors=clean_names(authors),
        author_count=len(authors) or None,
        published=_rfc822_date(_text(item, "pubDate")),
        categories=clean_categories([c.text or "" for c in item.findall("category")]),
        abs_url=abs_url,
        pdf_url=pdf_url,
    )


def _text(element: ET.Element, path: str) -> str:
    found = element.find(path)
    return "".join(found.itertext()) if found is not None else ""


def _title(raw: str) -> str:
    raw = raw_bound(raw, limit=MAX_TITLE)
    return clean_text(_TITLE_SUFFIX_RE.sub("", raw), limit=MAX_TITLE)


def _abstract(raw: str) -> str:
    raw = raw_bound(raw, limit=MAX_ABSTRACT)
    return clean_text(_ANNOUNCE_RE.sub("", raw, count=1), limit=MAX_ABSTRACT)


def _split_creators(raw: str) -> list[str]:
    """dc:creator holds "A. One, B. Two and C. Three" (sometimes with markup)."""
    text = clean_text(raw, limit=MAX_AUTHOR * MAX_AUTHORS)
    if not text:
        return []
    parts = re.split(r",\s*|\s+and\s+", text)
    return [part for part in (p.strip() for p in parts) if part][:MAX_AUTHORS]


def _datetime_date(element: ET.Element, path: str) -> date | None:
    return iso_date(_text(element, path))


def _rfc822_date(raw: str) -> date | None:
    if not raw or len(raw) > 100:
        return None
    try:
        parsed: datetime = parsedate_to_datetime(raw.strip())
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    return plausible(parsed.date())


def fetch(*, url: str, day: date, get: Callable[[str], bytes | None]) -> list[bytes]:
    body = get(url)
    return [] if body is None else [body]
