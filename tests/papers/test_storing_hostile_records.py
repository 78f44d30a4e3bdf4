"""Whatever a parser lets through can be stored on SQLite and PostgreSQL, once."""

from __future__ import annotations

import json
import threading
from datetime import date

import pytest
from django.db import connection
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from newsletter.papers.ingest import listing_ingest, papers_upsert
from newsletter.papers.models import Paper
from newsletter.papers.sources import SourceError, hf_json

from .conftest import data

DAY = date(2024, 1, 1)

hostile_text = st.text(
    st.characters(codec="utf-8", categories=["L", "N", "P", "S", "Z", "Cc", "Cf", "M"]),
    max_size=60,
) | st.sampled_from(["", "\x00", "a\u0000b", "<b>x</b>", "&amp;&#0;", "\u202e", "x" * 5000, "?!"])
items = st.lists(
    st.fixed_dictionaries(
        {
            "paper": st.fixed_dictionaries(
                {
                    "id": st.one_of(
                        st.sampled_from(["2401.00001", "2401.00002v3", "hep-th/9901001", ""]),
                        st.text(max_size=40),
                    ),
                    "title": hostile_text,
                    "summary": hostile_text,
                    "authors": st.lists(st.fixed_dictionaries({"name": hostile_text}), max_size=4),
                    "upvotes": st.one_of(st.none(), st.integers(-5, 2**40)),
                    "ai_keywords": st.lists(hostile_text, max_size=3),
                    "githubRepo": st.one_of(
                        st.none(), hostile_text, st.just("https://github.com/a/b")
                    ),
                }
            ),
            "thumbnail": hostile_text,
            "publishedAt": st.sampled_from(
                ["2024-10-25T00:57:09.392Z", "0001-01-01", "garbage", ""]
            ),
        }
    ),
    max_size=6,
)


@pytest.mark.django_db
@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(value=items)
def test_parsed_records_store_cleanly_and_a_second_store_changes_nothing(value):
    try:
        listing = hf_json.parse(json.dumps(value).encode(), name="input")
    except SourceError:
        return
    papers_upsert(records=listing.records, origin="prop", listing_date=listing.listing_date or DAY)
    before = list(Paper.objects.order_by("pk").values_list())
    again = papers_upsert(
        records=listing.records, origin="prop", listing_date=listing.listing_date or DAY
    )
    assert (again.new, again.updated) == (0, 0)
    assert list(Paper.objects.order_by("pk").values_list()) == before


@pytest.mark.django_db(transaction=True)
def test_concurrent_ingests_of_the_same_listing_store_each_paper_once():
    raw = data("arxiv/api_query_100_entries.atom.xml")
    results, errors = [], []
    barrier = threading.Barrier(4)

    def work(n: int) -> None:
        try:
            barrier.wait()
            results.append(listing_ingest(data=raw, name=f"copy-{n}.xml", origin="same"))
        except Exception as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert Paper.objects.count() == 100
    assert sum(result.counts.new for result in results) == 100
