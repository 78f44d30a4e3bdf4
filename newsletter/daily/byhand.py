"""A listing day run by hand, in this process: ``run_daily`` and ``send_digests`` both call
``day_run_by_hand``, the same services the beat tasks use with the work done here.

Each due source is fetched once (its HTTP retries included, the sources side by side), or none
with ``fetch=False``; the run then goes on with what is stored, never waiting for the ingest
deadline meant for workers. Every subscriber due by ``now`` gets their digest through the
delivery ledger, which sends nothing twice; the day's emails left queued, or abandoned by a
process that was killed, are finished too (one whose hand-over cannot be known becomes
uncertain and is never resent).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from newsletter.daily import run as daily
from newsletter.daily.models import DailyRun
from newsletter.delivery.models import Delivery
from newsletter.delivery.services import deliveries_send, deliveries_sweep
from newsletter.digests.selectors import (
    digest_deliveries,
    digest_deliveries_by_state,
    digest_since,
    digest_wanted,
    subscribers_due,
)
from newsletter.digests.services import digests_build
from newsletter.lib import days
from newsletter.papers import daily as papers_daily
from newsletter.papers.selectors import ingest_outcomes

Progress = Callable[[str, int], object]  # ("ingest" | "digests", how many more done)


@dataclass
class ByHand:
    """What a run by hand did, and what it did not do and why."""

    run: DailyRun
    sent: Counter = field(default_factory=Counter)
    failed_sources: list[str] = field(default_factory=list)
    not_done: list[str] = field(default_factory=list)


def _send(delivery_ids: list[int], result: ByHand) -> None:
    size = settings.DELIVERY_BATCH_SIZE
    for start in range(0, len(delivery_ids), size):
        result.sent.update(deliveries_send(delivery_ids=delivery_ids[start : start + size]))


def _fetch(run: DailyRun, result: ByHand, progress: Progress) -> None:
    """Ingest, once each, the run's expected sources that have not succeeded yet (and the
    catch-up days it planned)."""
    since = min(run.started_at, run.created_at)
    outcomes = ingest_outcomes(expected=run.ingest_expected, since=since)
    todo = [
        (source_id, date.fromisoformat(day))
        for (source_id, day), status in outcomes.items()
        if status in ("", "failed")
    ]
    ingested = papers_daily.sources_fetch_store(due=todo)
    progress("ingest", len(todo))
    for ingest_run in ingested:
        if ingest_run.status == "failed":
            result.failed_sources.append(f"{ingest_run.source.name}: {ingest_run.error[:200]}")


def _reopen(run: DailyRun, now: datetime) -> None:
    """A failed day is not given up by hand: it goes back to the stage it failed in."""
    state = DailyRun.State.MATCHING if run.candidates is None else DailyRun.State.SENDING
    DailyRun.objects.filter(pk=run.pk, state=DailyRun.State.FAILED).update(
        state=state,
        finished_at=None,
        notes=run.notes + f"{now:%Y-%m-%d %H:%M} UTC: reopened by hand\n",
    )
    run.refresh_from_db()


def _finish_left_over(day: date, email: str | None, result: ByHand) -> None:
    """Send the day's emails still queued or due for a retry, after the ledger's sweep gave
    back those a killed process abandoned (and marked uncertain those it may have handed)."""
    deliveries_sweep()
    left = digest_deliveries(day=day).filter(
        state__in=(Delivery.State.QUEUED, Delivery.State.RETRY)
    )
    if email:
        left = left.filter(subscriber__email=email)
    now = timezone.now()
    ids = [
        pk
        for pk, due in left.order_by("pk").values_list("pk", "next_attempt_at")
        if due is None or due <= now
    ]
    _send(ids, result)


def day_run_by_hand(
    *,
    day: date,
    now: datetime,
    fetch: bool = True,
    email: str | None = None,
    progress: Progress = lambda stage, n: None,
) -> ByHand:
    """Run listing ``day`` in this process up to ``now`` (see the module docstring)."""
    holder: dict[str, ByHand] = {}

    def chunk(due_day: date, ids: list[int], weekly: bool) -> None:
        delivery_ids = daily.digests_chunk_process(day=due_day, subscriber_ids=ids, weekly=weekly)
        _send(delivery_ids, holder["result"])
        progress("digests", len(ids))

    dispatch = daily.Dispatch(ingest=lambda source_id, due: None, chunk=chunk)
    run, _ = daily.daily_run_start(day=day, now=now, dispatch=dispatch, clock=timezone.now())
    result = holder["result"] = ByHand(run=run)
    if run.state == DailyRun.State.FAILED:
        _reopen(run, now)
    if run.state == DailyRun.State.INGESTING:
        if fetch:
            _fetch(run, result, progress)
        else:
            result.not_done.append("fetched no source (--no-fetch): used the listings stored")
    if email:
        daily.daily_run_advance(run=run, now=now, dispatch=_no_sending(dispatch), in_process=True)
        due = subscribers_due(day=day, until=now, email=email)
        for weekly, ids in ((False, due.daily), (True, due.weekly)):
            if ids:
                chunk(day, ids, weekly)
    else:
        # Everything due until now, whatever beat already handed out (what is done stays done).
        daily.daily_run_redispatch(run=run)
        daily.daily_run_advance(run=run, now=now, dispatch=dispatch, in_process=True)
    _finish_left_over(day, email, result)
    daily.daily_run_advance(run=run, now=now, dispatch=dispatch, in_process=True)
    _not_done(result, day, now)
    return result


def _no_sending(dispatch: daily.Dispatch) -> daily.Dispatch:
    return daily.Dispatch(ingest=dispatch.ingest, chunk=lambda day, ids, weekly: None)


def _not_done(result: ByHand, day: date, now: datetime) -> None:
    run = result.run
    run.refresh_from_db()
    later = len(subscribers_due(day=day, until=days.last_send_time(day=day)))
    if later:
        result.not_done.append(
            f"{later} subscribers not due by {now.isoformat()} (their hour comes later): "
            "run again later, or leave them to beat"
        )
    states = digest_deliveries_by_state(day=day)
    if states.get(Delivery.State.SENDING):
        result.not_done.append(
            f"{states[Delivery.State.SENDING]} emails are being sent by another process (or one "
            f"that died less than {settings.DELIVERY_SENDING_TIMEOUT} s ago): run again later"
        )
    if states.get(Delivery.State.UNCERTAIN):
        result.not_done.append(
            f"{states[Delivery.State.UNCERTAIN]} emails are uncertain (may have been sent): never "
            "resent automatically; staff can resend them in the admin"
        )
    if states.get(Delivery.State.RETRY):
        result.not_done.append(
            f"{states[Delivery.State.RETRY]} emails wait for a retry after a transient error"
        )


def day_dry_run(*, day: date, now: datetime, email: str | None = None) -> Counter:
    """What a run by hand of ``day`` up to ``now`` would build: digests with papers and quiet
    ones (built and rolled back; nothing is stored or sent)."""
    due = subscribers_due(day=day, until=now, email=email)
    counts: Counter = Counter()
    with transaction.atomic():
        for frequency, ids in (("daily", due.daily), ("weekly", due.weekly)):
            since = digest_since(frequency=frequency, day=day)
            for part in daily.chunks(ids):
                for digest in digests_build(day=day, subscriber_ids=part, since=since):
                    counts["would send" if digest_wanted(digest) else "quiet"] += 1
        transaction.set_rollback(True)
    return counts
