"""Papers stored without an arXiv id are looked up by a worker, after commit."""

from __future__ import annotations

from django.conf import settings
from django.dispatch import receiver

from newsletter.papers.models import Paper
from newsletter.papers.signals import papers_stored


@receiver(papers_stored, dispatch_uid="papers.titles_resolve")
def papers_stored_resolve(sender, paper_ids: list[int], **kwargs) -> None:
    from newsletter.papers.tasks import titles_resolve_task

    if (
        settings.TITLE_LOOKUP
        and Paper.objects.filter(pk__in=list(paper_ids), arxiv_id__isnull=True).exists()
    ):
        titles_resolve_task.delay_on_commit()
