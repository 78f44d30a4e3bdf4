"""Thin Celery tasks: delivery ids in, one service call."""

from __future__ import annotations

from celery import shared_task

from newsletter.delivery import services


@shared_task(name="delivery.send")
def deliveries_send_task(delivery_ids: list[int]) -> dict[str, int]:
    """Send a batch over one connection. Redelivered or duplicated tasks send nothing twice:
    each row is claimed first. Rows left for a retry are picked up by the sweep when due."""
    return dict(services.deliveries_send(delivery_ids=[int(i) for i in delivery_ids]))


@shared_task(name="delivery.sweep")
def deliveries_sweep_task() -> dict[str, int]:
    """Beat, every minute: finds deliveries whose task was lost or whose worker died."""
    result = services.deliveries_sweep()
    from newsletter.delivery import tracking

    result["events_processed"] = tracking.tracking_events_process_pending()
    return result
