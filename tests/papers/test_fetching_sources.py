"""Fetching Sources: retries, conditional requests, paging, failures recorded per source."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta

import pytest
import requests
import time_machine
from django.core.exceptions import ValidationError
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from newsletter.lib import days
from newsletter.papers import tasks
from newsletter.papers.daily import source_ingest, sources_ingest
from newsletter.papers.http import FetchError, http_get
from newsletter.papers.models import IngestRun, Paper, Source

from .conftest import Reply, data
from .feeds import atom_feed

pytestmark = pytest.mark.django_db
DAY = date(2024, 10, 25)
HF_PAGE0 = "https://huggingface.co/api/daily_papers?date=2024-10-25&p=0&limit=100"
HF_PAGE1 = "https://huggingface.co/api/daily_papers?date=2024-10-25&p=1&limit=100"
CS_LG = "https://rss.arxiv.org/atom/cs.LG"


def after_run_start(day: date) -> datetime:
    """Half an hour into the run of ``day``, when ``day`` is the current listing day."""
    return days.run_start(day=day) + timedelta(minutes=30)


def arxiv_feed() -> bytes:
    return atom_feed(data("arxiv/api_query_10_entries.atom.xml"))


def test_the_migration_creates_the_default_sources_and_a_daily_beat_entry():
    assert sorted(Source.objects.values_list("name", flat=True)) == [
        "Hugging Face daily papers (API)",
        "arXiv cs.AI",
        "arXiv cs.CL",
        "arXiv cs.CV",
        "arXiv cs.LG",
        "arXiv stat.ML",
    ]
    entry = PeriodicTask.objects.get(task="newsletter.ingest_all_sources")
    # The daily run starts the ingest now (digests migration 0003): the old entry stays, disabled.
    assert not entry.enabled and entry.crontab is not None
    assert (entry.crontab.minute, entry.crontab.hour, entry.crontab.day_of_week) == ("0", "23", "*")


def test_a_source_is_fetched_with_conditional_requests_after_the_first_time(transport):
    transport.add(
        CS_LG,
        Reply(
            body=arxiv_feed(),
            headers={"ETag": '"v1"', "Last-Modified": "Mon, 20 Oct 2025 04:00:02 GMT"},
        ),
        Reply(status=304),
    )
    source = Source.objects.get(name="arXiv cs.LG")
    first = source_ingest(source_id=source.pk, day=DAY)
    assert (first.status, first.new_count) == ("ok", 10)
    second = source_ingest(source_id=source.pk, day=DAY)
    assert second.status == "not_modified"
    sent = transport.requests[1].headers
    assert (sent["If-None-Match"], sent["If-Modified-Since"]) == (
        '"v1"',
        "Mon, 20 Oct 2025 04:00:02 GMT",
    )
    assert Paper.objects.count() == 10
    assert set(Paper.objects.values_list("listings__origin", flat=True)) == {"arXiv cs.LG"}


def test_the_hugging_face_api_is_read_page_by_page(transport):
    item = json.loads(data("hf/api_daily_papers_2024-10-25.json"))[0]
    page0 = []
    for n in range(100):
        clone = json.loads(json.dumps(item))
        clone["paper"]["id"] = f"2410.{10000 + n}"
        clone["paper"]["title"] = f"Paper number {n}"
        page0.append(clone)
    transport.add(HF_PAGE0, Reply(body=json.dumps(page0).encode()))
    transport.add(HF_PAGE1, Reply(body=data("hf/api_daily_papers_2024-10-25.json")))
    source = Source.objects.get(format="hf-json")
    run = source_ingest(source_id=source.pk, day=DAY)
    assert (run.status, run.new_count) == ("ok", 104)
    assert [r.url for r in transport.requests] == [HF_PAGE0, HF_PAGE1]


def hundred_items() -> bytes:
    item = json.loads(data("hf/api_daily_papers_2024-10-25.json"))[0]
    page = []
    for n in range(100):
        clone = json.loads(json.dumps(item))
        clone["paper"]["id"] = f"2410.{10000 + n}"
        clone["paper"]["title"] = f"Paper number {n}"
        page.append(clone)
    return json.dumps(page).encode()


@pytest.mark.parametrize(
    ("reply", "problem"),
    [
        (Reply(body=b'[{"paper": '), f"{HF_PAGE1}: invalid JSON"),
        (Reply(status=404), f"{HF_PAGE1}: HTTP 404"),
        (Reply(status=503), f"{HF_PAGE1}: HTTP 503 after 1 attempts"),
    ],
    ids=["bad-json", "client-error", "server-error"],
)
def test_a_bad_later_page_keeps_the_good_pages_and_the_run_is_partial(
    transport, settings, reply, problem
):
    settings.INGEST_HTTP_RETRIES = 0
    transport.add(HF_PAGE0, Reply(body=hundred_items(), headers={"ETag": '"p0"'}))
    transport.add(HF_PAGE1, reply)
    source = Source.objects.get(format="hf-json")
    run = source_ingest(source_id=source.pk, day=DAY)
    assert (run.status, run.new_count, run.refused_count) == ("partial", 100, 1)
    assert run.error.startswith(problem)
    assert Paper.objects.count() == 100
    # The next run asks again instead of trusting a cached first page.
    source.refresh_from_db()
    assert source.etag == ""


def test_a_bad_first_page_fails_the_run(transport):
    transport.add(HF_PAGE0, Reply(body=b"not json"))
    run = source_ingest(source_id=Source.objects.get(format="hf-json").pk, day=DAY)
    assert run.status == "failed"
    assert run.error.startswith(f"{HF_PAGE0}: invalid JSON")
    assert Paper.objects.count() == 0


def test_timeouts_429_and_5xx_are_retried_with_backoff(transport, settings):
    settings.INGEST_HTTP_RETRIES = 3
    transport.add(
        CS_LG,
        Reply(error=requests.Timeout),
        Reply(status=429, headers={"Retry-After": "0"}),
        Reply(status=503),
        Reply(body=arxiv_feed()),
    )
    result = http_get(CS_LG)
    assert result.content == arxiv_feed()
    assert len(transport.requests) == 4


def test_a_client_error_is_not_retried(transport):
    transport.add(CS_LG, Reply(status=404))
    with pytest.raises(FetchError, match=f"^{CS_LG}: HTTP 404$") as caught:
        http_get(CS_LG)
    assert not caught.value.transient
    assert len(transport.requests) == 1


def test_a_response_over_the_size_limit_is_refused(transport, settings):
    settings.INGEST_MAX_BYTES = 1024
    transport.add(CS_LG, Reply(body=b"x" * 5000))
    with pytest.raises(FetchError, match="larger than 1,024 bytes"):
        http_get(CS_LG)


def test_one_failing_source_never_stops_the_others_and_its_run_says_why(transport, settings):
    settings.INGEST_HTTP_RETRIES = 1
    Source.objects.exclude(
        name__in=["arXiv cs.LG", "arXiv cs.CL", "Hugging Face daily papers (API)"]
    ).update(enabled=False)
    transport.add(CS_LG, Reply(status=502))
    transport.add(
        "https://rss.arxiv.org/atom/cs.CL", Reply(body=data("arxiv/api_error_400.atom.xml"))
    )
    transport.add(HF_PAGE0, Reply(body=data("hf/api_daily_papers_2024-10-25.json")))
    with time_machine.travel(after_run_start(DAY)):
        _, runs = sources_ingest(day=DAY)
    runs = {run.source.name: run for run in runs}
    assert runs["arXiv cs.LG"].status == "failed"
    assert runs["arXiv cs.LG"].error == f"{CS_LG}: HTTP 502 after 2 attempts"
    assert runs["arXiv cs.CL"].status == "failed"
    assert "arXiv API error: incorrect id format for abc" in runs["arXiv cs.CL"].error
    assert (
        runs["Hugging Face daily papers (API)"].status,
        runs["Hugging Face daily papers (API)"].new_count,
    ) == ("ok", 4)
    assert Paper.objects.count() == 4


def test_the_source_task_takes_an_id_and_an_iso_date(transport):
    transport.add(CS_LG, Reply(body=arxiv_feed()))
    source = Source.objects.get(name="arXiv cs.LG")
    tasks.ingest_source.apply(args=[source.pk, "2025-10-20"]).get()
    run = IngestRun.objects.get(source=source)
    assert (run.status, run.listing_date, run.new_count) == ("ok", date(2025, 10, 20), 10)


def test_the_beat_task_fans_out_one_task_per_enabled_source(monkeypatch):
    sent = []
    monkeypatch.setattr(tasks.ingest_source, "delay_on_commit", lambda *args: sent.append(args))
    Source.objects.filter(name="arXiv cs.CV").update(enabled=False)
    hf = Source.objects.get(format="hf-json")
    for day, status in (("2025-10-18", "ok"), ("2025-10-19", "failed")):
        IngestRun.objects.create(
            source=hf,
            listing_date=date.fromisoformat(day),
            status=status,
            started_at=timezone.now(),
        )
    with time_machine.travel(after_run_start(date(2025, 10, 20))):
        ids = tasks.ingest_all_sources.apply(kwargs={"day": "2025-10-20"}).get()
    assert len(ids) == 5
    today = {(pk, "2025-10-20") for pk in ids}
    # The dated HF API source also catches up the day whose run failed; arXiv's feeds cannot.
    assert sorted(sent) == sorted(today | {(hf.pk, "2025-10-19")})


def test_a_source_with_a_broken_url_template_fails_with_a_clear_error(transport):
    source = Source.objects.create(name="Broken", format="arxiv", url_template="https://x/{day}")
    run = source_ingest(source_id=source.pk, day=DAY)
    assert run.status == "failed"
    assert run.error.startswith("Broken: URL template 'https://x/{day}' is invalid")
    with pytest.raises(ValidationError):
        source.full_clean()


def test_a_past_day_is_never_filled_from_a_feed_that_shows_only_today(monkeypatch):
    sent = []
    monkeypatch.setattr(tasks.ingest_source, "delay_on_commit", lambda *args: sent.append(args))
    hf = Source.objects.get(format="hf-json")
    with time_machine.travel(after_run_start(date(2025, 10, 25))):
        ids = tasks.ingest_all_sources.apply(kwargs={"day": "2025-10-20"}).get()
    # Only the dated HF API can be fetched for a past day (and the days it still owes).
    assert ids == [hf.pk]
    assert sorted(sent) == [(hf.pk, "2025-10-18"), (hf.pk, "2025-10-19"), (hf.pk, "2025-10-20")]
