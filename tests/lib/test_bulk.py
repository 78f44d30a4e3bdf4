"""Many new rows at once: PostgreSQL's COPY (or bulk_create elsewhere) stores exactly the values."""

from __future__ import annotations

from datetime import date

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from newsletter.digests.models import Digest, DigestItem
from newsletter.lib.bulk import rows_insert
from subscriptions.models import Subscriber
from tests.matching.conftest import paper_make

pytestmark = pytest.mark.django_db

AWKWARD = [
    {"label": 'say "hi"\\ \t tab\nnew line', "spans": [{"field": "title", "start": 0, "end": 3}]},
    {"label": "\u00e9t\u00e9 \u2014 \U0001f916", "text": None, "n": 1.5, "ok": True},
    {"label": "\\N looks like COPY's null, | and , and \\.", "empty": []},
]


def test_rows_with_awkward_json_and_text_are_stored_exactly_in_one_statement():
    subscriber = Subscriber.objects.create(email="bulk@example.com")
    digest = Digest.objects.create(subscriber=subscriber, day=date(2026, 2, 2))
    papers = [paper_make(n, f"Paper {n}", "Abstract.", ["cs.LG"]) for n in range(1, 4)]
    items = [
        DigestItem(digest=digest, paper=p, section="pick", rank=n, score=n / 3, reasons=[r])
        for n, (p, r) in enumerate(zip(papers, AWKWARD, strict=True), start=1)
    ]
    with CaptureQueriesContext(connection) as queries:
        rows_insert(DigestItem, items, ["digest", "paper", "section", "rank", "score", "reasons"])
    assert len(queries) == 1
    stored = list(digest.items.order_by("rank").values_list("paper_id", "rank", "score", "reasons"))
    assert stored == [
        (p.pk, n, pytest.approx(n / 3), [r])
        for n, (p, r) in enumerate(zip(papers, AWKWARD, strict=True), start=1)
    ]
