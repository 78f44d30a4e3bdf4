"""Parsers: bytes in, records out, or SourceError naming the input (and the record)."""

from __future__ import annotations

import json
import re
from datetime import date

import pytest

from newsletter.papers.sources import (
    SourceError,
    arxiv,
    detect_format,
    hf_html,
    hf_json,
    normalize_title,
    parse_listing,
    text,
)
from newsletter.papers.sources.base import arxiv_id_normalize, clean_text, iso_date

from .conftest import LISTINGS, data
from .feeds import atom_feed, rss_feed

TODAY = date(2026, 11, 24)


def parse(raw: bytes, name: str = "input", **kwargs):
    return parse_listing(raw, name=name, today=TODAY, **kwargs)


# --- Hugging Face page. ---


def test_it_reads_the_13_papers_of_the_daily_papers_page_from_its_data_props():
    listing = hf_html.parse(data("hf/daily_papers_page_2024-08-01.html"), name="page")
    assert len(listing.records) == 13
    assert listing.problems == []
    assert listing.listing_date == date(2024, 8, 1)
    llama = listing.records[0]
    assert llama.arxiv_id == "2407.21783"
    assert llama.title == "The Llama 3 Herd of Models"
    assert llama.upvotes == 94
    assert llama.author_count == len(llama.authors) > 500
    assert llama.abstract.startswith("Modern artificial intelligence (AI) systems")
    assert "\n" not in llama.abstract
    assert llama.hf_url == "https://huggingface.co/papers/2407.21783"
    assert llama.abs_url == "https://arxiv.org/abs/2407.21783"
    assert llama.published == date(2024, 7, 31)


def test_it_falls_back_to_the_article_cards_when_the_page_has_no_data_props():
    page = data("hf/daily_papers_page_2024-08-01.html").decode()
    page = page.replace('data-target="DailyPapers"', 'data-target="Something"')
    listing = hf_html.parse(page.encode(), name="page")
    assert len(listing.records) == 13
    first = listing.records[0]
    assert (first.arxiv_id, first.title, first.upvotes) == (
        "2407.21783",
        "The Llama 3 Herd of Models",
        94,
    )
    assert first.thumbnail_url.endswith("/papers/2407.21783.png")


def test_it_reads_the_newer_fields_of_a_paper_page():
    listing = hf_html.parse(data("hf/paper_page_2509.24002.html"), name="paper page")
    [paper] = listing.records
    assert paper.arxiv_id == "2509.24002"
    assert (
        paper.title == "MCPMark: A Benchmark for Stress-Testing Realistic and Comprehensive MCP Use"
    )
    assert paper.code_url == "https://github.com/eval-sys/mcpmark"
    assert paper.project_url == "https://mcpmark.ai/"
    assert paper.ai_summary.startswith("MCPMark is a comprehensive benchmark")
    assert "CRUD operations" in paper.ai_keywords
    # LaTeX and escapes are kept as written.
    assert "52.56\\% pass@1" in paper.abstract


def test_a_page_without_papers_is_refused_naming_it():
    with pytest.raises(SourceError, match=r"^some\.html: .*not a Hugging Face papers page"):
        hf_html.parse(b"<html><body><p>Hello</p></body></html>", name="some.html")


# --- Hugging Face API. ---


def test_it_reads_the_api_items_and_normalises_hard_line_breaks():
    listing = hf_json.parse(data("hf/api_daily_papers_2024-10-25.json"), name="api")
    assert len(listing.records) == 4
    assert listing.listing_date == date(2024, 10, 25)
    first = listing.records[0]
    assert (
        first.title
        == "Breaking the Memory Barrier: Near Infinite Batch Size Scaling for Contrastive Loss"
    )
    assert (
        "larger batch sizes enhance performance by providing more negative samples to better"
        in first.abstract
    )
    assert (
        first.thumbnail_url
        == "https://cdn-thumbnails.huggingface.co/social-thumbnails/papers/2410.17243.png"
    )
    assert first.upvotes == 64
    assert first.authors[:2] == ("Zesen Cheng", "Hang Zhang")


