"""The Celery application. Workers and beat start it with ``celery -A newsletter ...``."""

import os

from celery import Celery
from celery.signals import task_received

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "newsletter.settings")

app = Celery("newsletter")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@task_received.connect
def worker_time_limits_apply(*, request, **_: object) -> None:
    """Hold every task to this worker's time limits. A task message carries the limits of the
    process that queued it (web, beat, a command), and Celery honours those over the worker's
    own; but the worker's limits are the ones its broker visibility timeout (four times the hard
    limit) and the stuck-run sweep are derived from, so a longer limit from elsewhere could let
    a runaway task outlive them and run twice. So the shorter of the two wins."""
    worker = (app.conf.task_time_limit, app.conf.task_soft_time_limit)
    request.time_limits = tuple(
        min((limit for limit in pair if limit), default=None)
        for pair in zip(request.time_limits, worker, strict=True)
    )
