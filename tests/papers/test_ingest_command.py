"""`manage.py ingest`: the acceptance checks of issue 3."""

from __future__ import annotations

import os
import re
import shutil
from datetime import date, datetime, timedelta
from io import StringIO

import pytest
import time_machine
from django.core.management import CommandError, call_command

from newsletter.lib import days
from newsletter.papers.models import IngestRun, ListingEntry, Paper, Source

from .conftest import DATA, LISTINGS, Reply
from .feeds import atom_feed

pytestmark = pytest.mark.django_db


def after_run_start(day: date) -> datetime:
    """Half an hour into the run of ``day``, when ``day`` is the current listing day."""
    return days.run_start(day=day) + timedelta(minutes=30)


def ingest(*args: str) -> tuple[list[str], str]:
    out, err = StringIO(), StringIO()
    call_command("ingest", *args, stdout=out, stderr=err)
    return out.getvalue().splitlines(), err.getvalue()


def counts(lines: list[str]) -> list[tuple[int, int, int]]:
    parsed = []
    for line in lines:
        new, updated, unchanged = line.rsplit(": ", 1)[1].split(", ")
        parsed.append((int(new.split()[0]), int(updated.split()[0]), int(unchanged.split()[0])))
    return parsed


@time_machine.travel("2026-11-24 12:00Z", tick=False)
def test_the_three_captures_hold_290_distinct_papers_and_a_second_run_adds_none():
    lines, err = ingest(str(LISTINGS))
    assert [line.split(": ")[0] for line in lines] == [str(p) for p in sorted(LISTINGS.iterdir())]
    assert sum(new for new, _, _ in counts(lines)) == 290
    assert Paper.objects.count() == 290
    assert err == ""
    again, _ = ingest(str(LISTINGS))
    assert [new for new, _, _ in counts(again)] == [0, 0, 0]
    assert [updated for _, updated, _ in counts(again)] == [0, 0, 0]
    assert Paper.objects.count() == 290


@pytest.mark.parametrize(
    ("path", "papers", "day"),
    [
        ("hf/daily_papers_page_2024-08-01.html", 13, "2024-08-01"),
        ("hf/api_daily_papers_2024-10-25.json", 4, "2024-10-25"),
        ("hf/paper_page_2509.24002.html", 1, "2025-10-01"),
        ("arxiv/api_query_100_entries.atom.xml", 100, "2026-04-12"),
        ("arxiv/api_2016_format_10_entries.atom.xml", 10, "2016-10-09"),
        ("arxiv/api_old_style_id.atom.xml", 1, "2026-05-11"),
        ("arxiv/api_empty_result.atom.xml", 0, "2026-04-12"),
    ],
)
def test_each_fixture_gives_the_papers_it_contains_once_under_the_day_it_shows(path, papers, day):
    lines, _ = ingest(str(DATA / path))
    assert lines == [f"{DATA / path}: {papers} new, 0 updated, 0 unchanged (listing day {day})"]
    again, _ = ingest(str(DATA / path))
    assert again == [f"{DATA / path}: 0 new, 0 updated, {papers} unchanged (listing day {day})"]
    assert Paper.objects.count() == papers


def test_an_input_that_is_not_a_listing_fails_naming_it_and_nothing_is_lost(tmp_path):
    ingest(str(DATA / "hf/api_daily_papers_2024-10-25.json"))
    before = list(Paper.objects.values_list())
    notes = tmp_path / "notes.txt"
    notes.write_text("Shopping list: milk, eggs.\n")
    with pytest.raises(CommandError, match=r"notes.txt: not a daily papers listing"):
        ingest(str(notes))
    with pytest.raises(CommandError, match=r"api_error_400.atom.xml: arXiv API error"):
        ingest(str(DATA / "arxiv/api_error_400.atom.xml"))
    with pytest.raises(CommandError, match=r"missing.json: no such file"):
        ingest(str(tmp_path / "missing.json"))
    assert list(Paper.objects.values_list()) == before


