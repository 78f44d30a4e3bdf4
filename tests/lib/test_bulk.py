"""Many new rows at once: PostgreSQL's COPY (or bulk_create elsewhere) stores exactly the values."""

from __future__ import annotations

from datetime import date

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from newsletter.digests.models import Digest, DigestItem
from newsletter.lib.bulk import values_insert
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
    rows = [
        (digest.pk, p.pk, "pick", n, n / 3, [r])
        for n, (p, r) in enumerate(zip(papers, AWKWARD, strict=True), start=1)
    ]
    with CaptureQueriesContext(connection) as queries:
        values_insert(DigestItem, ["digest", "paper", "section", "rank", "score", "reasons"], rows)
    assert len(queries) == 1
    stored = list(digest.items.order_by("rank").values_list("paper_id", "rank", "score", "reasons"))
    assert stored == [
        (p.pk, n, pytest.approx(n / 3), [r])
        for n, (p, r) in enumerate(zip(papers, AWKWARD, strict=True), start=1)
    ]


def test_plain_value_rows_share_json_objects_and_are_stored_as_given():
    subscriber = Subscriber.objects.create(email="values@example.com")
    digest = Digest.objects.create(subscriber=subscriber, day=date(2026, 2, 3))
    papers = [paper_make(n, f"Paper {n}", "Abstract.", ["cs.LG"]) for n in range(1, 5)]
    shared = [AWKWARD[0]]  # one list object for several rows, written out once
    rows = [
        (digest.pk, papers[0].pk, DigestItem.Section.PICK, 1, 0.5, shared),
        (digest.pk, papers[1].pk, "pick", 2, 0.25, shared),
        (digest.pk, papers[2].pk, "pick", 3, 0.125, AWKWARD[1:]),
        (digest.pk, papers[3].pk, DigestItem.Section.TRENDING, 1, 0.0, []),
    ]
    with CaptureQueriesContext(connection) as queries:
        values_insert(DigestItem, ["digest", "paper", "section", "rank", "score", "reasons"], rows)
    assert len(queries) == 1
    stored = list(
        digest.items.order_by("paper_id").values_list(
            "paper_id", "section", "rank", "score", "reasons"
        )
    )
    assert stored == [
        (paper, str(section), rank, score, reasons)
        for _, paper, section, rank, score, reasons in rows
    ]
