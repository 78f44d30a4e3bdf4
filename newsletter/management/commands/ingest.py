"""``manage.py ingest PATH_OR_URL...``: store the papers of listing files, directories and URLs."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from newsletter import http
from newsletter.ingest import listing_ingest, sources_ingest
from newsletter.models import IngestRun
from newsletter.sources import FORMATS, SourceError


class Command(BaseCommand):
    help = (
        "Ingest daily paper listings (Hugging Face page or API JSON, arXiv Atom/RSS, text "
        "captures) from files, directories and URLs, or with --sources every enabled Source "
        "(what the daily beat entry runs). Prints '<input>: N new, M updated, K unchanged' per "
        "input; fails naming any input that is not a listing."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("inputs", nargs="*", metavar="PATH_OR_URL")
        parser.add_argument(
            "--sources",
            action="store_true",
            help="Also fetch every enabled Source (admin: Sources) for --date, default today.",
        )
        parser.add_argument("--format", default="auto", choices=["auto", *FORMATS])
        parser.add_argument(
            "--date",
            type=_iso_date,
            help="Listing date (YYYY-MM-DD) for every input; default: the date the listing shows, "
            "else today.",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="Parse and count, but store nothing."
        )

    def handle(self, *args, **options) -> None:
        if not options["inputs"] and not options["sources"]:
            raise CommandError("Give at least one PATH_OR_URL, or --sources.")
        failures = self._ingest_inputs(options)
        if options["sources"]:
            failures += self._ingest_sources(options)
        if failures:
            raise CommandError(
                f"{len(failures)} input(s) not ingested: " + "; ".join(failures)[:2000]
            )

    def _ingest_inputs(self, options: dict) -> list[str]:
        failures: list[str] = []
        for name in _expand(options["inputs"]):
            try:
                data = _read(name)
                result = listing_ingest(
                    data=data,
                    name=name,
                    format=options["format"],
                    listing_date=options["date"],
                    dry_run=options["dry_run"],
                )
            except SourceError as exc:
                failures.append(str(exc))
                self.stderr.write(f"{exc}")
                continue
            self.stdout.write(result.line())
            for problem in result.refused:
                self.stderr.write(f"refused {problem}")
        return failures

    def _ingest_sources(self, options: dict) -> list[str]:
        day = options["date"] or timezone.now().date()
        failures: list[str] = []
        for run in sources_ingest(day=day, dry_run=options["dry_run"]):
            name = run.source.name
            if run.status == IngestRun.Status.FAILED:
                failures.append(f"{name}: {run.error}")
                self.stderr.write(f"{name}: {run.error}")
            elif run.status == IngestRun.Status.NOT_MODIFIED:
                self.stdout.write(f"{name}: not modified since the last run")
            else:
                self.stdout.write(
                    f"{name}: {run.new_count} new, {run.updated_count} updated, "
                    f"{run.unchanged_count} unchanged"
                )
                if run.error:
                    self.stderr.write(run.error)
        return failures


def _iso_date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"--date must be YYYY-MM-DD, got {value!r}") from None


def _expand(inputs: list[str]) -> list[str]:
    """Directories become their (non-hidden) files, sorted; URLs and files stay as given."""
    names: list[str] = []
    for item in inputs:
        path = Path(item)
        if "://" not in item and path.is_dir():
            names += [
                str(child)
                for child in sorted(path.iterdir())
                if child.is_file() and not child.name.startswith(".")
            ]
        else:
            names.append(item)
    return names


def _read(name: str) -> bytes:
    if name.startswith(("http://", "https://")):
        result = http.http_get(name)
        return result.content or b""
    if "://" in name:
        raise SourceError("only http(s) URLs and files can be ingested", input_name=name)
    path = Path(name)
    if not path.is_file():
        raise SourceError("no such file", input_name=name)
    size = path.stat().st_size
    if size > settings.INGEST_MAX_BYTES:
        raise SourceError(
            f"too large ({size:,} bytes; the limit is {settings.INGEST_MAX_BYTES:,})",
            input_name=name,
        )
    try:
        return path.read_bytes()
    except OSError as exc:
        raise SourceError(f"cannot read: {exc.strerror}", input_name=name) from None
