"""Keep ``Subscriber.interests_version`` right whatever path changes a reader's interests.

The services bump it themselves (``services.interests_touch``), including for their bulk writes,
which send no signals. These receivers cover the other paths that write one row at a time: the
admin's inline interests and topics, ``topics.set()``/``add()``/``remove()`` from either side, and
``Interest`` rows saved or deleted by hand. A queryset ``update()`` or ``bulk_create()`` of
interests elsewhere must call ``interests_touch`` itself.
"""

from __future__ import annotations

from django.db.models import QuerySet
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.dispatch import receiver

from subscriptions.models import Interest, Subscriber
from subscriptions.services import interests_touch


def deleted_with_subscriber(origin: object) -> bool:
    """Whether a delete cascades from deleting the subscriber itself (nothing left to mark)."""
    if isinstance(origin, QuerySet):
        return origin.model is Subscriber
    return isinstance(origin, Subscriber)


@receiver(post_save, sender=Interest, dispatch_uid="subscriptions.interest_saved")
def interest_saved(sender, instance: Interest, **kwargs) -> None:
    interests_touch(subscriber_ids=[instance.subscriber_id])


@receiver(post_delete, sender=Interest, dispatch_uid="subscriptions.interest_deleted")
def interest_deleted(sender, instance: Interest, origin=None, **kwargs) -> None:
    if not deleted_with_subscriber(origin):
        interests_touch(subscriber_ids=[instance.subscriber_id])


@receiver(m2m_changed, sender=Subscriber.topics.through, dispatch_uid="subscriptions.topics")
def topics_changed(sender, instance, action: str, reverse: bool, pk_set, **kwargs) -> None:
    if action in ("post_add", "post_remove") and not pk_set:
        return  # nothing was added or removed
    if not reverse:
        if action in ("post_add", "post_remove", "post_clear"):
            interests_touch(subscriber_ids=[instance.pk])
    elif action == "pre_clear":  # topic.subscribers.clear(): who they are is known only before
        interests_touch(subscriber_ids=list(instance.subscribers.values_list("pk", flat=True)))
    elif action in ("post_add", "post_remove"):
        interests_touch(subscriber_ids=list(pk_set or ()))
