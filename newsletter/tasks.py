"""Thin Celery tasks: plain arguments in, one service call."""

from celery import shared_task

from newsletter import ops


@shared_task(name="newsletter.heartbeat")
def heartbeat(name: str = "worker") -> None:
    ops.heartbeat_record(name=name)
