"""Tasks that exist only in worker processes the tests start (see tests/worker_settings.py)."""

import re

from celery import shared_task

from newsletter import ops


@shared_task(name="tests.runaway")
def runaway(name: str) -> None:
    """Record that it started, then backtrack exponentially in C for ever. The soft limit's
    exception is swallowed by a broad ``except``, as careless code would, so only the hard limit
    can end it."""
    ops.heartbeat_record(name=name)
    while True:
        try:
            re.match(r"(a+)+$", "a" * 64 + "!")
        except Exception:  # noqa: S112 - the point of this task
            continue
