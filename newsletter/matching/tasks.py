"""Thin Celery tasks for matching."""

from celery import shared_task

from newsletter.matching import services


@shared_task(name="matching.paper_vectors_compute")
def paper_vectors_compute(paper_ids: list[int]) -> int:
    """Compute the stored vectors of these papers (skips those whose text has not changed)."""
    return services.paper_vectors_compute(paper_ids=paper_ids)
