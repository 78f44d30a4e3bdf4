"""``manage.py run_daily``: run (or replay, or backfill) a listing day by hand, in this process.

The same services as the beat tasks, with the work done here instead of by workers
(``daily.byhand``): the day's ingest (each source once, side by side; ``--no-fetch`` uses only
what is stored), the candidates, and the digest of every subscriber due by ``--now``, each sent
through the delivery ledger (so nothing already sent goes out again). Prints counts per state at
the end, and what it did not do and why.
"""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone
from tqdm import tqdm

from newsletter.daily import byhand
from newsletter.digests.models import Digest
from newsletter.digests.selectors import digest_deliveries_by_state, subscribers_due
from newsletter.lib import days
from newsletter.lib.commands import date_option, moment_option
from newsletter.papers import daily as papers_daily
from newsletter.papers.selectors import papers_listed


def day_and_now(options: dict) -> tuple[date, datetime]:
    """The listing day and the moment ``--date``/``--now`` ask for, or CommandError saying why
    they cannot be run (a future day, one outside the servable range)."""
    real = timezone.now()
    given = moment_option(options["now"]) if options.get("now") else None
    now = given or real
    day = date_option(options["date"]) if options.get("date") else days.listing_day_now(now)
    problem = days.listing_day_problem(day=day, now=max(now, real))
    if problem:
        raise CommandError(problem)
    if given and days.listing_day_problem(day=day, now=now):
        raise CommandError(f"--now {now.isoformat()} is before the run of {day} starts")
    return day, now


class Command(BaseCommand):
    help = "Run a listing day's ingest, matching and sending by hand (no worker needed)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--date", help="Listing day (default: the current one).")
        parser.add_argument("--now", help="Send to everyone due by this time (default: now).")
        parser.add_argument(
            "--no-fetch",
            action="store_true",
            help="Fetch no source: use only the listings already stored (after `ingest FILES`, "
            "or to resend a day).",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="Say what would happen; change and send nothing."
        )
        parser.add_argument("--no-progress", action="store_true", help="No progress bars.")

    def handle(self, *args, **options) -> None:
        day, now = day_and_now(options)
        quiet_bars = options["no_progress"] or options["verbosity"] < 1
        if options["dry_run"]:
            self._dry_run(day, now, fetch=not options["no_fetch"])
            return
        bars = {
            stage: tqdm(total=None, desc=stage, unit=unit, disable=quiet_bars, file=self.stderr)
            for stage, unit in (("ingest", "source"), ("digests", "subscriber"))
        }
        try:
            result = byhand.day_run_by_hand(
                day=day,
                now=now,
                fetch=not options["no_fetch"],
                progress=lambda stage, n: bars[stage].update(n),
            )
        finally:
            for bar in bars.values():
                bar.close()
        self._report(result, now)

    def _report(self, result: byhand.ByHand, now: datetime) -> None:
        run = result.run
        run.refresh_from_db()
        digests = Digest.objects.filter(day=run.day)
        self.stdout.write(f"listing day {run.day}, due by {now.isoformat()}: run {run.state}")
        for failure in result.failed_sources:
            self.stdout.write(f"source failed: {failure}")
        if run.quiet_reason:
            self.stdout.write(f"quiet day: {run.quiet_reason}")
        for line in filter(None, run.notes.splitlines()):
            self.stdout.write(f"note: {line}")
        self.stdout.write(
            f"candidates: {run.candidates or 0}; digests: {digests.count()} "
            f"({digests.filter(papers_count=0).count()} quiet)"
        )
        self.stdout.write("sent by this run: " + _counts(result.sent))
        self.stdout.write(
            "digest emails of the day: " + _counts(digest_deliveries_by_state(day=run.day))
        )
        for line in result.not_done:
            self.stdout.write(f"not done: {line}")

    def _dry_run(self, day: date, now: datetime, *, fetch: bool) -> None:
        plan = papers_daily.sources_due(day=day)
        due = subscribers_due(day=day, until=now)
        self.stdout.write(f"dry run: listing day {day}, due by {now.isoformat()}")
        if fetch:
            self.stdout.write(f"sources to ingest: {len(plan.due)}; skipped: {len(plan.skipped)}")
            for name, why in plan.skipped:
                self.stdout.write(f"  {name}: {why}")
        else:
            self.stdout.write("sources to ingest: none (--no-fetch)")
        self.stdout.write(f"candidates stored now: {len(papers_listed(day=day))}")
        self.stdout.write(f"subscribers due: {len(due.daily)} daily, {len(due.weekly)} weekly")
        self.stdout.write(
            "digests that would be built: "
            + _counts(
                Counter(
                    {
                        ("quiet" if key == "quiet" else "with papers"): value
                        for key, value in byhand.day_dry_run(day=day, now=now).items()
                    }
                )
            )
        )


def _counts(counter: Counter | dict) -> str:
    return ", ".join(f"{state} {count}" for state, count in sorted(counter.items())) or "none"