def test_a_partly_broken_api_response_keeps_the_good_items_and_names_the_bad_ones():
    items = json.loads(data("hf/api_daily_papers_2024-10-25.json"))
    items.insert(1, "not an object")
    items[3]["paper"]["title"] = items[3]["title"] = ""
    listing = hf_json.parse(json.dumps(items).encode(), name="api.json")
    assert len(listing.records) == 3
    assert [str(p) for p in listing.problems] == [
        "api.json: record 2: item is not an object",
        "api.json: record 4: paper has no title",
    ]


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b'[{"paper": {"id": "2410.17243", "title": "Cut', "invalid JSON"),
        (b'{"error": "Invalid date"}', "not a list of daily papers"),
        (b"[" * 100_000, "invalid JSON"),
        (b"[1, 2, 3]", "none of the 3 items"),
    ],
)
def test_bad_json_is_refused_with_a_clear_error(raw, message):
    with pytest.raises(SourceError, match=f"^api.json: .*{message}"):
        hf_json.parse(raw, name="api.json")


def test_an_empty_day_on_the_api_is_zero_papers():
    assert hf_json.parse(b"[]", name="api").records == []


# --- arXiv. ---


@pytest.mark.parametrize(
    ("fixture", "count"),
    [
        ("api_query_100_entries.atom.xml", 100),
        ("api_query_10_entries.atom.xml", 10),
        ("api_2016_format_10_entries.atom.xml", 10),
        ("api_2016_format_id_list.atom.xml", 1),
        ("api_id_list_one_valid.atom.xml", 1),
        ("api_old_style_id.atom.xml", 1),
        ("api_empty_result.atom.xml", 0),
    ],
)
def test_arxiv_api_responses_give_the_papers_they_contain(fixture, count):
    listing = arxiv.parse(data(f"arxiv/{fixture}"), name=fixture)
    assert len(listing.records) == count
    assert listing.problems == []


def test_an_arxiv_entry_keeps_id_without_version_categories_primary_first_and_links():
    listing = arxiv.parse(data("arxiv/api_query_10_entries.atom.xml"), name="api")
    first = listing.records[0]
    assert first.arxiv_id == "2202.12139"
    assert first.categories == ("cs.SE", "cs.LG")
    assert first.authors == ("Mohit Kumar Ahuja", "Arnaud Gotlieb", "Helge Spieker")
    assert first.published == date(2022, 2, 24)
    assert first.abs_url == "https://arxiv.org/abs/2202.12139"
    assert first.pdf_url == "https://arxiv.org/pdf/2202.12139"


def test_an_old_style_arxiv_id_is_kept_whole():
    [paper] = arxiv.parse(data("arxiv/api_old_style_id.atom.xml"), name="api").records
    assert paper.arxiv_id == "astro-ph/0601001"
    assert paper.categories == ("astro-ph",)
    assert "V_max<17.5" in paper.abstract  # entity decoded, comparison kept


def test_the_arxiv_error_feed_is_an_error_not_zero_papers():
    with pytest.raises(
        SourceError, match=r"^err\.xml: arXiv API error: incorrect id format for abc$"
    ):
        arxiv.parse(data("arxiv/api_error_400.atom.xml"), name="err.xml")


@pytest.mark.parametrize("build", [rss_feed, atom_feed])
def test_arxiv_listing_feeds_give_their_papers_without_the_announce_prefix(build):
    feed = build(data("arxiv/api_query_10_entries.atom.xml"))
    listing = parse(feed, name="feed")
    assert listing.format == "arxiv"
    assert len(listing.records) == 10
    first = listing.records[0]
    assert first.arxiv_id == "2202.12139"
    assert first.abstract.startswith("Deep Learning (DL) has revolutionized")
    assert first.authors == ("Mohit Kumar Ahuja", "Arnaud Gotlieb", "Helge Spieker")
    assert first.categories == ("cs.SE", "cs.LG")
    assert listing.listing_date == date(2025, 10, 20)


def test_xml_with_entity_declarations_is_refused():
    bomb = b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">]><feed>&lol;</feed>'
    with pytest.raises(SourceError, match="DOCTYPE"):
        arxiv.parse(bomb, name="bomb.xml")


