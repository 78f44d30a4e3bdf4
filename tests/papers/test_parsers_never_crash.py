"""Property: every parser, fed random or mutated input, returns records or raises SourceError."""

from __future__ import annotations

import json
import os
import unicodedata
from datetime import date

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from newsletter.papers.sources import (
    Listing,
    PaperRecord,
    SourceError,
    arxiv,
    hf_html,
    hf_json,
    parse_listing,
    text,
)

from .conftest import data
from .feeds import rss_feed

TODAY = date(2026, 11, 24)
FIXTURES = {
    "hf-html": data("hf/daily_papers_page_2024-08-01.html"),
    "hf-json": data("hf/api_daily_papers_2024-10-25.json"),
    "arxiv": data("arxiv/api_query_10_entries.atom.xml"),
    "rss": rss_feed(data("arxiv/api_query_10_entries.atom.xml")),
    "text-a": data("listings/003_699aaad9f8861ff2.txt")[:20_000],
    "text-b": data("listings/001_a381271d1475ca1a.txt")[:20_000],
}
PARSERS = {
    "hf-html": lambda raw: hf_html.parse(raw, name="input"),
    "hf-json": lambda raw: hf_json.parse(raw, name="input"),
    "arxiv": lambda raw: arxiv.parse(raw, name="input"),
    "text": lambda raw: text.parse(raw, name="input", today=TODAY),
    "auto": lambda raw: parse_listing(raw, name="input", today=TODAY),
}
# HYPOTHESIS_EXAMPLES=1000 for a deeper run by hand.
SETTINGS = settings(
    max_examples=int(os.environ.get("HYPOTHESIS_EXAMPLES", "60")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


def check(parser: str, raw: bytes) -> None:
    try:
        listing = PARSERS[parser](raw)
    except SourceError as exc:
        assert exc.input_name == "input"
        assert str(exc).startswith("input")
        return
    assert isinstance(listing, Listing)
    assert all(isinstance(r, PaperRecord) and r.title for r in listing.records)
    assert all(isinstance(p, SourceError) and p.index is not None for p in listing.problems)
    for record in listing.records:
        assert len(record.title) <= 1000 and len(record.abstract) <= 20_000
        # Nothing that breaks storage or display: control characters, lone surrogates, line breaks.
        for ch in record.title + record.abstract + "".join(record.authors):
            assert unicodedata.category(ch) not in ("Cc", "Cs", "Zl", "Zp")


@st.composite
def mutated(draw, fixture: bytes) -> bytes:
    raw = bytearray(fixture)
    for _ in range(draw(st.integers(1, 6))):
        kind = draw(st.sampled_from(["cut", "delete", "insert", "flip", "duplicate"]))
        at = draw(st.integers(0, max(len(raw) - 1, 0)))
        if kind == "cut":
            del raw[at:]
        elif kind == "delete":
            del raw[at : at + draw(st.integers(1, 500))]
        elif kind == "insert":
            raw[at:at] = draw(
                st.one_of(
                    st.binary(max_size=50),
                    st.sampled_from(
                        [b"<", b">", b"&", b'"', b"{", b"[", b"\x00", b"\xff", b"\n", b"\xc2\xb7\n"]
                    ),
                )
            )
        elif kind == "flip" and raw:
            raw[at] = draw(st.integers(0, 255))
        else:
            raw[at:at] = raw[at : at + draw(st.integers(1, 300))]
    return bytes(raw)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda children: (
        st.lists(children, max_size=5)
        | st.dictionaries(
            st.sampled_from(
                [
                    "paper",
                    "id",
                    "title",
                    "summary",
                    "authors",
                    "name",
                    "upvotes",
                    "publishedAt",
                    "thumbnail",
                    "ai_keywords",
                    "ai_summary",
                    "githubRepo",
                    "projectPage",
                    "dailyPapers",
                ]
            )
            | st.text(max_size=5),
            children,
            max_size=8,
        )
    ),
    max_leaves=30,
)


@SETTINGS
@given(parser=st.sampled_from(sorted(PARSERS)), raw=st.binary(max_size=2000))
def test_random_bytes_give_records_or_a_source_error(parser, raw):
    check(parser, raw)


@SETTINGS
@given(parser=st.sampled_from(sorted(PARSERS)), raw=st.text(max_size=2000).map(str.encode))
def test_random_text_gives_records_or_a_source_error(parser, raw):
    check(parser, raw)


@SETTINGS
@given(value=json_values)
def test_random_json_gives_records_or_a_source_error(value):
    raw = json.dumps(value).encode()
    check("hf-json", raw)
    check("auto", raw)
    props = json.dumps({"dailyPapers": value}).replace("&", "&amp;").replace("'", "&#39;")
    page = f"<html><div data-target='DailyPapers' data-props='{props}'></div></html>"
    check("hf-html", page.encode())


@SETTINGS
@given(data=st.data(), fixture=st.sampled_from(sorted(FIXTURES)))
def test_mutated_fixtures_give_records_or_a_source_error(data, fixture):
    raw = data.draw(mutated(FIXTURES[fixture]))
    parser = {"rss": "arxiv", "text-a": "text", "text-b": "text"}.get(fixture, fixture)
    check(parser, raw)
    check("auto", raw)
