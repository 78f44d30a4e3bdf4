"""``manage.py run_daily``: run (or replay, or backfill) a listing day by hand, in this process.

The same services as the beat tasks, with the work done here instead of by workers: the day's
ingest, the candidates, and the digest of every subscriber due by ``--now``, each sent through the
delivery ledger (so nothing already sent goes out again). Prints counts per state at the end.
"""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, timedelta

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.utils import timezone
from tqdm import tqdm

from newsletter.daily import run as daily
from newsletter.daily.models import DailyRun
from newsletter.delivery.services import deliveries_send
from newsletter.digests.models import Digest
from newsletter.lib import days
from newsletter.papers import daily as papers_daily
from newsletter.papers.models import ListingEntry


def _date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"--date must be YYYY-MM-DD, not {value!r}") from None


def _moment(value: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise CommandError(
            f"--now must be an ISO time (2026-03-29T05:00Z), not {value!r}"
        ) from None
    return moment if moment.tzinfo else timezone.make_aware(moment, timezone.utc)


class Command(BaseCommand):
    help = "Run a listing day's ingest, matching and sending by hand (no worker needed)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--date", type=_date, help="Listing day (default: the current one).")
        parser.add_argument(
            "--now", type=_moment, help="Send to everyone due by this time (default: now)."
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="Say what would happen; change and send nothing."
        )
        parser.add_argument("--no-progress", action="store_true", help="No progress bars.")

    def handle(self, *args, **options) -> None:
        now = options["now"] or timezone.now()
        day = options["date"] or days.run_day_at(now=now, hour=settings.DAILY_RUN_HOUR)
        self.quiet_bars = options["no_progress"] or options["verbosity"] < 1
        if options["dry_run"]:
            self._dry_run(day, now)
            return
        self.sent: Counter = Counter()
        ingest_bar = self._bar("ingest", unit="source")
        send_bar = self._bar("digests", unit="subscriber")
        dispatch = daily.Dispatch(
            ingest=lambda source_id, due: self._ingest(source_id, due, ingest_bar),
            chunk=lambda due_day, ids, weekly: self._chunk(due_day, ids, weekly, send_bar),
        )
        ingest_bar.total = len(papers_daily.sources_due(day=day, today=day).due)
        run, created = daily.daily_run_start(day=day, now=now, dispatch=dispatch)
        if not created and run.state == DailyRun.State.INGESTING:
            daily.daily_run_ingest_unstarted(run=run, dispatch=dispatch)
        ingest_bar.close()
        send_bar.total = len(daily.subscribers_due(day=day, until=now))
        # Everything due until now, whatever beat already handed out (what is done stays done).
        DailyRun.objects.filter(pk=run.pk).update(dispatched_at=None, dispatched_through=None)
        run.refresh_from_db()
        daily.daily_run_advance(run=run, now=now, dispatch=dispatch)
        send_bar.close()
        self._report(run, now)

    def _bar(self, desc: str, *, unit: str) -> tqdm:
        return tqdm(total=0, desc=desc, unit=unit, disable=self.quiet_bars, file=self.stderr)

    def _ingest(self, source_id: int, day: date, bar: tqdm) -> None:
        try:
            papers_daily.source_ingest(source_id=source_id, day=day)
        except Exception as exc:  # recorded on the IngestRun; the others go on
            self.stderr.write(f"source {source_id} failed for {day}: {exc}")
        bar.update(1)

    def _chunk(self, day: date, ids: list[int], weekly: bool, bar: tqdm) -> None:
        delivery_ids = daily.digests_chunk_process(day=day, subscriber_ids=ids, weekly=weekly)
        for start in range(0, len(delivery_ids), settings.DELIVERY_BATCH_SIZE):
            self.sent.update(
                deliveries_send(
                    delivery_ids=delivery_ids[start : start + settings.DELIVERY_BATCH_SIZE]
                )
            )
        bar.update(len(ids))

    def _report(self, run: DailyRun, now: datetime) -> None:
        run.refresh_from_db()
        digests = Digest.objects.filter(day=run.day)
        self.stdout.write(f"listing day {run.day}, due by {now.isoformat()}: run {run.state}")
        if run.quiet_reason:
            self.stdout.write(f"quiet day: {run.quiet_reason}")
        for line in filter(None, run.notes.splitlines()):
            self.stdout.write(f"note: {line}")
        self.stdout.write(
            f"candidates: {run.candidates or 0}; digests: {digests.count()} "
            f"({digests.filter(papers_count=0).count()} quiet)"
        )
        self.stdout.write("sent by this run: " + _counts(self.sent))
        self.stdout.write(
            "digest emails of the day: " + _counts(daily.deliveries_by_state(day=run.day))
        )

    def _dry_run(self, day: date, now: datetime) -> None:
        plan = papers_daily.sources_due(day=day, today=day)
        due = daily.subscribers_due(day=day, until=now)
        candidates = ListingEntry.objects.filter(listing_date=day).values("paper_id").distinct()
        self.stdout.write(f"dry run: listing day {day}, due by {now.isoformat()}")
        self.stdout.write(f"sources to ingest: {len(plan.due)}; skipped: {len(plan.skipped)}")
        self.stdout.write(f"candidates stored now: {candidates.count()}")
        self.stdout.write(f"subscribers due: {len(due.daily)} daily, {len(due.weekly)} weekly")
        papers: Counter = Counter()
        with transaction.atomic():
            for weekly, ids in ((False, due.daily), (True, due.weekly)):
                since = day - timedelta(days=6) if weekly else None
                for chunk in daily.chunks(ids):
                    for digest in daily.digests_build(day=day, subscriber_ids=chunk, since=since):
                        papers["quiet" if digest.papers_count == 0 else "with papers"] += 1
            transaction.set_rollback(True)
        self.stdout.write("digests that would be built: " + _counts(papers))


def _counts(counter: Counter | dict) -> str:
    return ", ".join(f"{state} {count}" for state, count in sorted(counter.items())) or "none"
