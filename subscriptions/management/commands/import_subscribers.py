"""Import subscribers from a CSV file with the columns ``importing.IMPORT_COLUMNS``."""

from __future__ import annotations

import csv
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from subscriptions.importing import IMPORT_COLUMNS, subscribers_import


class Command(BaseCommand):
    help = (
        "Create or update subscribers from a CSV file (topics as slugs; lists separated by ';'). "
        "Idempotent; never resubscribes a suppressed or unsubscribed address."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "file", type=Path, help="CSV with a header row: " + ",".join(IMPORT_COLUMNS)
        )
        parser.add_argument(
            "--confirmed",
            action="store_true",
            help="The addresses already opted in elsewhere: make them active "
            "(consent recorded as 'import'). "
            "Without it new addresses are pending and get a confirmation email.",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="Report what would happen; change nothing."
        )

    def handle(self, *args, file: Path, confirmed: bool, dry_run: bool, **options) -> None:
        try:
            with file.open(newline="", encoding="utf-8-sig") as handle:
                reader = csv.DictReader(handle)
                if reader.fieldnames:
                    reader.fieldnames = [name.strip().lower() for name in reader.fieldnames]
                missing = [c for c in ("email",) if c not in (reader.fieldnames or [])]
                if missing:
                    raise CommandError(
                        f"{file}: the header row must name the columns {','.join(IMPORT_COLUMNS)}"
                    )
                records = [(reader.line_num, row) for row in reader]
        except (OSError, UnicodeDecodeError, csv.Error) as error:
            raise CommandError(f"Cannot read {file}: {error}") from error
        report = subscribers_import(
            records=records, confirmed=confirmed, dry_run=dry_run, note=f"file {file.name}"
        )
        prefix = "Dry run, nothing saved: " if dry_run else ""
        for line, email, reason in report.skipped:
            self.stdout.write(f"skipped line {line} {email}: {reason}")
        self.stdout.write(
            f"{prefix}created {report.created}, updated {report.updated}, "
            f"skipped {len(report.skipped)}"
        )
        if report.to_confirm and not dry_run:
            sent = len(report.to_confirm) - len(report.mail_failed)
            self.stdout.write(f"Confirmation emails queued for {sent} new pending subscriber(s).")
        if report.mail_failed:
            raise CommandError(
                f"{len(report.mail_failed)} confirmation email(s) failed (the subscribers are saved; "
                f"resend from the admin): {', '.join(report.mail_failed)}"
            )
