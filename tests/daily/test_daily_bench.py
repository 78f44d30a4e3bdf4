"""A small run of bench/daily_run.py: 1,000 subscribers through real workers to a real SMTP server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from urllib.parse import urlsplit

import pytest

from tests.helpers import ROOT, require_service

pytestmark = pytest.mark.slow


def test_the_benchmark_sends_every_email_once_with_constant_queries_per_digest():
    base = os.environ.get("DATABASE_URL", "")
    if not base.startswith("postgres"):
        base = "postgres://postgres@127.0.0.1:5432/dpd"
    parts = urlsplit(base)
    require_service("PostgreSQL", parts.hostname or "127.0.0.1", parts.port or 5432)
    redis_url = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/15"
    redis = urlsplit(redis_url)
    require_service("Redis", redis.hostname or "127.0.0.1", redis.port or 6379)
    database_url = parts._replace(path=parts.path + "_bench_test").geturl()
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    result = subprocess.run(
        [
            sys.executable,
            "bench/daily_run.py",
            "--subscribers",
            "1000",
            "--lexical",
            "--json",
            "--database-url",
            database_url,
            "--redis-url",
            redis_url,
            "--timeout",
            "240",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    assert figures["digests"] == 1000
    sent = figures["emails_sent"]
    assert sent == figures["smtp_received"] == 1000 - figures["quiet_digests"] > 0
    assert figures["deliveries"] == {"sent": sent}
    few, many = figures["queries"]  # days of 100 and 300 papers
    # Each further digest costs the same handful of queries, whatever the number of papers.
    assert 0 < few["queries_per_digest"] < 15
    assert abs(few["queries_per_digest"] - many["queries_per_digest"]) < 1
    assert all(mb > 0 for mb in figures["peak_memory_mb"].values())
