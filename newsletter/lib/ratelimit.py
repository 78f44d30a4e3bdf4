"""One rate for all workers: each caller of a named limit takes the next free slot, ``gap``
seconds after the one before.

With Redis the "next free slot" lives in one Redis key per name, moved atomically by a Lua
script, so any number of worker processes on any number of hosts share it. Without Redis (the
embedded default: one machine) it lives in a file under ``VAR_DIR``, moved under an exclusive
``flock``. Delivery paces its sends with it, papers its calls to the arXiv API.
"""

from __future__ import annotations

import fcntl
import time
from functools import cache

from django.conf import settings

# Reserve the next slot (a float, seconds since the epoch) and return the one we got. The key
# lives a minute past the last slot handed out, however far ahead that is.
_LUA = """
local now = tonumber(ARGV[1])
local gap = tonumber(ARGV[2])
local slot = tonumber(redis.call('GET', KEYS[1]) or '0')
if slot < now then slot = now end
redis.call('SET', KEYS[1], tostring(slot + gap), 'PX', math.ceil((slot + gap - now) * 1000) + 60000)
return tostring(slot)
"""


@cache
def _redis_script(url: str):
    import redis

    return redis.Redis.from_url(url).register_script(_LUA)


def _reserve_redis(name: str, now: float, gap: float) -> float:
    script = _redis_script(settings.REDIS_URL)
    return float(script(keys=[f"dpd:{name}:next-slot"], args=[repr(now), repr(gap)]))


def _reserve_file(name: str, now: float, gap: float) -> float:
    path = settings.VAR_DIR / f"{name}-rate.slot"
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


def slot_wait(name: str, *, gap: float) -> float:
    """Block until this process may make one call of the limit ``name`` (at most one every
    ``gap`` seconds across all workers); returns the seconds waited. A gap of 0 never waits."""
    if gap <= 0:
        return 0.0
    now = time.time()
    reserve = _reserve_redis if settings.REDIS_URL else _reserve_file
    wait = reserve(name, now, gap) - now
    if wait > 0:
        time.sleep(wait)
    return max(wait, 0.0)
