"""Build arXiv listing feeds (RSS 2.0 and Atom, as rss.arxiv.org serves them) from the entries of
a recorded API response: no real listing-feed capture exists, so we write them to the published
format (https://info.arxiv.org/help/rss_specifications.html)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from html import escape

ATOM = "{http://www.w3.org/2005/Atom}"
ARXIV = "{http://arxiv.org/schemas/atom}"


def _entries(api_xml: bytes) -> list[dict]:
    feed = ET.fromstring(api_xml)  # noqa: S314 - our own recorded fixture
    entries = []
    for entry in feed.findall(f"{ATOM}entry"):
        versioned = entry.findtext(f"{ATOM}id").rsplit("/abs/", 1)[1]
        primary = entry.find(f"{ARXIV}primary_category").get("term")
        cats = [primary] + [
            c.get("term") for c in entry.findall(f"{ATOM}category") if c.get("term") != primary
        ]
        entries.append(
            {
                "versioned": versioned,
                "id": versioned.rsplit("v", 1)[0],
                "title": entry.findtext(f"{ATOM}title"),
                "summary": entry.findtext(f"{ATOM}summary"),
                "authors": [a.findtext(f"{ATOM}name") for a in entry.findall(f"{ATOM}author")],
                "categories": cats,
            }
        )
    return entries


def rss_feed(api_xml: bytes, *, category: str = "cs.LG") -> bytes:
    items = []
    for e in _entries(api_xml):
        cats = "".join(f"<category>{escape(c)}</category>" for c in e["categories"])
        items.append(
            f"""<item>
<title>{escape(e["title"])}</title>
<link>https://arxiv.org/abs/{e["id"]}</link>
<description>arXiv:{e["versioned"]} Announce Type: new
Abstract: {escape(e["summary"])}</description>
<guid isPermaLink="false">oai:arXiv.org:{e["versioned"]}</guid>
{cats}
<pubDate>Mon, 20 Oct 2025 00:00:00 -0400</pubDate>
<arxiv:announce_type>new</arxiv:announce_type>
<dc:rights>http://creativecommons.org/licenses/by/4.0/</dc:rights>
<dc:creator>{escape(", ".join(e["authors"]))}</dc:creator>
</item>"""
        )
    return f"""<?xml version='1.0' encoding='UTF-8'?>
<rss xmlns:arxiv="http://arxiv.org/schemas/atom" xmlns:dc="http://purl.org/dc/elements/1.1/"
 xmlns:atom="http://www.w3.org/2005/Atom" xmlns:content="http://purl.org/rss/1.0/modules/content/"
 version="2.0">
<channel>
<title>{category} updates on arXiv.org</title>
<link>http://rss.arxiv.org/rss/{category}</link>
<description>{category} updates on the arXiv.org e-print archive.</description>
<atom:link href="http://rss.arxiv.org/rss/{category}" rel="self" type="application/rss+xml"/>
<docs>http://www.rssboard.org/rss-specification</docs>
<language>en-us</language>
<lastBuildDate>Mon, 20 Oct 2025 04:00:02 +0000</lastBuildDate>
<managingEditor>rss-help@arxiv.org</managingEditor>
<pubDate>Mon, 20 Oct 2025 00:00:00 -0400</pubDate>
<skipDays><day>Saturday</day><day>Sunday</day></skipDays>
{"".join(items)}
</channel>
</rss>""".encode()


def atom_feed(api_xml: bytes, *, category: str = "cs.LG") -> bytes:
    entries = []
    for e in _entries(api_xml):
        cats = "".join(f'<category term="{escape(c)}"/>' for c in e["categories"])
        entries.append(
            f"""<entry>
<id>oai:arXiv.org:{e["versioned"]}</id>
<title>{escape(e["title"])}</title>
<updated>2025-10-20T04:00:00Z</updated>
<link href="https://arxiv.org/abs/{e["id"]}" rel="alternate" type="text/html"/>
<summary>arXiv:{e["versioned"]} Announce Type: new
Abstract: {escape(e["summary"])}</summary>
{cats}
<published>2025-10-20T00:00:00-04:00</published>
<arxiv:announce_type>new</arxiv:announce_type>
<dc:rights>http://creativecommons.org/licenses/by/4.0/</dc:rights>
<dc:creator>{escape(", ".join(e["authors"]))}</dc:creator>
</entry>"""
        )
    return f"""<?xml version='1.0' encoding='UTF-8'?>
<feed xmlns="http://www.w3.org/2005/Atom" xmlns:arxiv="http://arxiv.org/schemas/atom"
 xmlns:dc="http://purl.org/dc/elements/1.1/" xml:lang="en-us">
<id>http://rss.arxiv.org/atom/{category}</id>
<title>{category} updates on arXiv.org</title>
<updated>2025-10-20T04:00:02.000000+00:00</updated>
<link href="http://rss.arxiv.org/atom/{category}" rel="self" type="application/atom+xml"/>
<subtitle>{category} updates on the arXiv.org e-print archive.</subtitle>
{"".join(entries)}
</feed>""".encode()
