"""Newly stored or changed papers get their vectors computed by a worker, after commit."""

from __future__ import annotations

from django.dispatch import receiver

from newsletter.papers.signals import papers_stored


@receiver(papers_stored, dispatch_uid="matching.papers_stored")
def papers_stored_embed(sender, paper_ids: list[int], **kwargs) -> None:
    from newsletter.matching.tasks import paper_vectors_compute

    if paper_ids:
        paper_vectors_compute.delay_on_commit(list(paper_ids))
