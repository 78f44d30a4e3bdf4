"""The daily run: ingest a listing day, fix its candidates, send each subscriber's digest at their hour.

One ``DailyRun`` row per listing day carries the state (ingesting -> matching -> sending -> done,
or partial / failed) and each stage's counts, timings and errors. Everything here is a plain
function over that row, called the same way by the beat tasks (``tasks.py``, which hand work to
workers through a ``Dispatch`` that queues tasks after commit) and by ``manage.py run_daily``
(which runs the work in its own process). Each call to ``daily_run_advance`` looks at the database
and does the next thing that is due, so a lost task, a dead worker or a rerun only delays work:

- ingesting: the day's ingest of every enabled source was started when the run began; a failed
  source is tried again (``DAILY_INGEST_RETRIES``) until the ingest deadline
  (``DAILY_INGEST_DEADLINE_MINUTES`` after the start). When every source has finished or failed,
  or the deadline has passed (the late ones are named in the run's notes), the run goes on.
- matching: the day's candidates (the papers listed on the day) are fixed and their vectors
  computed once; a day without any is recorded as quiet, with why.
- sending: subscribers whose send time has come (``days.send_time``: their local hour,
  daylight saving time included) and who have no digest of the day yet are handed to workers in
  chunks of ``DAILY_CHUNK_SIZE`` ids; each chunk builds the digests (``digests_build``: weekly
  subscribers get the best of the week) and queues them on the delivery ledger, which sends each
  exactly once. Work handed out but not done after ``DAILY_STALL_MINUTES`` is handed out again.
- done (or partial, when sources were late or failed or emails failed) once every send time of
  the day has passed and no email of the day is still waiting.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from newsletter.daily.models import DailyRun
from newsletter.delivery.models import Delivery
from newsletter.digests.models import Digest
from newsletter.digests.selectors import (
    Due,
    digest_deliveries_by_state,
    digest_since,
    subscribers_due,
)
from newsletter.digests.services import digests_build, digests_enqueue, digests_missing_enqueue
from newsletter.lib import days
from newsletter.matching.services import document_frequencies, paper_vectors_ensure
from newsletter.papers import daily as papers_daily
from newsletter.papers.models import IngestRun, Source
from newsletter.papers.selectors import ingest_outcomes, papers_listed
from subscriptions.models import Subscriber

logger = logging.getLogger("newsletter.daily")

State = DailyRun.State
WAITING = (Delivery.State.QUEUED, Delivery.State.SENDING, Delivery.State.RETRY)
TROUBLE = (Delivery.State.FAILED, Delivery.State.UNCERTAIN)


@dataclass
class Dispatch:
    """Where the run's work goes: ``ingest(source_id, day)`` and ``chunk(day, ids, weekly)``.
    The tasks queue Celery tasks after commit; ``run_daily`` runs them in its own process."""

    ingest: Callable[[int, date], object]
    chunk: Callable[[date, list[int], bool], object]


# --- Starting -------------------------------------------------------------------------------


def daily_run_start(
    *, day: date, now: datetime, dispatch: Dispatch, clock: datetime | None = None
) -> tuple[DailyRun, bool]:
    """The run of ``day``, created (and its ingest started) if it did not exist yet. ``clock``
    is the real current time (default ``now``), which alone says whether a feed showing only
    the current announcement may be fetched for ``day``."""
    deadline = now + timedelta(minutes=settings.DAILY_INGEST_DEADLINE_MINUTES)
    with transaction.atomic():
        run, created = DailyRun.objects.get_or_create(
            day=day, defaults={"started_at": now, "ingest_deadline": deadline}
        )
    if not created:
        return run, False
    plan = papers_daily.sources_due(day=day, now=clock or now)
    # Catch-up days of dated sources are fetched too, but only the day's own listings are waited for.
    run.ingest_expected = [
        [source_id, due.isoformat()] for source_id, due in plan.due if due == day
    ]
    run.notes = "".join(f"{name}: {why}\n" for name, why in plan.skipped)
    run.stages = {"ingest": {"status": "running", "started_at": now.isoformat()}}
    run.save(update_fields=["ingest_expected", "notes", "stages", "updated_at"])
    logger.info("daily_run stage=start day=%s sources=%d", day, len(plan.due))
    for source_id, due in plan.due:
        dispatch.ingest(source_id, due)
    return run, True


# --- Advancing ------------------------------------------------------------------------------


def daily_run_advance(
    *, run: DailyRun, now: datetime, dispatch: Dispatch, in_process: bool = False
) -> DailyRun:
    """Do whatever is due for ``run`` at ``now`` (see the module docstring); safe to repeat.

    ``in_process`` (``run_daily``, which did its ingest itself, each source once with its
    retries): the ingest is over whatever came back, and a day is never failed for its age."""
    if run.state == State.INGESTING:
        _ingest_check(run, now, dispatch, final=in_process)
    if run.state == State.MATCHING:
        _candidates_fix(run, now)
    if run.state == State.SENDING:
        _send_due(run, now, dispatch)
        _finish_check(run, now)
    if (
        not in_process
        and run.state in DailyRun.OPEN
        and now
        > days.last_send_time(day=run.day, run_hour=settings.DAILY_RUN_HOUR) + timedelta(days=1)
    ):
        _set_state(run, State.FAILED, now, note="still not finished a day after its last send time")
    return run


def daily_run_redispatch(*, run: DailyRun) -> None:
    """Forget what was handed out, so the next advance hands out everything due again (what
    is done stays done: digests and their emails are unique per subscriber and day)."""
    DailyRun.objects.filter(pk=run.pk).update(dispatched_at=None, dispatched_through=None)
    run.refresh_from_db()


def _set_state(run: DailyRun, state: str, now: datetime, *, note: str = "") -> bool:
    """Move ``run`` on, if no one else already did (conditional update)."""
    fields: dict = {"state": state, "updated_at": now}
    if state not in DailyRun.OPEN:
        fields["finished_at"] = now
    if note:
        run.notes += note + "\n"
        fields["notes"] = run.notes
    moved = DailyRun.objects.filter(pk=run.pk, state=run.state).update(**fields) == 1
    run.refresh_from_db()
    return moved


def _stage(run: DailyRun, name: str, **values) -> dict:
    stage = {**run.stages.get(name, {}), **values}
    run.stages = {**run.stages, name: stage}
    DailyRun.objects.filter(pk=run.pk).update(stages=run.stages, updated_at=timezone.now())
    return stage


def _stage_done(run: DailyRun, name: str, now: datetime, status: str, **counts) -> None:
    started = run.stages.get(name, {}).get("started_at")
    # A run by hand is stamped with the moment it serves, which can be earlier than the clock.
    end = max(now, timezone.now())
    seconds = (end - datetime.fromisoformat(started)).total_seconds() if started else 0.0
    _stage(
        run, name, status=status, finished_at=now.isoformat(), seconds=round(seconds, 3), **counts
    )
    logger.info(
        "daily_run stage=%s day=%s status=%s seconds=%.1f %s",
        name,
        run.day,
        status,
        seconds,
        " ".join(f"{key}={value}" for key, value in counts.items()),
    )


# --- Ingesting ------------------------------------------------------------------------------


def daily_run_ingest_unstarted(*, run: DailyRun, dispatch: Dispatch) -> int:
    """Hand out again each expected ingest that never started (``run_daily`` does them itself
    when the run was begun by beat but no worker took the tasks)."""
    todo = [key for key, status in _ingest_outcomes(run).items() if status == ""]
    for source_id, day in todo:
        dispatch.ingest(source_id, date.fromisoformat(day))
    return len(todo)


def _ingest_outcomes(run: DailyRun) -> dict[tuple[int, str], str]:
    """The latest status of each expected (source, day) since the run began ("" = not started)."""
    return ingest_outcomes(
        expected=run.ingest_expected,
        since=min(run.started_at, run.created_at) - timedelta(minutes=1),
    )


def _ingest_check(run: DailyRun, now: datetime, dispatch: Dispatch, *, final: bool) -> None:
    outcomes = _ingest_outcomes(run)
    failed = [key for key, status in outcomes.items() if status == IngestRun.Status.FAILED]
    pending = [key for key, status in outcomes.items() if status in ("", IngestRun.Status.RUNNING)]
    before_deadline = now < run.ingest_deadline and not final
    retries = dict(run.ingest_retries)
    for source_id, day in failed:
        tried = retries.get(f"{source_id}:{day}", 0)
        if before_deadline and tried < settings.DAILY_INGEST_RETRIES:
            retries[f"{source_id}:{day}"] = tried + 1
            pending.append((source_id, day))
            dispatch.ingest(source_id, date.fromisoformat(day))
    if retries != run.ingest_retries:
        run.ingest_retries = retries
        DailyRun.objects.filter(pk=run.pk).update(ingest_retries=retries)
    if pending and before_deadline:
        return
    names = dict(Source.objects.values_list("pk", "name"))
    late = sorted({names.get(sid, str(sid)) for sid, _ in pending})
    gave_up = sorted({names.get(sid, str(sid)) for sid, _ in failed} - set(late))
    note = ""
    if late:
        when = "not fetched by this run" if final else "late sources at the deadline"
        note += f"went on without {when}: {', '.join(late)}"
    if gave_up:
        note += ("; " if note else "") + f"sources failed: {', '.join(gave_up)}"
    counts = Counter(status or "not started" for status in outcomes.values())
    status = "ok" if not (late or gave_up) else "partial"
    _stage_done(run, "ingest", now, status, sources=len(outcomes), late=len(late), **counts)
    if _set_state(run, State.MATCHING, now, note=note):
        _stage(run, "matching", status="running", started_at=now.isoformat())


# --- Fixing the candidates ------------------------------------------------------------------


def _quiet_reason(run: DailyRun) -> str:
    outcomes = _ingest_outcomes(run)
    if not outcomes:
        return "no source is enabled"
    if all(status == IngestRun.Status.FAILED for status in outcomes.values()):
        return "every source failed"
    if not any(status in IngestRun.SUCCESSFUL for status in outcomes.values()):
        return "no source answered by the deadline"
    return "the sources listed no papers for this day (a weekend or holiday upstream)"


def _candidates_fix(run: DailyRun, now: datetime) -> None:
    clock = time.monotonic()
    paper_ids = papers_listed(day=run.day)
    quiet = "" if paper_ids else _quiet_reason(run)
    if paper_ids:
        paper_vectors_ensure(paper_ids=paper_ids)  # once here, not once per worker
        document_frequencies()
    DailyRun.objects.filter(pk=run.pk).update(candidates=len(paper_ids), quiet_reason=quiet)
    run.candidates, run.quiet_reason = len(paper_ids), quiet
    now = max(now, run.started_at) + timedelta(seconds=time.monotonic() - clock)
    _stage_done(run, "matching", now, "quiet" if quiet else "ok", candidates=len(paper_ids))
    if quiet:
        logger.info("daily_run quiet day=%s why=%r", run.day, quiet)
    if _set_state(run, State.SENDING, now):
        _stage(run, "sending", status="running", started_at=now.isoformat())


# --- Sending --------------------------------------------------------------------------------


def chunks(ids: list[int], size: int | None = None) -> list[list[int]]:
    size = size or settings.DAILY_CHUNK_SIZE
    return [ids[start : start + size] for start in range(0, len(ids), size)]


def digests_chunk_process(*, day: date, subscriber_ids: list[int], weekly: bool) -> list[int]:
    """Build the digests of ``day`` for these subscribers (the best of the week for weekly ones)
    and queue their emails; returns the delivery ids. Idempotent: the chunk task calls it, and a
    redelivered or re-dispatched chunk finds the digests built and the deliveries queued."""
    frequency = Subscriber.Frequency.WEEKLY if weekly else Subscriber.Frequency.DAILY
    built = digests_build(
        day=day, subscriber_ids=subscriber_ids, since=digest_since(frequency=frequency, day=day)
    )
    return digests_enqueue(digests=built)


def _send_due(run: DailyRun, now: datetime, dispatch: Dispatch) -> None:
    """Hand out the subscribers who came due since the last hand-out; and, when that was more
    than ``DAILY_STALL_MINUTES`` ago, again those handed out then who still have no digest."""
    through = run.dispatched_through
    if through is not None and through >= now:
        return
    stall = timedelta(minutes=settings.DAILY_STALL_MINUTES)
    stalled = run.dispatched_at is not None and run.dispatched_at <= now - stall
    due = subscribers_due(day=run.day, until=now, after=through)
    stale = subscribers_due(day=run.day, until=through) if stalled and through else Due()
    handed = bool(due) or bool(stale)
    # Claim this hand-out: a concurrent tick or sweep that read the same row hands out nothing.
    claimed = DailyRun.objects.filter(
        pk=run.pk, dispatched_at=run.dispatched_at, dispatched_through=through
    ).update(dispatched_at=now if handed else run.dispatched_at, dispatched_through=now)
    run.refresh_from_db()
    if not claimed:
        return
    if stale:
        run.notes += (
            f"{now:%Y-%m-%d %H:%M} UTC: {len(stale)} subscribers handed out again after a stall\n"
        )
        DailyRun.objects.filter(pk=run.pk).update(notes=run.notes)
        logger.warning("daily_run stall day=%s requeued=%d", run.day, len(stale))
    if stalled:
        digests_missing_enqueue(day=run.day)
    for weekly, ids in (
        (False, due.daily + stale.daily),
        (True, due.weekly + stale.weekly),
    ):
        for chunk in chunks(ids):
            dispatch.chunk(run.day, chunk, weekly)
    if due:
        stage = run.stages.get("sending", {})
        _stage(run, "sending", dispatched=stage.get("dispatched", 0) + len(due))
    if handed:
        logger.info(
            "daily_run stage=handout day=%s due_by=%s daily=%d weekly=%d again=%d chunks=%d",
            run.day,
            now.isoformat(),
            len(due.daily),
            len(due.weekly),
            len(stale),
            len(chunks(due.daily + stale.daily)) + len(chunks(due.weekly + stale.weekly)),
        )


def _finish_check(run: DailyRun, now: datetime) -> None:
    if now < days.last_send_time(day=run.day, run_hour=settings.DAILY_RUN_HOUR):
        return
    if len(subscribers_due(day=run.day, until=now)):
        return
    states = digest_deliveries_by_state(day=run.day)
    if any(states.get(state) for state in WAITING):
        return
    digests = Digest.objects.filter(day=run.day)
    quiet = digests.filter(papers_count=0).count()
    trouble = sum(states.get(state, 0) for state in TROUBLE)
    _stage_done(
        run,
        "sending",
        now,
        "ok" if not trouble else "partial",
        digests=digests.count(),
        quiet=quiet,
        **states,
    )
    problems = trouble or run.stages.get("ingest", {}).get("status") == "partial"
    _set_state(run, State.PARTIAL if problems else State.DONE, now)


# --- The entry points -----------------------------------------------------------------------


def runs_open(*, now: datetime) -> list[DailyRun]:
    return list(
        DailyRun.objects.filter(state__in=DailyRun.OPEN, day__lte=now.date()).order_by("day")
    )


def daily_tick(*, now: datetime, dispatch: Dispatch, start: bool = True) -> list[DailyRun]:
    """Beat, hourly (``start``) and as a sweep: start the run of the current listing day if its
    start hour has come, then advance every open run. Returns the runs looked at."""
    if start:
        day = days.listing_day_now(now)
        daily_run_start(day=day, now=now, dispatch=dispatch)
    runs = runs_open(now=now)
    for run in runs:
        try:
            daily_run_advance(run=run, now=now, dispatch=dispatch)
        except Exception as exc:
            # Recorded and retried at the next tick; one bad day never stops the others.
            logger.exception("daily_run day=%s failed to advance", run.day)
            stage = {State.INGESTING: "ingest", State.MATCHING: "matching"}.get(
                run.state, "sending"
            )
            _stage(run, stage, error=f"{type(exc).__name__}: {str(exc)[:500]}")
    return runs


def run_late(*, now: datetime) -> str:
    """Why the current listing day's run is late ("" when it is not): it never started an hour
    after its start time (is beat running?), or it still waits for sources past its deadline."""
    hour = settings.DAILY_RUN_HOUR
    day = days.run_day_at(now=now, hour=hour)
    run = DailyRun.objects.filter(day=day).first()
    grace = timedelta(minutes=settings.DAILY_STALL_MINUTES)
    if run is None:
        start = days.run_start(day=day, hour=hour)
        # Nothing is late that was due before this installation existed.
        if now > start + timedelta(hours=1) + grace and _installed_by(start):
            return f"the run of {day} has not started"
        return ""
    if run.state in (State.INGESTING, State.MATCHING) and now > run.ingest_deadline + grace:
        return f"the run of {day} is still {run.state} past its deadline"
    if run.state == State.FAILED:
        return f"the run of {day} failed"
    return ""


def _installed_by(moment: datetime) -> bool:
    """Whether this installation existed at ``moment``: its first migration was applied, or a
    daily run row was created (wall clock, whatever day it was for), by then."""
    from django.db.migrations.recorder import MigrationRecorder

    first = MigrationRecorder.Migration.objects.order_by("applied").values_list("applied").first()
    if first is not None and first[0] <= moment:
        return True
    return DailyRun.objects.filter(created_at__lte=moment).exists()
