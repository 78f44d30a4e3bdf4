"""Which function builds the message of each kind of delivery, registered by the apps that own them.

``delivery`` never imports the apps that produce emails (``digests`` registers "digest" in its
``AppConfig.ready``): it looks the builder up here at send time.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from django.core.mail import EmailMessage

if TYPE_CHECKING:
    from newsletter.delivery.models import Delivery

Builder = Callable[["Delivery"], EmailMessage]
# Loads, for a batch of deliveries of one kind, what their builder needs, in a constant number of
# queries, and leaves it on each delivery (the builder still works without it, one at a time).
Preparer = Callable[[list["Delivery"]], None]

_builders: dict[str, Builder] = {}
_preparers: dict[str, Preparer] = {}
_bypass: set[str] = set()
_active_only: set[str] = set()


class DeliverySkipped(Exception):
    """Raised by a builder when there is nothing to send (the delivery becomes "skipped")."""


def register_builder(
    kind: str,
    builder: Builder,
    *,
    bypass_suppression: bool = False,
    active_only: bool = False,
    prepare: Preparer | None = None,
) -> None:
    """Make ``builder(delivery) -> EmailMessage`` the builder of ``kind`` (re-registering replaces).

    ``bypass_suppression``: only for an email its recipient has just asked for (a confirmation
    link): the suppression list holds back everything else, the digest first of all.
    ``active_only``: send only while the subscriber is active (the digest): a delivery whose
    subscriber paused or unsubscribed after it was queued becomes "suppressed", unsent.
    ``prepare(deliveries)``: called once per send batch with that batch's deliveries of ``kind``
    before any is built, to load what they need at once (the digest: every digest, item and
    paper of the batch in three queries rather than two per email).
    """
    _builders[kind] = builder
    if prepare is None:
        _preparers.pop(kind, None)
    else:
        _preparers[kind] = prepare
    for flag, kinds in ((bypass_suppression, _bypass), (active_only, _active_only)):
        if flag:
            kinds.add(kind)
        else:
            kinds.discard(kind)


def bypasses_suppression(kind: str) -> bool:
    return kind in _bypass


def needs_active_subscriber(kind: str) -> bool:
    return kind in _active_only


def builder_for(kind: str) -> Builder:
    try:
        return _builders[kind]
    except KeyError:
        raise LookupError(f"no builder registered for delivery kind {kind!r}") from None


def preparer_for(kind: str) -> Preparer | None:
    return _preparers.get(kind)


def kinds_registered() -> list[str]:
    return sorted(_builders)
