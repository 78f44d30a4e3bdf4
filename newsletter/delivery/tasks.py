"""Thin Celery tasks: delivery ids in, one service call."""

from __future__ import annotations

from celery import shared_task

from newsletter.delivery import services

# Retries due sooner than this get a task with a countdown; later ones wait for the sweep (a
# countdown longer than the broker's visibility timeout would be delivered twice).
RETRY_COUNTDOWN_MAX = 600


@shared_task(name="delivery.send")
def deliveries_send_task(delivery_ids: list[int]) -> dict[str, int]:
    """Send a batch over one connection. Redelivered or duplicated tasks send nothing twice:
    each row is claimed first. A transient failure is nudged again when its retry is due."""
    ids = [int(i) for i in delivery_ids]
    counts = services.deliveries_send(delivery_ids=ids)
    for delivery_id, seconds in services.deliveries_retry_soon(
        delivery_ids=ids, within=RETRY_COUNTDOWN_MAX
    ):
        deliveries_send_task.apply_async(args=[[delivery_id]], countdown=seconds)
    return dict(counts)


@shared_task(name="delivery.sweep")
def deliveries_sweep_task() -> dict[str, int]:
    """Beat, every minute: finds deliveries whose task was lost or whose worker died."""
    result = services.deliveries_sweep()
    from newsletter.delivery import tracking

    result["events_processed"] = tracking.tracking_events_process_pending()
    return result