def test_a_truncated_feed_is_refused_naming_it():
    raw = data("arxiv/api_query_10_entries.atom.xml")
    with pytest.raises(SourceError, match=r"^cut\.xml: not well-formed XML"):
        arxiv.parse(raw[: len(raw) // 2], name="cut.xml")


# --- Text captures. ---


def test_layout_a_gives_its_64_papers_with_counts_dates_and_upvotes():
    listing = text.parse(
        (LISTINGS / "000_6fe003334612920c.txt").read_bytes(), name="a", today=TODAY
    )
    assert len(listing.records) == 64
    assert listing.listing_date == date(2026, 11, 10)  # "Nov 10": latest year not in the future
    first = listing.records[0]
    assert (
        first.title
        == "Piecewise-Velocity Model for Learning Continuous-time Dynamic Node Representations"
    )
    assert first.author_count == 3
    assert first.published == date(2022, 12, 23)
    by_title = {r.title: r for r in listing.records}
    diffusion = by_title["The Principles of Diffusion Models"]
    assert (diffusion.published, diffusion.upvotes) == (date(2026, 10, 23), 3)  # "Oct 23 3"
    hallucinations = by_title[
        "Understanding Hallucinations in Diffusion Models through Mode Interpolation"
    ]
    assert (hallucinations.published, hallucinations.upvotes) == (date(2024, 6, 13), 1)


def test_a_listing_date_in_the_future_this_year_takes_last_year():
    capture = (
        "byAK and the research community\n\nDec 30\n\n"
        "A Title\n\nAn abstract.\n\n  • 2 authors\n·\nDec 29\n"
    )
    listing = text.parse(capture.encode(), name="t", today=date(2026, 1, 5))
    assert listing.listing_date == date(2025, 12, 30)
    assert listing.records[0].published == date(2025, 12, 29)


def test_date_option_overrides_the_listing_date_and_sets_the_year_of_paper_dates():
    raw = (LISTINGS / "003_699aaad9f8861ff2.txt").read_bytes()
    listing = parse(raw, listing_date=date(2025, 11, 3))
    assert listing.listing_date == date(2025, 11, 3)
    by_title = {r.title: r for r in listing.records}
    assert by_title["World Modeling with Probabilistic Structure Integration"].published == date(
        2025, 9, 10
    )


def test_layout_b_pairs_titles_with_full_abstracts():
    listing = text.parse(
        (LISTINGS / "001_a381271d1475ca1a.txt").read_bytes(), name="b", today=TODAY
    )
    assert len(listing.records) == 186
    assert listing.listing_date is None
    assert (
        listing.records[0].title
        == "Empowering Low-Light Image Enhancer through Customized Learnable Priors"
    )
    assert listing.records[-1].abstract.endswith("https://github.com/Rajhans0/Poly_INR")


def test_a_cut_off_capture_keeps_the_good_papers_and_reports_the_last_one():
    raw = (LISTINGS / "000_6fe003334612920c.txt").read_bytes()
    cut = raw[: raw.index(b"Replica symmetry breaking") + 200]
    listing = text.parse(cut, name="cut.txt", today=TODAY)
    assert len(listing.records) == 50
    assert [str(p) for p in listing.problems] == [
        "cut.txt: record 51: incomplete paper at the end (cut off?)"
    ]


def test_a_misaligned_layout_b_capture_reports_the_stray_paragraph_and_resynchronises():
    lines = (LISTINGS / "001_a381271d1475ca1a.txt").read_text().split("\n")
    del lines[4]  # the second paper's title: its abstract now stands where a title belongs
    listing = text.parse("\n".join(lines).encode(), name="b.txt", today=TODAY)
    assert len(listing.records) == 185
    assert str(listing.problems[0]) == "b.txt: record 2: a paragraph where a title was expected"


# --- Detection and refusal of what is not a listing. ---


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("hf/daily_papers_page_2024-08-01.html", "hf-html"),
        ("hf/api_daily_papers_2024-10-25.json", "hf-json"),
        ("arxiv/api_query_10_entries.atom.xml", "arxiv"),
        ("listings/000_6fe003334612920c.txt", "text"),
        ("listings/001_a381271d1475ca1a.txt", "text"),
    ],
)
def test_the_format_is_detected_from_the_content(path, expected):
    assert detect_format(data(path), name=path) == expected


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"", "empty input"),
        (b"   \n\t ", "empty input"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary data"),
        ("Daily papers, but Latin-1: caf\xe9".encode("latin-1"), "not UTF-8 text"),
        (b"Just some notes about papers.\nNothing else.\n", "not a daily papers listing"),
        (
            b"<svg xmlns='http://www.w3.org/2000/svg'></svg>",
            "markup that is neither a feed nor an HTML page",
        ),
    ],
)
def test_inputs_that_are_not_listings_are_refused_naming_the_input(raw, message):
    with pytest.raises(SourceError, match=f"^notes.txt: {message}"):
        parse(raw, name="notes.txt")


