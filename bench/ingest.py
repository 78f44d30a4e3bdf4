"""Benchmark: parse and store a 1,000-paper listing on a fresh SQLite database, then again.

Run by hand: ``DEBUG=1 .venv/bin/python bench/ingest.py``. Target on SQLite: the first ingest
within 2 s, the repeat within 1 s. The listing is the 100-entry arXiv API fixture repeated ten
times under fresh ids and titles, so every record is a distinct, fully populated paper.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = ROOT / "tests" / "data" / "arxiv" / "api_query_100_entries.atom.xml"
COPIES = 10


def build_listing() -> bytes:
    text = FIXTURE.read_text(encoding="utf-8")
    head, rest = text.split("<entry>", 1)
    entries = re.findall(r"<entry>.*?</entry>", "<entry>" + rest, flags=re.DOTALL)
    out = []
    for copy in range(COPIES):
        for number, entry in enumerate(entries):
            new_id = f"29{copy:02d}.{number:05d}"
            entry = re.sub(r"(arxiv\.org/(?:abs|pdf)/)[^<\"]+", rf"\g<1>{new_id}v1", entry)
            entry = re.sub(r"</title>", f" (copy {copy})</title>", entry, count=1)
            out.append(entry)
    return (head + "\n".join(out) + "\n</feed>\n").encode()


def main() -> None:
    var = tempfile.mkdtemp(prefix="dpd-bench-")
    os.environ["VAR_DIR"] = var
    os.environ.pop("DATABASE_URL", None)
    os.environ.setdefault("DEBUG", "1")
    os.environ["DJANGO_SETTINGS_MODULE"] = "newsletter.settings"
    sys.path.insert(0, str(ROOT))

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    try:
        call_command("migrate", verbosity=0)
        run(raw=build_listing())
    finally:
        connection.close()
        shutil.rmtree(var, ignore_errors=True)


def run(*, raw: bytes) -> None:
    import django
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from newsletter.papers.ingest import listing_ingest
    from newsletter.papers.models import Paper
    from newsletter.papers.sources import parse_listing

    started = time.perf_counter()
    listing = parse_listing(raw, name="bench.xml", today=django.utils.timezone.now().date())
    parse_only = time.perf_counter() - started
    papers = len(listing.records)
    print(f"listing: {papers} papers, {len(raw) / 1e6:.1f} MB; parse alone {parse_only:.3f} s")
    for label in ("first ingest", "repeat ingest"):
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            result = listing_ingest(data=raw, name="bench.xml")
            elapsed = time.perf_counter() - started
        print(
            f"{label}: {elapsed:.3f} s, {papers / elapsed:,.0f} papers/s, "
            f"{len(queries.captured_queries)} SQL queries ({result.line()})"
        )
    print(f"papers stored: {Paper.objects.count()} (fresh SQLite database, removed afterwards)")


if __name__ == "__main__":
    main()
