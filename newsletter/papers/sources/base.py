"""Records, the one error type, and the cleaning every parser applies to untrusted upstream text.

Nothing here touches the ORM or the network: parsers turn bytes into ``Listing`` objects or raise
``SourceError``.
"""

from __future__ import annotations

import functools
import html
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime

from newsletter.lib.arxiv import arxiv_id_normalize, arxiv_links  # noqa: F401 - re-exported

# Bounds on what we store from upstream; anything longer is cut (text) or dropped (list items).
MAX_INPUT_BYTES = 20 * 1024 * 1024
MAX_TITLE = 1000
MAX_ABSTRACT = 20_000
MAX_AUTHOR = 300
MAX_AUTHORS = 2000
MAX_AI_SUMMARY = 5000
MAX_KEYWORD = 200
MAX_KEYWORDS = 100
MAX_URL = 2000
MAX_CATEGORIES = 20
MAX_NORMALIZED_TITLE = 500


class SourceError(Exception):
    """An input (or one record of it) that is not a usable listing. Always names the input."""

    def __init__(self, message: str, *, input_name: str, index: int | None = None) -> None:
        self.message = message
        self.input_name = input_name
        self.index = index
        where = input_name if index is None else f"{input_name}: record {index + 1}"
        super().__init__(f"{where}: {message}")


@dataclass(frozen=True, slots=True)
class PaperRecord:
    """What one listing says about one paper; empty/None means "not said"."""

    title: str
    arxiv_id: str = ""
    abstract: str = ""
    authors: tuple[str, ...] = ()
    author_count: int | None = None
    published: date | None = None
    categories: tuple[str, ...] = ()
    hf_url: str = ""
    abs_url: str = ""
    pdf_url: str = ""
    code_url: str = ""
    project_url: str = ""
    thumbnail_url: str = ""
    upvotes: int | None = None
    ai_summary: str = ""
    ai_keywords: tuple[str, ...] = ()


@dataclass(slots=True)
class Listing:
    """A parsed input: its good records in listing order, and the records that were refused."""

    name: str
    format: str
    records: list[PaperRecord] = field(default_factory=list)
    problems: list[SourceError] = field(default_factory=list)
    listing_date: date | None = None


# --- Decoding. ---


def decode_text(data: bytes, *, name: str, max_bytes: int = MAX_INPUT_BYTES) -> str:
    """Bytes to text, refusing what is empty, too large, binary or not UTF-8."""
    check_size(data, name=name, max_bytes=max_bytes)
    if b"\x00" in data[:65536]:
        raise SourceError("binary data, not a listing", input_name=name)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SourceError(
            f"not UTF-8 text (invalid byte at offset {exc.start})", input_name=name
        ) from None
    if not text.strip():
        raise SourceError("empty input", input_name=name)
    return text


def check_size(data: bytes, *, name: str, max_bytes: int = MAX_INPUT_BYTES) -> None:
    if not isinstance(data, bytes | bytearray):
        raise SourceError("input is not bytes", input_name=name)
    if not data.strip():
        raise SourceError("empty input", input_name=name)
    if len(data) > max_bytes:
        raise SourceError(
            f"too large ({len(data):,} bytes; the limit is {max_bytes:,})", input_name=name
        )


# --- Cleaning untrusted text. ---
#
# Every pattern here runs in time linear in its input: upstream text is hostile, and one listing
# must never stall a worker. A field is cut to ``raw_bound`` characters before any pattern sees it.

# Raw text may carry markup and entities around what is kept: a field longer than this many
# characters per character kept is cut before it is cleaned (what is cut could never be kept).
RAW_PER_KEPT = 4
RAW_MIN = 4096

# Comments and script/style elements go with their content. The close of each kind is searched
# for once and the answer reused until it is passed, and a kind that never closes again is no
# longer looked for, so many openers never make the text be scanned twice.
_BLOCK_OPENERS = {"comment": "!--", "script": r"script\b[^<>]*>", "style": r"style\b[^<>]*>"}
_BLOCK_CLOSE_RE = {
    "comment": re.compile(r"-->"),
    "script": re.compile(r"</script\s*>", re.IGNORECASE),
    "style": re.compile(r"</style\s*>", re.IGNORECASE),
}


@functools.cache
def _block_open_re(kinds: frozenset[str]) -> re.Pattern[str]:
    openers = "|".join(f"(?P<{kind}>{_BLOCK_OPENERS[kind]})" for kind in sorted(kinds))
    return re.compile(f"<(?:{openers})", re.IGNORECASE)


