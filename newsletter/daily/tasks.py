"""Thin Celery tasks of the daily run: ISO times and ids in, one service call.

Beat sends ``daily.tick`` every hour and ``daily.sweep`` every few minutes without arguments: the
task resolves the moment once (``now``) and everything after gets it explicitly, so a late worker
or a replay does the same thing. The tests pass ``now`` to control time.
"""

from __future__ import annotations

from datetime import date, datetime

from celery import shared_task
from django.utils import timezone

from newsletter.daily import run as daily
from newsletter.papers.tasks import ingest_source


def _now(value: str | None) -> datetime:
    return datetime.fromisoformat(value) if value else timezone.now()


def celery_dispatch() -> daily.Dispatch:
    """Work handed to the workers, after the current transaction commits."""
    return daily.Dispatch(
        ingest=lambda source_id, day: ingest_source.delay_on_commit(source_id, day.isoformat()),
        chunk=lambda day, ids, weekly: digests_chunk_task.delay_on_commit(
            day.isoformat(), list(ids), weekly
        ),
    )


@shared_task(name="daily.tick")
def daily_tick_task(now: str | None = None) -> list[str]:
    """Beat, hourly: start the current listing day's run when its hour has come, advance all."""
    runs = daily.daily_tick(now=_now(now), dispatch=celery_dispatch())
    return [f"{run.day} {run.state}" for run in runs]


@shared_task(name="daily.sweep")
def daily_sweep_task(now: str | None = None) -> list[str]:
    """Beat, every few minutes: advance the open runs; work that stalled is handed out again."""
    runs = daily.daily_tick(now=_now(now), dispatch=celery_dispatch(), start=False)
    return [f"{run.day} {run.state}" for run in runs]


@shared_task(name="daily.digests_chunk")
def digests_chunk_task(day: str, subscriber_ids: list[int], weekly: bool = False) -> int:
    """Build and queue the digests of ``day`` for a chunk of subscribers; returns the emails
    queued. A redelivered task changes nothing that is done (the digest and its email are unique
    per subscriber and day)."""
    ids = [int(pk) for pk in subscriber_ids]
    return len(
        daily.digests_chunk_process(day=date.fromisoformat(day), subscriber_ids=ids, weekly=weekly)
    )
