"""One send rate shared by every worker: slots are handed out 1/rate seconds apart."""

from __future__ import annotations

import os
import threading
import time
from urllib.parse import urlsplit

from newsletter.delivery import ratelimit
from tests.helpers import require_service


def _reserve_from_threads(count: int) -> list[float]:
    slots: list[float] = []
    lock = threading.Lock()

    def take():
        now = time.time()
        ratelimit.send_slot_wait()
        with lock:
            slots.append(time.time() - now)

    threads = [threading.Thread(target=take) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sorted(slots)


def _assert_spaced(settings, count: int = 6) -> None:
    settings.DELIVERY_RATE_PER_SECOND = 20
    started = time.monotonic()
    waits = _reserve_from_threads(count)
    elapsed = time.monotonic() - started
    # Six senders at 20/s: the last one waits about 5 slots of 50 ms, however they race.
    assert elapsed >= (count - 1) / 20 - 0.02
    assert waits[-1] >= (count - 1) / 20 - 0.03


def test_the_embedded_default_spaces_senders_through_a_shared_file(settings, tmp_path):
    settings.REDIS_URL = ""
    settings.VAR_DIR = tmp_path
    _assert_spaced(settings)
    assert (tmp_path / "delivery-rate.slot").exists()


def test_redis_spaces_senders_on_any_host(settings):
    url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    parts = urlsplit(url)
    require_service("Redis", parts.hostname or "127.0.0.1", parts.port or 6379)
    settings.REDIS_URL = url
    _assert_spaced(settings)


def test_a_rate_of_zero_never_waits(settings):
    settings.DELIVERY_RATE_PER_SECOND = 0  # at 20/s, 20 senders would need about 1 s
    assert max(_reserve_from_threads(20)) < 0.5