def test_fifty_megabytes_of_garbage_are_refused_before_parsing():
    garbage = b"\xde\xad\xbe\xef" * (50 * 1024 * 1024 // 4)
    with pytest.raises(SourceError, match=r"^junk.bin: too large \(52,428,800 bytes"):
        parse(garbage, name="junk.bin")


def test_format_option_forces_a_parser():
    with pytest.raises(SourceError, match="invalid JSON"):
        parse(data("listings/000_6fe003334612920c.txt"), format="hf-json")


# --- Cleaning and keys. ---


def test_untrusted_text_is_made_plain_but_latex_is_kept():
    raw = (
        "  <b>Fast</b> &amp; <i>exact</i>\n\tbounds for $a<b$ and $x > y$"
        "<script>alert(1)</script>\u202e\x07 "
    )
    assert clean_text(raw, limit=200) == "Fast & exact bounds for $a<b$ and $x > y$"
    assert clean_text("x" * 50, limit=10) == "x" * 9 + "…"


def test_titles_that_differ_only_in_case_punctuation_spacing_or_unicode_form_share_a_key():
    assert normalize_title("What's in a Prior?  Learned ﬁelds") == normalize_title(
        "what s in a prior learned fields"
    )
    assert normalize_title("Schrödinger") == normalize_title("Schro\u0308dinger")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("http://arxiv.org/abs/2202.12139v1", "2202.12139"),
        ("oai:arXiv.org:2510.14999v2", "2510.14999"),
        ("2410.17243", "2410.17243"),
        ("http://arxiv.org/abs/astro-ph/0601001v1", "astro-ph/0601001"),
        ("https://arxiv.org/api/errors#incorrect_id_format_for_abc", ""),
        ("12345.678901", ""),
    ],
)
def test_arxiv_ids_are_read_without_version(value, expected):
    assert arxiv_id_normalize(value) == expected


def test_a_paper_missing_its_separator_or_date_does_not_swallow_the_next_one():
    raw = (LISTINGS / "003_699aaad9f8861ff2.txt").read_text()
    raw = raw.replace("  • 3 authors\n·\nApr 15, 2023\n", "  • 3 authors\n", 1)
    raw = raw.replace("·\nMar 7, 2019\n", "", 1)
    listing = text.parse(raw.encode(), name="t", today=TODAY)
    assert len(listing.records) == 51
    first, second = listing.records[:2]
    assert (first.author_count, first.published) == (3, None)
    assert second.title.startswith("Self-Tuning Networks")
    assert "Pointer Networks" not in second.abstract
    assert listing.records[2].title == "Pointer Networks"
    assert second.author_count == 5


# --- Found in review. ---


@pytest.mark.parametrize(
    "raw",
    [
        b"Meeting notes\n\nWe discussed the budget.\n\n\xc2\xb7\n\nAction items\n\nBuy milk.\n",
        b"abcdef \n\xc2\xb7\n" * 2000,
    ],
    ids=["meeting-notes", "junk"],
)
def test_a_text_with_a_lone_middle_dot_line_is_not_a_listing(raw):
    with pytest.raises(SourceError, match=r"^notes\.txt: not a daily papers listing"):
        parse(raw, name="notes.txt")


def test_a_capture_without_its_header_is_still_read_from_its_paper_footers():
    raw = (LISTINGS / "003_699aaad9f8861ff2.txt").read_text()
    body = raw.split("byAK and the research community", 1)[1]
    listing = parse(body.encode(), name="t")
    assert len(listing.records) == 51


@pytest.mark.parametrize(
    ("raw", "first_problem"),
    [
        (
            b"Get trending papers in your email inbox!\n" + b"x" * 500 + b"\n",
            "a paragraph where a title was expected",
        ),
        (
            (
                "byAK and the research community\n\nNov 10\n\n" + "x" * 500 + "\n• 2 authors\n·\n"
            ).encode(),
            "paper without a usable title",
        ),
    ],
    ids=["layout-b", "layout-a"],
)
def test_a_text_listing_whose_papers_are_all_refused_is_an_error_quoting_the_first(
    raw, first_problem
):
    with pytest.raises(SourceError, match=rf"^bad\.txt: none of the 1 papers.*{first_problem}"):
        parse(raw, name="bad.txt")


def test_an_arxiv_feed_whose_entries_are_all_refused_is_an_error_quoting_the_first():
    bad = data("arxiv/api_query_10_entries.atom.xml").decode()
    bad = re.sub(r"<id>http://arxiv.org/abs/[^<]*</id>", "<id>nothing</id>", bad)
    bad = re.sub(r'<link[^>]*href="https?://arxiv.org/(abs|pdf)/[^"]*"[^>]*/>', "", bad)
    with pytest.raises(SourceError, match=r"^q\.xml: none of the 10 entries.*no arXiv id"):
        arxiv.parse(bad.encode(), name="q.xml")
    assert arxiv.parse(data("arxiv/api_empty_result.atom.xml"), name="e.xml").records == []


