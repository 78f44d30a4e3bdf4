"""Plain-text captures of the daily papers listing page, in two layouts.

(a) After a header ending in the listing date ("byAK and the research community", then "Nov 10"),
    blocks of: title, abstract snippet, "• N authors", "·", date line ("Oct 27" or "Jun 13, 2024",
    sometimes followed by an upvote count).
(b) Two header lines ("Get trending papers ..."), then a title line and a full-abstract line per
    paper; the first title is glued to "Subscribe".

A date without a year takes the listing's year (the year before, if that would put the paper after
the listing). The listing date's own year is the latest that does not put it in the future.
"""

from __future__ import annotations

import re
from datetime import date

from newsletter.papers.sources.base import (
    MAX_ABSTRACT,
    MAX_TITLE,
    Listing,
    PaperRecord,
    SourceError,
    clean_text,
    decode_text,
    plausible,
)

FORMAT = "text"
BYLINE = "byAK and the research community"
HEADER_B = "Get trending papers in your email inbox"
_MONTH_NAMES = "jan feb mar apr may jun jul aug sep oct nov dec"
MONTHS = {m: i for i, m in enumerate(_MONTH_NAMES.split(" "), 1)}
_DATE_RE = re.compile(
    r"^(?P<month>[A-Za-z]{3})[a-z]*\.?\s+(?P<day>\d{1,2})(?:,\s*(?P<year>\d{4}))?(?:\s+(?P<votes>\d{1,7}))?$"
)
_AUTHORS_RE = re.compile(r"^[•·*\-]?\s*(?P<count>\d{1,6})\s+authors?$")
# An abstract in layout (b) is prose; a title is a line. Titles longer than this are misaligned.
MAX_TITLE_LINE = 400


