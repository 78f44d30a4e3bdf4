"""One send rate for all workers: ``DELIVERY_RATE_PER_SECOND`` through the shared slot limit
(``newsletter.lib.ratelimit``: a Redis key, or a file under ``VAR_DIR`` on the embedded default).
A rate of 0 turns the limit off.
"""

from __future__ import annotations

from django.conf import settings

from newsletter.lib.ratelimit import slot_wait


def send_slot_wait() -> float:
    """Block until this process may send one message; returns the seconds waited."""
    rate = settings.DELIVERY_RATE_PER_SECOND
    return slot_wait("delivery", gap=1.0 / rate) if rate > 0 else 0.0
