"""Newly stored or changed papers get their vectors computed by a worker, after commit; a vote
marks its subscriber's profile for rebuilding."""

from __future__ import annotations

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from newsletter.matching.models import Vote
from newsletter.papers.signals import papers_stored
from subscriptions.receivers import deleted_with_subscriber
from subscriptions.services import interests_touch


@receiver(papers_stored, dispatch_uid="matching.papers_stored")
def papers_stored_embed(sender, paper_ids: list[int], **kwargs) -> None:
    from newsletter.matching.tasks import paper_vectors_compute

    if paper_ids:
        paper_vectors_compute.delay_on_commit(list(paper_ids))


@receiver(post_save, sender=Vote, dispatch_uid="matching.vote_saved")
@receiver(post_delete, sender=Vote, dispatch_uid="matching.vote_deleted")
def vote_changed(sender, instance: Vote, origin=None, **kwargs) -> None:
    """A vote moves its subscriber's profile: mark it for rebuilding (not when the subscriber
    itself is being deleted)."""
    if not deleted_with_subscriber(origin):
        interests_touch(subscriber_ids=[instance.subscriber_id])
