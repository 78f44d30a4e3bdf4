"""One send rate for all workers: each message takes the next free slot, ``1/rate`` seconds apart.

With Redis the "next free slot" lives in one Redis key, moved atomically by a Lua script, so any
number of worker processes on any number of hosts share ``DELIVERY_RATE_PER_SECOND``. Without
Redis (the embedded default: one machine) it lives in a file under ``VAR_DIR``, moved under an
exclusive ``flock``. A rate of 0 turns the limit off.
"""

from __future__ import annotations

import fcntl
import time
from functools import cache

from django.conf import settings

_KEY = "dpd:delivery:next-slot"
# Reserve the next slot (a float, seconds since the epoch) and return the one we got.
_LUA = """
local now = tonumber(ARGV[1])
local gap = tonumber(ARGV[2])
local slot = tonumber(redis.call('GET', KEYS[1]) or '0')
if slot < now then slot = now end
redis.call('SET', KEYS[1], tostring(slot + gap), 'PX', 60000)
return tostring(slot)
"""


@cache
def _redis_script(url: str):
    import redis

    return redis.Redis.from_url(url).register_script(_LUA)


def _reserve_redis(now: float, gap: float) -> float:
    return float(_redis_script(settings.REDIS_URL)(keys=[_KEY], args=[repr(now), repr(gap)]))


def _reserve_file(now: float, gap: float) -> float:
    path = settings.VAR_DIR / "delivery-rate.slot"
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        handle.seek(0)
        try:
            slot = float(handle.read().strip() or 0)
        except ValueError:
            slot = 0.0
        slot = max(slot, now)
        handle.seek(0)
        handle.truncate()
        handle.write(repr(slot + gap))
        handle.flush()
    return slot


def send_slot_wait() -> float:
    """Block until this process may send one message; returns the seconds waited."""
    rate = settings.DELIVERY_RATE_PER_SECOND
    if rate <= 0:
        return 0.0
    now = time.time()
    reserve = _reserve_redis if settings.REDIS_URL else _reserve_file
    slot = reserve(now, 1.0 / rate)
    wait = slot - now
    if wait > 0:
        time.sleep(wait)
    return max(wait, 0.0)
