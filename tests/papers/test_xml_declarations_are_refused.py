"""No XML entity is ever expanded into a stored paper, in whatever encoding a feed comes."""

from __future__ import annotations

from datetime import date

import pytest

from newsletter.papers.daily import source_ingest
from newsletter.papers.models import Paper, Source
from newsletter.papers.sources import SourceError, arxiv, parse_listing

from .conftest import Reply

ENTRY = (
    '<feed xmlns="http://www.w3.org/2005/Atom"><entry>'
    "<id>http://arxiv.org/abs/2401.00001v1</id><title>{title}</title>"
    "<summary>An abstract.</summary></entry></feed>"
)
FEED_URL = "https://rss.arxiv.org/atom/cs.LG"
TODAY = date(2026, 11, 24)


def _feed(encoding: str, *, doctype: str = "", title: str = "A title") -> bytes:
    """A feed declaring ``encoding``; "utf-16be" means UTF-16 big-endian with its byte order mark."""
    declared = "utf-16" if encoding == "utf-16be" else encoding
    text = f'<?xml version="1.0" encoding="{declared}"?>' + doctype + ENTRY.format(title=title)
    if encoding == "utf-16be":
        return b"\xfe\xff" + text.encode("utf-16-be")
    return text.encode(encoding)  # Python's "utf-16" writes little-endian with the mark


INTERNAL = '<!DOCTYPE feed [<!ENTITY injected "INJECTED">]>'
EXTERNAL = '<!DOCTYPE feed [<!ENTITY injected SYSTEM "file:///etc/passwd">]>'


@pytest.mark.parametrize("encoding", ["utf-8", "utf-16", "utf-16be"])
@pytest.mark.parametrize("doctype", [INTERNAL, EXTERNAL], ids=["internal", "external"])
def test_a_feed_declaring_an_entity_is_refused_in_any_encoding(encoding, doctype):
    feed = _feed(encoding, doctype=doctype, title="&injected;")
    with pytest.raises(SourceError, match=r"^f\.xml: XML with a DOCTYPE or entity declaration"):
        arxiv.parse(feed, name="f.xml")


def test_a_billion_laughs_feed_in_utf16_is_refused_before_any_expansion():
    laughs = "".join(f'<!ENTITY lol{n} "{("&lol" + str(n - 1) + ";") * 10}">' for n in range(1, 10))
    feed = _feed(
        "utf-16", doctype=f'<!DOCTYPE feed [<!ENTITY lol0 "lol">{laughs}]>', title="&lol9;"
    )
    with pytest.raises(SourceError, match="DOCTYPE"):
        arxiv.parse(feed, name="f.xml")


def test_a_feed_in_an_encoding_the_parser_cannot_read_is_refused():
    feed = _feed("utf-32", doctype=INTERNAL, title="&injected;")
    with pytest.raises(SourceError, match=r"^f\.xml: not well-formed XML"):
        arxiv.parse(feed, name="f.xml")


def test_a_utf16_feed_without_declarations_is_read():
    listing = arxiv.parse(_feed("utf-16", title="Caf\u00e9 models"), name="f.xml")
    assert [(r.arxiv_id, r.title) for r in listing.records] == [("2401.00001", "Café models")]


def test_a_utf16_feed_with_an_entity_is_never_stored_whatever_the_format_option():
    feed = _feed("utf-16", doctype=INTERNAL, title="&injected;")
    for chosen in ("auto", "arxiv"):
        with pytest.raises(SourceError):
            parse_listing(feed, name="f.xml", format=chosen, today=TODAY)


@pytest.mark.django_db
def test_an_arxiv_source_serving_a_utf16_entity_fails_its_run_and_stores_nothing(transport):
    transport.add(FEED_URL, Reply(body=_feed("utf-16", doctype=INTERNAL, title="&injected;")))
    source = Source.objects.get(name="arXiv cs.LG")
    run = source_ingest(source_id=source.pk, day=TODAY)
    assert run.status == "failed" and "DOCTYPE" in run.error
    assert not Paper.objects.filter(title__contains="INJECTED").exists()