def test_good_inputs_are_stored_even_when_another_input_is_refused(tmp_path):
    folder = tmp_path / "mixed"
    folder.mkdir()
    shutil.copy(DATA / "hf/api_daily_papers_2024-10-25.json", folder / "a.json")
    (folder / "b.bin").write_bytes(b"\x00\x01\x02garbage")
    out, err = StringIO(), StringIO()
    with pytest.raises(CommandError, match="1 input"):
        call_command("ingest", str(folder), stdout=out, stderr=err)
    assert (
        out.getvalue()
        == f"{folder / 'a.json'}: 4 new, 0 updated, 0 unchanged (listing day 2024-10-25)\n"
    )
    assert "b.bin: binary data" in err.getvalue()
    assert Paper.objects.count() == 4


def test_date_and_dry_run_options():
    lines, _ = ingest(
        str(DATA / "hf/api_daily_papers_2024-10-25.json"), "--date", "2024-10-26", "--dry-run"
    )
    assert counts(lines) == [(4, 0, 0)]
    assert lines[0].endswith("(listing day 2024-10-26)")
    assert Paper.objects.count() == 0
    ingest(str(DATA / "hf/api_daily_papers_2024-10-25.json"), "--date", "2024-10-26")
    assert set(ListingEntry.objects.values_list("listing_date", flat=True)) == {
        __import__("datetime").date(2024, 10, 26)
    }


def test_format_option_forces_the_parser():
    with pytest.raises(CommandError, match="invalid JSON"):
        ingest(str(LISTINGS / "000_6fe003334612920c.txt"), "--format", "hf-json")


def test_a_bad_date_is_refused():
    with pytest.raises(CommandError, match="YYYY-MM-DD"):
        ingest(str(LISTINGS), "--date", "10 Nov")


def test_it_ingests_a_url_through_the_http_seam(transport):
    url = "https://huggingface.co/api/daily_papers?date=2024-10-25"
    transport.add(url, Reply(body=(DATA / "hf/api_daily_papers_2024-10-25.json").read_bytes()))
    lines, _ = ingest(url)
    assert lines == [f"{url}: 4 new, 0 updated, 0 unchanged (listing day 2024-10-25)"]
    assert transport.requests[0].headers["User-Agent"].startswith("DailyPapersDigest/")


def test_fifty_megabytes_of_garbage_are_refused_without_reading_them(tmp_path):
    junk = tmp_path / "junk.txt"
    with junk.open("wb") as handle:
        handle.truncate(50 * 1024 * 1024)
    with pytest.raises(CommandError, match=r"junk\.txt: too large \(52,428,800 bytes"):
        ingest(str(junk))
    assert Paper.objects.count() == 0


def test_sources_option_runs_every_enabled_source_like_the_daily_job(transport, settings):
    settings.INGEST_HTTP_RETRIES = 0
    Source.objects.exclude(name__in=["arXiv cs.LG", "arXiv cs.CL"]).update(enabled=False)
    feed = atom_feed((DATA / "arxiv/api_query_10_entries.atom.xml").read_bytes())
    transport.add("https://rss.arxiv.org/atom/cs.LG", Reply(body=feed))
    transport.add("https://rss.arxiv.org/atom/cs.CL", Reply(status=500))
    out, err = StringIO(), StringIO()
    with (
        time_machine.travel(after_run_start(date(2025, 10, 20))),
        pytest.raises(
            CommandError, match=re.escape("arXiv cs.CL: https://rss.arxiv.org/atom/cs.CL: HTTP 500")
        ),
    ):
        call_command(
            "ingest", "--sources", "--date", "2025-10-20", "--dry-run", stdout=out, stderr=err
        )
    assert out.getvalue() == "arXiv cs.LG: 10 new, 0 updated, 0 unchanged\n"
    assert (Paper.objects.count(), IngestRun.objects.count()) == (0, 0)
    transport.add("https://rss.arxiv.org/atom/cs.CL", Reply(body=feed))
    with time_machine.travel(after_run_start(date(2025, 10, 20))):
        lines, _ = ingest("--sources", "--date", "2025-10-20")
    assert lines == [
        "arXiv cs.CL: 10 new, 0 updated, 0 unchanged",
        "arXiv cs.LG: 0 new, 0 updated, 10 unchanged",
    ]
    assert IngestRun.objects.filter(status="ok").count() == 2