def test_a_listing_date_header_with_a_year_is_the_listing_date_not_a_paper():
    capture = (
        "byAK and the research community\n\nJun 13, 2024\n\n"
        "A Title\n\nAn abstract.\n\n  • 2 authors\n·\nJun 12\n"
    )
    listing = text.parse(capture.encode(), name="t", today=TODAY)
    assert listing.listing_date == date(2024, 6, 13)
    assert [r.title for r in listing.records] == ["A Title"]
    assert listing.records[0].published == date(2024, 6, 12)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Bounds for $0<t \\leq T$ and $s>0$", "Bounds for $0<t \\leq T$ and $s>0$"),
        ("A model that emits <search> tokens", "A model that emits <search> tokens"),
        ("An <Environment> and a <slack> variable", "An <Environment> and a <slack> variable"),
        ("$a<b \\leq c$ and $d>e$", "$a<b \\leq c$ and $d>e$"),
        ('<a href="https://x.org">Link</a> and <em class=x>it</em><br/>', "Link and it"),
        ("<P>One</P><DIV>Two</DIV>", "One Two"),
        ("<style>p { color: red }</style>Kept", "Kept"),
        ("&lt;b&gt;Bold&lt;/b&gt; as written", "<b>Bold</b> as written"),
    ],
)
def test_only_real_html_is_stripped_and_other_angle_brackets_are_kept(raw, expected):
    assert clean_text(raw, limit=500) == expected


def test_a_json_title_with_escaped_markup_keeps_it_as_written():
    item = json.loads(data("hf/api_daily_papers_2024-10-25.json"))[0]
    item["paper"]["title"] = "Why &lt;b&gt; is not <b>bold</b> for $0<t \\leq T$ and $s>0$"
    listing = hf_json.parse(json.dumps([item]).encode(), name="api")
    assert listing.records[0].title == "Why <b> is not bold for $0<t \\leq T$ and $s>0$"


@pytest.mark.parametrize("value", ["0001-01-01 junk", "0999-12-31x", "9999-01-01 later"])
def test_implausible_dates_are_dropped_even_when_the_timestamp_is_malformed(value):
    assert iso_date(value) is None


def test_a_malformed_timestamp_with_a_plausible_date_still_gives_the_date():
    assert iso_date("2024-10-22 at noon") == date(2024, 10, 22)


def test_the_article_card_fallback_takes_the_listing_date_from_the_page():
    page = data("hf/daily_papers_page_2024-08-01.html").decode()
    page = page.replace('data-target="DailyPapers"', 'data-target="Something"')
    assert hf_html.parse(page.encode(), name="page").listing_date == date(2024, 8, 1)
    canonical = page.replace(
        '<meta property="og:url" content="https://huggingface.co/papers" />',
        '<link rel="canonical" href="https://huggingface.co/papers?date=2024-07-30" />',
    )
    assert hf_html.parse(canonical.encode(), name="page").listing_date == date(2024, 7, 30)


def test_a_page_whose_embedded_items_are_all_refused_is_an_error_quoting_the_first():
    props = json.dumps({"dailyPapers": [{"paper": {"id": "2401.00001"}}, 3]})
    page = f"<html><div data-target='DailyPapers' data-props='{props}'></div></html>"
    with pytest.raises(SourceError, match=r"^p\.html: none of the 2 items.*paper has no title"):
        hf_html.parse(page.encode(), name="p.html")


INVISIBLE = (
    "\u061c\u200b\u200c\u200d\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)


def test_invisible_and_bidirectional_controls_are_stripped_from_titles_authors_and_keywords():
    item = json.loads(data("hf/api_daily_papers_2024-10-25.json"))[0]
    item["paper"]["title"] = f"Safe{INVISIBLE}Title \u202eevil\u202c"
    item["paper"]["authors"] = [{"name": f"Ada\u200b Love{INVISIBLE}lace"}]
    item["paper"]["ai_keywords"] = ["\u2067key\u2069word\u061c"]
    record = parse(json.dumps([item]).encode(), name="api.json").records[0]
    assert record.title == "SafeTitle evil"
    assert record.authors == ("Ada Lovelace",)
    assert record.ai_keywords == ("keyword",)