# Only real HTML elements are markup. Abstracts are full of other angle brackets that must stay as
# written: LaTeX ("$0<t \\leq T$ and $s>0$"), and literal tokens ("<search>", "<Environment>",
# "<slack>"). So a tag is a known element name followed by well-formed attributes. Nothing in a
# tag may hold "<", so a failed match stops at the next "<" and no text is scanned twice; a
# tag-shaped token that names no element is left as written.
_HTML_ELEMENTS = (
    "a abbr acronym address article aside b bdi bdo big blockquote body br button caption center "
    "cite code col colgroup dd del details dfn div dl dt em figcaption figure font footer form "
    "h1 h2 h3 h4 h5 h6 head header hr html i iframe img input ins kbd label li link main mark "
    "meta nav noscript ol p picture pre q s samp script section small source span strike strong "
    "style sub summary sup table tbody td tfoot th thead time tr tt u ul var wbr"
)
_ATTRIBUTE = r"""\s+[A-Za-z_:][-\w:.]*(?:\s*=\s*(?:"[^"<]*"|'[^'<]*'|[^\s"'=<>`]+))?"""
_ELEMENT_NAMES = frozenset(_HTML_ELEMENTS.split())
_TAG_RE = re.compile(rf"</?([A-Za-z][A-Za-z0-9]{{0,9}})(?=[\s/>])(?:{_ATTRIBUTE})*\s*/?>")


def _tag_to_space(match: re.Match[str]) -> str:
    return " " if match.group(1).lower() in _ELEMENT_NAMES else match.group()


# A character reference past U+10FFFF is U+FFFD; written with thousands of digits it would make
# html.unescape raise (Python's limit on digits converted to int), so it is replaced first.
_HUGE_CHARREF_RE = re.compile(r"&#(?:[xX]0*[0-9a-fA-F]{7,}|0*[0-9]{8,});?")
# Invisible and bidirectional controls: the Arabic letter mark, zero-width space and joiners,
# direction marks, embeddings, overrides and isolates, the BOM. They can reorder or hide what a
# title, an author or a subject line shows, so they are dropped.
_BIDI = dict.fromkeys(
    [0x061C, *range(0x200B, 0x2010), *range(0x202A, 0x202F), *range(0x2066, 0x206A), 0xFEFF]
)
_SPACE_RE = re.compile(r"\s+")


def raw_bound(value: str, *, limit: int) -> str:
    """``value`` cut to what cleaning it to ``limit`` characters can need; call before any pattern."""
    return value[: max(limit * RAW_PER_KEPT, RAW_MIN)]


def clean_text(value: object, *, limit: int) -> str:
    """Plain text: HTML tags stripped, then entities decoded (so "&lt;b&gt;" stays the text
    "<b>"), control characters and runs of whitespace (hard line breaks included) made single
    spaces, NFC, at most ``limit`` characters. Angle brackets that are not HTML stay as written."""
    if not isinstance(value, str) or not value:
        return ""
    text = raw_bound(value, limit=limit)
    if "<" in text:
        text = _TAG_RE.sub(_tag_to_space, _strip_blocks(text))
    if "&" in text:
        text = html.unescape(_HUGE_CHARREF_RE.sub("\ufffd", text))
    text = text.translate(_BIDI)
    if not text.isprintable():
        text = "".join(
            " " if unicodedata.category(ch) in ("Cc", "Cs", "Co", "Zl", "Zp") else ch for ch in text
        )
    text = _SPACE_RE.sub(" ", unicodedata.normalize("NFC", text)).strip()
    if len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    return text


def _strip_blocks(text: str) -> str:
    """Comments, scripts and style sheets replaced by a space, content and all. An unclosed
    comment stays as written; an unclosed script or style loses only its tag (``_TAG_RE``)."""
    parts: list[str] = []
    pos = 0
    kinds = frozenset(_BLOCK_OPENERS)
    opener = _block_open_re(kinds)
    closes: dict[str, re.Match[str]] = {}
    while match := opener.search(text, pos):
        kind, end = match.lastgroup, match.end()
        close = closes.get(kind)
        if close is None or close.start() < end:
            close = _BLOCK_CLOSE_RE[kind].search(text, end)
            if close is None:  # none closes after here: look for the other kinds only
                kinds -= {kind}
                parts.append(text[pos:end])
                pos = end
                if not kinds:
                    break
                opener = _block_open_re(kinds)
                continue
            closes[kind] = close
        parts += [text[pos : match.start()], " "]
        pos = close.end()
    parts.append(text[pos:])
    return "".join(parts)