def test_sources_for_a_past_day_say_why_a_feed_of_today_is_not_used(transport):
    Source.objects.exclude(name="arXiv cs.LG").update(enabled=False)
    with time_machine.travel(after_run_start(date(2025, 10, 25))):
        lines, _ = ingest("--sources", "--date", "2025-10-20")
    assert lines == [
        "arXiv cs.LG: skipped for 2025-10-20: its feed shows only the current announcement, so "
        "a past day cannot be fetched from it"
    ]
    assert IngestRun.objects.count() == 0


def test_it_asks_for_inputs_or_sources():
    with pytest.raises(CommandError, match="PATH_OR_URL, or --sources"):
        ingest()


@time_machine.travel("2026-11-24 12:00Z", tick=False)
def test_a_dry_run_prints_what_a_real_run_would_and_stores_nothing():
    dry, _ = ingest(str(LISTINGS), "--dry-run")
    assert (Paper.objects.count(), ListingEntry.objects.count(), IngestRun.objects.count()) == (
        0,
        0,
        0,
    )
    real, _ = ingest(str(LISTINGS))
    assert dry == real
    assert sum(new for new, _, _ in counts(real)) == 290


def test_a_file_name_that_is_not_utf8_is_ingested_under_a_printable_name(tmp_path):
    folder = tmp_path / "odd"
    folder.mkdir()
    odd = os.path.join(os.fsencode(folder), b"caf\xe9.json")
    with open(odd, "wb") as handle:
        handle.write((DATA / "hf/api_daily_papers_2024-10-25.json").read_bytes())
    shutil.copy(DATA / "arxiv/api_old_style_id.atom.xml", folder / "z.xml")
    lines, err = ingest(str(folder))
    assert lines == [
        f"{folder}/caf\ufffd.json: 4 new, 0 updated, 0 unchanged (listing day 2024-10-25)",
        f"{folder}/z.xml: 1 new, 0 updated, 0 unchanged (listing day 2026-05-11)",
    ]
    assert err == ""
    assert set(ListingEntry.objects.values_list("origin", flat=True)) == {"caf\ufffd.json", "z.xml"}


def test_an_unexpected_error_fails_that_input_and_the_others_are_still_ingested(
    tmp_path, monkeypatch
):
    from newsletter.papers.management.commands import ingest as command

    folder = tmp_path / "two"
    folder.mkdir()
    shutil.copy(DATA / "hf/api_daily_papers_2024-10-25.json", folder / "a.json")
    shutil.copy(DATA / "arxiv/api_old_style_id.atom.xml", folder / "b.xml")
    real = command.listing_ingest

    def flaky(**kwargs):
        if kwargs["name"].endswith("a.json"):
            raise RuntimeError("disk on fire")
        return real(**kwargs)

    monkeypatch.setattr(command, "listing_ingest", flaky)
    out, err = StringIO(), StringIO()
    with pytest.raises(CommandError, match=r"1 input\(s\) not ingested: .*a\.json: unexpected"):
        call_command("ingest", str(folder), stdout=out, stderr=err)
    assert (
        out.getvalue()
        == f"{folder / 'b.xml'}: 1 new, 0 updated, 0 unchanged (listing day 2026-05-11)\n"
    )
    assert "a.json: unexpected RuntimeError: disk on fire" in err.getvalue()
    assert Paper.objects.count() == 1


def test_an_empty_directory_is_an_error_naming_it(tmp_path):
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / ".hidden").write_text("x")
    with pytest.raises(CommandError, match=r"empty: no files in directory"):
        ingest(str(tmp_path / "empty"))


def test_sources_for_a_future_day_are_refused_and_nothing_is_fetched(transport):
    with pytest.raises(CommandError, match="is a future listing day"):
        ingest("--sources", "--date", "2099-01-05")
    assert IngestRun.objects.count() == 0
