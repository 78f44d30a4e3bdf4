"""Without Redis the rate limits live in files under VAR_DIR that every process shares."""

import subprocess
import sys
import time
from datetime import timedelta

import pytest
import time_machine

from newsletter.lib.filecache import SharedFileCache
from tests.helpers import ROOT, process_env

COUNT_ALLOWED = """
import sys, time
import django
django.setup()
from subscriptions.ratelimit import rate_limit_exceeded
start = float(sys.argv[1])
while time.time() < start:
    time.sleep(0.005)
allowed = sum(
    not rate_limit_exceeded(scope="ip", key="203.0.113.9", limit=20) for _ in range(30)
)
print(allowed)
"""


@pytest.mark.slow
def test_two_processes_share_one_per_ip_limit(tmp_path):
    env = process_env(VAR_DIR=str(tmp_path / "var"), DJANGO_SETTINGS_MODULE="newsletter.settings")
    start = str(time.time() + 3)  # both processes are up by then and post at the same time
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", COUNT_ALLOWED, start],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    results = [process.communicate(timeout=60) for process in processes]
    assert all(process.returncode == 0 for process in processes), results
    allowed = [int(out) for out, _ in results]
    assert sum(allowed) == 20, allowed  # 60 posts from one IP, a limit of 20: 20 get through


def test_a_counter_lasts_its_whole_window(tmp_path):
    cache = SharedFileCache(str(tmp_path / "cache"), {})
    with time_machine.travel("2026-11-29 10:00:00Z", tick=False) as clock:
        assert cache.add("ratelimit:test", 1, timeout=3600)
        assert cache.incr("ratelimit:test") == 2
        clock.shift(timedelta(minutes=30))
        assert cache.incr("ratelimit:test") == 3
        clock.shift(timedelta(minutes=31))
        assert cache.get("ratelimit:test") is None


def test_a_full_cache_sheds_expired_counters_and_keeps_live_ones(tmp_path):
    cache = SharedFileCache(str(tmp_path / "cache"), {"OPTIONS": {"MAX_ENTRIES": 10}})
    with time_machine.travel("2026-11-29 10:00:00Z", tick=False) as clock:
        for i in range(9):
            cache.add(f"old:{i}", 1, timeout=60)
        cache.add("live", 5, timeout=3600)
        clock.shift(timedelta(minutes=5))
        cache.add("new", 1, timeout=3600)  # the folder is full: the nine expired ones go
        assert cache.get("live") == 5 and cache.get("new") == 1
        assert len(list((tmp_path / "cache").glob("*.djcache"))) == 2
