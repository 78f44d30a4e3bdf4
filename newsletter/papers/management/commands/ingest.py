"""``manage.py ingest PATH_OR_URL...``: store the papers of listing files, directories and URLs."""

from __future__ import annotations

import logging
import unicodedata
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from newsletter.lib import days
from newsletter.lib.commands import date_option
from newsletter.papers import daily, http
from newsletter.papers.ingest import listing_ingest
from newsletter.papers.models import IngestRun, Source
from newsletter.papers.sources import FORMATS, SourceError

logger = logging.getLogger(__name__)


class Command(BaseCommand):
    help = (
        "Ingest daily paper listings (Hugging Face page or API JSON, arXiv Atom/RSS, text "
        "captures) from files, directories and URLs, or with --sources every enabled Source "
        "(what the daily beat entry runs). Prints '<input>: N new, M updated, K unchanged "
        "(listing day YYYY-MM-DD)' per input; fails naming any input that is not a listing."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("inputs", nargs="*", metavar="PATH_OR_URL")
        parser.add_argument(
            "--sources",
            action="store_true",
            help="Also run the daily ingest of every enabled Source (admin: Sources) for --date, "
            "default the current listing day, with the days a dated Source still owes: what the beat task runs.",
        )
        parser.add_argument("--format", default="auto", choices=["auto", *FORMATS])
        parser.add_argument(
            "--date",
            help="Listing date (YYYY-MM-DD) for every input; default: the date the listing shows, "
            "else the current listing day (the one the daily run is on).",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="Parse and count, but store nothing."
        )

    def handle(self, *args, **options) -> None:
        if not options["inputs"] and not options["sources"]:
            raise CommandError("Give at least one PATH_OR_URL, or --sources.")
        # Parsed here, not by argparse: a CommandError from a type= function is a traceback.
        options["date"] = date_option(options["date"]) if options["date"] else None
        self._day = options["date"] or days.listing_day_now()
        if options["sources"] and (problem := days.listing_day_problem(day=self._day)):
            raise CommandError(problem)
        # Everything is read or fetched first, outside any transaction: a slow upstream never
        # holds the database's write lock. Only storing is transactional.
        inputs = self._read_inputs(options)
        fetched = self._fetch_sources(options) if options["sources"] else []
        if options["dry_run"]:
            # One transaction for all the storing, undone at the end: each input sees what the
            # inputs before it would have stored, so every line is the line a real run prints.
            with transaction.atomic():
                failures = self._store_all(inputs, fetched, options)
                transaction.set_rollback(True)
        else:
            failures = self._store_all(inputs, fetched, options)
        if failures:
            raise CommandError(
                f"{len(failures)} input(s) not ingested: " + "; ".join(failures)[:2000]
            )

    def _read_inputs(self, options: dict) -> list[tuple[str, bytes | SourceError]]:
        """(printable name, its bytes or why it cannot be read) for every file and URL given."""
        read: list[tuple[str, bytes | SourceError]] = []
        for item in options["inputs"]:
            try:
                paths = _expand(item)
            except SourceError as exc:
                read.append((printable(item), exc))
                continue
            for path in paths:
                name = printable(path)
                try:
                    read.append((name, _read(path, name=name)))
                except SourceError as exc:
                    read.append((name, exc))
        return read

    def _fetch_sources(self, options: dict) -> list[daily.Fetched]:
        plan = daily.sources_due(day=self._day)
        for name, why in plan.skipped:
            self.stdout.write(f"{name}: {why}")
        sources = Source.objects.in_bulk({source_id for source_id, _ in plan.due})
        return [
            daily.source_fetch(
                source=sources[source_id], day=day, conditional=not options["dry_run"]
            )
            for source_id, day in plan.due
        ]

    def _store_all(
        self,
        inputs: list[tuple[str, bytes | SourceError]],
        fetched: list[daily.Fetched],
        options: dict,
    ) -> list[str]:
        failures: list[str] = []
        for name, data in inputs:
            if failure := self._ingest_one(name, data, options):
                failures.append(failure)
                self.stderr.write(failure)
        for item in fetched:
            failures += self._store_source(item)
        return failures

    def _ingest_one(self, name: str, data: bytes | SourceError, options: dict) -> str | None:
        """Ingest one file or URL and print its line; the failure message, if it failed."""
        if isinstance(data, SourceError):
            return str(data)
        try:
            result = listing_ingest(
                data=data,
                name=name,
                format=options["format"],
                listing_date=options["date"],
                dry_run=False,  # a dry run is rolled back as a whole by handle()
            )
        except SourceError as exc:
            return str(exc)
        except Exception as exc:
            # One input's bug never stops the others; the command still fails at the end.
            logger.exception("ingest %s failed", name)
            return f"{name}: unexpected {type(exc).__name__}: {str(exc)[:500]}"
        self.stdout.write(result.line())
        for problem in result.refused:
            self.stderr.write(f"refused {problem}")
        return None

    def _store_source(self, fetched: daily.Fetched) -> list[str]:
        name = fetched.source.name
        label = name if fetched.day == self._day else f"{name} ({fetched.day})"
        run = IngestRun(
            source=fetched.source,
            format=fetched.source.format,
            listing_date=fetched.day,
            started_at=fetched.started_at,
        )
        try:
            run.save()  # a dry run: rolled back as a whole by handle()
            daily.source_store(fetched=fetched, run=run)
        except Exception as exc:
            logger.exception("storing %s failed", name)
            return [f"{label}: unexpected {type(exc).__name__}: {str(exc)[:500]}"]
        if run.status == IngestRun.Status.FAILED:
            self.stderr.write(f"{label}: {run.error}")
            return [f"{label}: {run.error}"]
        if run.status == IngestRun.Status.NOT_MODIFIED:
            self.stdout.write(f"{label}: not modified since the last run")
        else:
            self.stdout.write(
                f"{label}: {run.new_count} new, {run.updated_count} updated, "
                f"{run.unchanged_count} unchanged"
            )
            if run.error:
                self.stderr.write(run.error)
        return []


def printable(name: str) -> str:
    """``name`` safe to store and print: bytes that are not UTF-8 (a file name such as
    b"caf\\xe9.txt" arrives as a lone surrogate) become U+FFFD, control characters "?"."""
    try:
        raw = name.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        raw = name.encode("utf-8", "replace")
    text = raw.decode("utf-8", "replace")
    return "".join("?" if unicodedata.category(ch) == "Cc" else ch for ch in text)


def _expand(item: str) -> list[str]:
    """A directory becomes its (non-hidden) files, sorted; URLs and files stay as given."""
    path = Path(item)
    if "://" in item or not path.is_dir():
        return [item]
    names = [
        str(child)
        for child in sorted(path.iterdir())
        if child.is_file() and not child.name.startswith(".")
    ]
    if not names:
        raise SourceError("no files in directory", input_name=printable(item))
    return names


def _read(path: str, *, name: str) -> bytes:
    """The bytes of a file or URL; errors name the input as ``name`` (its printable form)."""
    if path.startswith(("http://", "https://")):
        result = http.http_get(path)
        return result.content or b""
    if "://" in path:
        raise SourceError("only http(s) URLs and files can be ingested", input_name=name)
    file = Path(path)
    if not file.is_file():
        raise SourceError("no such file", input_name=name)
    size = file.stat().st_size
    if size > settings.INGEST_MAX_BYTES:
        raise SourceError(
            f"too large ({size:,} bytes; the limit is {settings.INGEST_MAX_BYTES:,})",
            input_name=name,
        )
    try:
        return file.read_bytes()
    except OSError as exc:
        raise SourceError(f"cannot read: {exc.strerror}", input_name=name) from None