def parse(data: bytes, *, name: str, today: date, listing_date: date | None = None) -> Listing:
    """Records from a capture; ``listing_date`` (--date) overrides the date the capture shows."""
    text = decode_text(data, name=name)
    lines = [line.strip() for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    if BYLINE in lines or _has_paper_footers(lines):
        listing = _parse_blocks(lines, name=name, today=today, listing_date=listing_date)
    elif lines and lines[0].startswith(HEADER_B):
        listing = _parse_pairs(lines, name=name, listing_date=listing_date)
    else:
        raise SourceError("not a daily papers listing (no listing header found)", input_name=name)
    if not listing.records:
        first = listing.problems[0]
        raise SourceError(
            f"none of the {len(listing.problems)} papers is usable (record {first.index + 1}: "
            f"{first.message})",
            input_name=name,
        )
    return listing


def _has_paper_footers(lines: list[str]) -> bool:
    """A capture without its header still shows a footer under most papers: "• N authors",
    "·", a date line. A "·" line alone proves nothing (notes, ASCII art, junk)."""
    body = [line for line in lines if line]
    dots = footers = 0
    for i, line in enumerate(body):
        if line != "·":
            continue
        dots += 1
        before = body[i - 1] if i > 0 else ""
        after = body[i + 1] if i + 1 < len(body) else ""
        if _AUTHORS_RE.match(before) or _DATE_RE.match(after):
            footers += 1
    return footers >= min(dots, 3) and footers * 2 >= dots > 0


# --- Layout (a). ---


def _parse_blocks(
    lines: list[str], *, name: str, today: date, listing_date: date | None
) -> Listing:
    body = [line for line in lines if line]
    start = 0
    shown: date | None = None
    if BYLINE in body:
        start = body.index(BYLINE) + 1
        match = _DATE_RE.match(body[start]) if start < len(body) else None
        if match:
            # The listing's own date ("Nov 10", or "Jun 13, 2024"): never a paper.
            shown = _listing_day(match, today=today)
            start += 1
    listing = Listing(name=name, format=FORMAT, listing_date=listing_date or shown)
    year_of = listing.listing_date or today
    # A paper is: text lines (title, abstract), then its footer: "• N authors", "·", a date line,
    # each of which may be missing. The first text line after a footer starts the next paper.
    chunk: list[str] = []
    authors: str = ""
    dated: re.Match[str] | None = None
    in_footer = False
    index = 0

    def close() -> None:
        nonlocal chunk, authors, dated, in_footer, index
        lines = [*chunk, authors] if authors else chunk
        try:
            listing.records.append(
                _block_record(lines, dated, name=name, index=index, listing_day=year_of)
            )
        except SourceError as exc:
            listing.problems.append(exc)
        chunk, authors, dated, in_footer = [], "", None, False
        index += 1

    for line in body[start:]:
        if line == "·" or _AUTHORS_RE.match(line):
            if line != "·":
                authors = line
            in_footer = True
        elif in_footer and dated is None and (match := _DATE_RE.match(line)):
            dated = match
        else:
            if in_footer:
                close()
            chunk.append(line)
    if in_footer:
        close()
    elif chunk:
        listing.problems.append(
            SourceError("incomplete paper at the end (cut off?)", input_name=name, index=index)
        )
    if not listing.records and not listing.problems:
        raise SourceError("a listing header but no papers", input_name=name)
    return listing


def _block_record(
    chunk: list[str], match: re.Match[str] | None, *, name: str, index: int, listing_day: date
) -> PaperRecord:
    author_count = None
    if chunk and (authors := _AUTHORS_RE.match(chunk[-1])):
        author_count = int(authors.group("count"))
        chunk = chunk[:-1]
    if not chunk:
        raise SourceError("paper without a title", input_name=name, index=index)
    title = clean_text(chunk[0], limit=MAX_TITLE)
    if not title or len(chunk[0]) > MAX_TITLE_LINE:
        raise SourceError("paper without a usable title", input_name=name, index=index)
    published, votes = None, None
    if match:
        published = _paper_date(match, listing_day=listing_day)
        votes = int(match.group("votes")) if match.group("votes") else None
    return PaperRecord(
        title=title,
        abstract=clean_text(" ".join(chunk[1:]), limit=MAX_ABSTRACT),
        author_count=author_count or None,
        published=published,
        upvotes=votes,
    )


def _month_day(match: re.Match[str], year: int) -> date | None:
    month = MONTHS.get(match.group("month").lower())
    if month is None:
        return None
    try:
        return date(year, month, int(match.group("day")))
    except ValueError:
        return None


def _listing_day(match: re.Match[str], *, today: date) -> date | None:
    if match.group("year"):
        return plausible(_month_day(match, int(match.group("year"))))
    return _latest_not_future(match, today=today)


def _latest_not_future(match: re.Match[str], *, today: date) -> date | None:
    for year in (today.year, today.year - 1, today.year - 2, today.year - 3, today.year - 4):
        day = _month_day(match, year)  # Feb 29 needs a leap year
        if day is not None and day <= today:
            return day
    return None


def _paper_date(match: re.Match[str], *, listing_day: date) -> date | None:
    if match.group("year"):
        return plausible(_month_day(match, int(match.group("year"))))
    day = _month_day(match, listing_day.year)
    if day is not None and day > listing_day:
        day = _month_day(match, listing_day.year - 1)
    return day


# --- Layout (b). ---


def _parse_pairs(lines: list[str], *, name: str, listing_date: date | None) -> Listing:
    body = [line for line in lines if line and not line.startswith(HEADER_B)]
    if body and body[0].startswith("Subscribe"):
        body[0] = body[0].removeprefix("Subscribe")
        if not body[0].strip():
            body = body[1:]
    listing = Listing(name=name, format=FORMAT, listing_date=listing_date)
    i = index = 0
    while i < len(body):
        title_line = body[i]
        if len(title_line) > MAX_TITLE_LINE:
            # An abstract where a title belongs: report it and resynchronise on the next line.
            listing.problems.append(
                SourceError("a paragraph where a title was expected", input_name=name, index=index)
            )
            i += 1
            index += 1
            continue
        abstract = body[i + 1] if i + 1 < len(body) else ""
        title = clean_text(title_line, limit=MAX_TITLE)
        if not abstract or not title:
            listing.problems.append(
                SourceError("title without an abstract (cut off?)", input_name=name, index=index)
            )
        else:
            listing.records.append(
                PaperRecord(title=title, abstract=clean_text(abstract, limit=MAX_ABSTRACT))
            )
        i += 2
        index += 1
    if not listing.records and not listing.problems:
        raise SourceError("a listing header but no papers", input_name=name)
    return listing
