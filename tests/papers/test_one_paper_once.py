"""One paper is stored once, however a listing writes its title or its arXiv id."""

import io
import json
from datetime import date

import pytest
from django.core.management import call_command

from newsletter.papers.ingest import listing_ingest
from newsletter.papers.models import ListingEntry, Paper
from newsletter.papers.sources import normalize_title
from tests.helpers import ROOT

pytestmark = pytest.mark.django_db
LISTINGS = ROOT / "tests/data/listings"
TODAY = date(2026, 11, 24)
CAPTURED = (
    "LightHGNN: Distilling Hypergraph Neural Networks into MLPs for 100times Faster Inference"
)


def arxiv_entry(arxiv_id: str, title: str) -> bytes:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xmlns:arxiv="http://arxiv.org/schemas/atom">
  <title>arXiv Query</title>
  <entry>
    <id>http://arxiv.org/abs/{arxiv_id}v2</id>
    <published>2024-02-07T03:33:07Z</published>
    <title>{title}</title>
    <summary>Hypergraph Neural Networks (HGNNs) have recently attracted much attention.</summary>
    <author><name>Yifan Feng</name></author>
    <arxiv:primary_category term="cs.LG"/>
    <category term="cs.LG"/>
  </entry>
</feed>""".encode()


@pytest.mark.parametrize(
    "rendered",
    [
        "LightHGNN: Distilling Hypergraph Neural Networks into MLPs for $100\\times$ Faster Inference",
        "LightHGNN: Distilling Hypergraph Neural Networks into MLPs for 100× Faster Inference",
        "LightHGNN: Distilling Hypergraph Neural Networks into MLPs for 100 times faster inference",
    ],
)
def test_a_title_rendered_another_way_has_the_captures_key(rendered):
    assert normalize_title(rendered) == normalize_title(CAPTURED)


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("$\\alpha$-Flow: Learning", "α-Flow: Learning"),
        ("\\textbf{Bold} Claims", "Bold claims"),
        ('Schr\\"odinger Bridges', "Schrödinger Bridges"),
        ("Scaling $x^{2}$ Laws \\& Friends", "Scaling x2 Laws & Friends"),
    ],
)
def test_latex_and_its_rendering_share_a_key(one, other):
    assert normalize_title(one) == normalize_title(other)


def test_different_titles_keep_different_keys():
    assert normalize_title("Attention Is All You Need") != normalize_title("Attention Is Not All")
    assert normalize_title("???") != normalize_title("!!!")


def test_the_captures_store_their_papers_once_and_an_arxiv_record_joins_the_title_only_paper():
    call_command("ingest", str(LISTINGS), "--date", "2026-11-24", stdout=io.StringIO())
    assert Paper.objects.count() == 290
    captured = Paper.objects.get(title=CAPTURED)
    assert captured.arxiv_id is None
    result = listing_ingest(
        data=arxiv_entry(
            "2402.04296",
            "LightHGNN: Distilling Hypergraph Neural Networks into MLPs for $100\\times$ "
            "Faster Inference",
        ),
        name="api.xml",
        today=TODAY,
    )
    assert (result.counts.new, result.counts.updated) == (0, 1)
    assert Paper.objects.count() == 290
    captured.refresh_from_db()
    assert captured.arxiv_id == "2402.04296"
    assert captured.abs_url == "https://arxiv.org/abs/2402.04296"
    assert ListingEntry.objects.filter(paper=captured).count() == 2


def test_an_id_written_another_way_finds_the_stored_paper():
    hf_item = {
        "paper": {
            "id": "2402.04296",
            "title": "LightHGNN",
            "summary": "s",
            "authors": [],
            "publishedAt": "2024-02-07T00:00:00.000Z",
        },
        "publishedAt": "2024-02-08T00:00:00.000Z",
    }
    listing_ingest(data=json.dumps([hf_item]).encode(), name="hf.json", today=TODAY)
    listing_ingest(data=arxiv_entry("2402.04296", "LightHGNN"), name="api.xml", today=TODAY)
    assert Paper.objects.get().arxiv_id == "2402.04296"