def clean_url(value: object) -> str:
    """An http(s) URL without whitespace, or ""."""
    if not isinstance(value, str):
        return ""
    url = value.strip()
    if len(url) > MAX_URL or not url.lower().startswith(("https://", "http://")):
        return ""
    if any(ch.isspace() or unicodedata.category(ch)[0] == "C" for ch in url):
        return ""
    return url


def clean_int(value: object, *, maximum: int = 10**9) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value if 0 <= value <= maximum else None


def clean_names(
    values: object, *, limit: int = MAX_AUTHORS, size: int = MAX_AUTHOR
) -> tuple[str, ...]:
    if not isinstance(values, list | tuple):
        return ()
    names = (clean_text(value, limit=size) for value in values[:limit])
    return tuple(name for name in names if name)


# At most 33 characters ("cond-mat.stat-mech" is among the longest real ones).
_CATEGORY_RE = re.compile(r"^[a-z][a-z-]{0,15}(\.[A-Za-z][A-Za-z-]{0,15})?$")


def clean_categories(values: object) -> tuple[str, ...]:
    """Valid arXiv category codes, first occurrence kept, order kept (primary first)."""
    if not isinstance(values, list | tuple):
        return ()
    seen: dict[str, None] = {}
    for value in values:
        if isinstance(value, str) and _CATEGORY_RE.match(value.strip()):
            seen.setdefault(value.strip(), None)
    return tuple(seen)[:MAX_CATEGORIES]


# --- Identifiers, titles, dates. ---

_PUNCT_RE = re.compile(r"[\W_]+")
# How listings render the same title: arXiv keeps LaTeX ("$100\times$", "\textbf{X}", "\'e"), the
# Hugging Face page renders it ("100×", "α"), text captures drop the markup ("100times").
_LATEX_STYLE_RE = re.compile(
    r"\\(?:text(?:bf|it|tt|rm|sf|sc|up|normal)?|math(?:bf|it|rm|sf|tt|cal|bb|frak|scr)|emph"
    r"|operatorname|boldsymbol|bm|mbox|hbox)(?![A-Za-z])"
)
_LATEX_ACCENT_RE = re.compile(r"\\(?:[`'^\"~=.]|[uvHcdbtkr](?=\{))")
_SYMBOL_NAMES = {
    "×": "times",
    "·": "cdot",
    "⋅": "cdot",
    "±": "pm",
    "≤": "leq",
    "≥": "geq",
    "≠": "neq",
    "≈": "approx",
    "∞": "infty",
    "→": "rightarrow",
    "←": "leftarrow",
    "↔": "leftrightarrow",
    "∈": "in",
    "∑": "sum",
    "∏": "prod",
    "∫": "int",
    "√": "sqrt",
    "∇": "nabla",
    "∂": "partial",
    "ℓ": "ell",
}


def _symbol_name(char: str) -> str:
    """``α`` -> "alpha", ``×`` -> "times": the word LaTeX would write for a rendered symbol."""
    if char in _SYMBOL_NAMES:
        return _SYMBOL_NAMES[char]
    name = unicodedata.name(char, "")
    if name.startswith(("GREEK SMALL LETTER ", "GREEK CAPITAL LETTER ")) and " WITH " not in name:
        return name.rsplit(" ", 1)[-1].lower()
    return char


def normalize_title(title: str) -> str:
    """The key two listings share for one paper, however they render it: LaTeX markup and math
    delimiters dropped, symbols and Greek letters spelled as LaTeX names them, accents removed,
    case-folded, and punctuation and whitespace removed altogether ("100×", "$100\\times$" and
    "100times" give one key). Titles of punctuation alone keep their characters."""
    text = unicodedata.normalize("NFKC", title[: MAX_NORMALIZED_TITLE * 4])
    text = _LATEX_STYLE_RE.sub("", text)
    text = _LATEX_ACCENT_RE.sub("", text)
    text = "".join(_symbol_name(ch) if ord(ch) > 127 else ch for ch in text)
    text = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).casefold()
    key = _PUNCT_RE.sub("", text) or _SPACE_RE.sub(" ", text).strip()
    return key[:MAX_NORMALIZED_TITLE]


def iso_date(value: object) -> date | None:
    """The date of an ISO 8601 timestamp ("2024-10-22T17:59:30.000Z"), or None."""
    if not isinstance(value, str) or not 10 <= len(value) <= 40:
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        try:
            return plausible(date.fromisoformat(value.strip()[:10]))
        except ValueError:
            return None
    return plausible(parsed.date())


def plausible(day: date | None) -> date | None:
    return day if day is not None and 1980 <= day.year <= 2200 else None
