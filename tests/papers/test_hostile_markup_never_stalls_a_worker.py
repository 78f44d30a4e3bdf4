"""One listing never stalls a worker: a megabyte of hostile markup in any field is cleaned in well
under a second, and what a reader sees of real markup is unchanged.

Run with ``-s`` to see the measured figures. Each case runs in a forked child, so a pattern that
holds the interpreter in C for minutes fails the test after a few seconds instead of hanging it.
"""

from __future__ import annotations

import contextlib
import json
import multiprocessing
import os
import time
from collections.abc import Callable
from html import escape

import pytest

from newsletter.papers.sources import SourceError, arxiv, hf_json
from newsletter.papers.sources.base import MAX_ABSTRACT, clean_text

MB = 1024 * 1024
# Generous, so a busy shared machine never fails it; the figures here are 0.01-0.3 s.
BOUND = 2.0
GIVE_UP = 10.0


def _repeat(unit: str) -> str:
    return (unit * (MB // len(unit) + 1))[:MB]


SHAPES: dict[str, str] = {
    "script-repeated": _repeat("<script>"),
    "script-open-tags-without-end": _repeat("<script "),
    "style-repeated": _repeat("<style>"),
    "comment-openers": _repeat("<!--"),
    "empty-comments": _repeat("<!---->"),
    "closed-scripts": _repeat("<script></script>"),
    "less-than-signs": _repeat("<"),
    "end-tag-openers": _repeat("</"),
    "element-name-prefixes": _repeat("<a"),
    "unfinished-tags": _repeat("<b "),
    "unfinished-attributes": _repeat("<a x"),
    "unclosed-quoted-attributes": _repeat('<a x="'),
    "one-long-quoted-attribute": '<a title="' + "x" * MB,
    "nested-tags": "<b>" * (MB // 8) + "x" + "</b>" * (MB // 8),
    "latex-comparisons": _repeat("$a<b$ "),
    "entity-run": _repeat("&amp;"),
    "ampersands": _repeat("&"),
    "entity-names-without-semicolon": _repeat("&nbsp"),
    "decimal-reference-of-a-million-digits": "&#" + "9" * MB,
    "hex-reference-of-a-million-digits": "&#x" + "f" * MB,
    "whitespace": _repeat(" \t\n"),
    "arxiv-title-suffixes": _repeat("(arXiv:1 [cs.LG])   "),
    "announce-prefixes": _repeat("arXiv:1 Announce Type: "),
}


def _seconds(work: Callable[[], object]) -> float:
    """How long ``work`` takes, run in a forked child; fails if it runs past GIVE_UP seconds
    (a regex in C cannot be interrupted in-process) or raises."""
    context = multiprocessing.get_context("fork")
    receiver, sender = context.Pipe(duplex=False)

    def child() -> None:
        started = time.perf_counter()
        try:
            work()
            sender.send(time.perf_counter() - started)
        except BaseException as exc:  # reported to the parent, which fails the test
            sender.send(f"{type(exc).__name__}: {str(exc)[:300]}")
        finally:
            os._exit(0)

    process = context.Process(target=child)
    process.start()
    ready = receiver.poll(GIVE_UP)
    if not ready:
        process.kill()
        process.join()
        pytest.fail(f"still running after {GIVE_UP:.0f} s")
    outcome = receiver.recv()
    process.join()
    if isinstance(outcome, str):
        pytest.fail(outcome)
    return outcome


def _atom(field: str, value: str) -> bytes:
    entry = {"title": "A title", "summary": "An abstract.", "creator": "A. Author"} | {field: value}
    return (
        '<feed xmlns="http://www.w3.org/2005/Atom" xmlns:dc="http://purl.org/dc/elements/1.1/">'
        "<entry><id>http://arxiv.org/abs/2401.00001v1</id>"
        f"<title>{escape(entry['title'])}</title><summary>{escape(entry['summary'])}</summary>"
        f"<dc:creator>{escape(entry['creator'])}</dc:creator></entry></feed>"
    ).encode()


def _api(field: str, value: str) -> bytes:
    paper = {"id": "2401.00001", "title": "A title", "summary": "An abstract.", "authors": []}
    if field == "authors":
        paper["authors"] = [{"name": value}]
    else:
        paper[field] = value
    return json.dumps([{"paper": paper}]).encode()


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("limit", [MAX_ABSTRACT, 2 * MB], ids=["abstract-limit", "no-limit"])
def test_a_megabyte_of_hostile_text_is_cleaned_in_well_under_a_second(shape, limit):
    value = SHAPES[shape]
    seconds = _seconds(lambda: clean_text(value, limit=limit))
    print(f"clean_text {shape} limit={limit}: {seconds:.3f} s")
    assert seconds < BOUND


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize(
    "parse",
    [
        *(
            pytest.param(lambda v, f=f: arxiv.parse(_atom(f, v), name="x"), id=f"arxiv-{f}")
            for f in ("title", "summary", "creator")
        ),
        *(
            pytest.param(lambda v, f=f: hf_json.parse(_api(f, v), name="x"), id=f"api-{f}")
            for f in ("title", "summary", "authors")
        ),
    ],
)
def test_a_listing_with_a_megabyte_of_hostile_text_in_one_field_is_parsed_quickly(shape, parse):
    value = SHAPES[shape]
    seconds = _seconds(lambda: _parse_or_refuse(parse, value))
    print(f"parse {shape}: {seconds:.3f} s")
    assert seconds < BOUND


def _parse_or_refuse(parse: Callable[[str], object], value: str) -> None:
    # Refusing the input is as good an answer as reading it.
    with contextlib.suppress(SourceError):
        parse(value)


def test_a_character_reference_with_thousands_of_digits_is_a_replacement_character():
    raw = "Max &#" + "9" * 5000 + "; and &#x" + "F" * 5000 + "!"
    assert clean_text(raw, limit=MAX_ABSTRACT) == "Max \ufffd and \ufffd!"
    assert clean_text("&#65; &#x42; &#0000067;", limit=100) == "A B C"


def test_an_api_summary_with_a_huge_character_reference_still_gives_its_paper():
    listing = hf_json.parse(_api("summary", "Bound &#" + "1" * 5000 + ";"), name="api")
    assert listing.records[0].abstract == "Bound \ufffd"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("a<!-- hidden -->b<SCRIPT type=x>evil()</script >c<style>p {}</STYLE>d", "a b c d"),
        ("<script>one</script>kept<script>two</script>", "kept"),
        ("a <!-- never closed <b>bold</b>", "a <!-- never closed bold"),
        ("<script>alert(1) and the rest", "alert(1) and the rest"),
        ("<!-- <script> -->shown</script>", "shown"),
        ('<a title="x>y" href=/p>link</a>', "link"),
        ("<b$ and $x > y$", "<b$ and $x > y$"),
    ],
)
def test_comments_scripts_and_styles_go_with_their_content(raw, expected):
    assert clean_text(raw, limit=500) == expected


def test_a_long_field_is_cut_to_its_limit_whatever_its_markup():
    raw = "<b>word</b> " * 100_000
    cleaned = clean_text(raw, limit=1000)
    assert len(cleaned) == 1000 and cleaned.startswith("word word") and cleaned.endswith("…")


def test_an_old_rss_title_loses_its_arxiv_suffix_only_at_the_end():
    feed = _atom("title", "Attention (arXiv:1 is) all   (arXiv:2101.00001v1 [cs.LG] UPDATED)  ")
    assert arxiv.parse(feed, name="x").records[0].title == "Attention (arXiv:1 is) all"
