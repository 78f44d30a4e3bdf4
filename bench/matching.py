"""Benchmark: rank 300 papers for 10k and 100k synthetic subscribers; wall time and memory.

Run by hand: ``DEBUG=1 .venv/bin/python bench/matching.py [--subscribers 10000 100000]``. A fresh
SQLite database (or ``DATABASE_URL`` when ``--use-database-url`` is given) gets the first 300
papers of one test-split day, listed on that day, and the subscribers: 1-4 topics of the
taxonomy and 3-10 keywords drawn from its phrases each, 10% with one or two excluded terms, 5%
with one to three liked papers. Stages, each with wall time, peak resident memory of the process
and the growth over the stage:

- embed the day's papers (the ``papers_stored`` task's work);
- build every profile from scratch (no stored profile yet);
- the daily ranking from stored profiles and vectors, loading them from the database included,
  top picks without reasons (what the issue's target is about), in this process and then in a
  fresh one (as a worker does it: its peak is the whole process's, nothing left from the stages
  before), then with reasons;
- the whole day from nothing: vectors, profiles, ranking and reasons in one call.

Target on this 2-core machine for 100k x 300: the daily ranking within 5 s and 1 GB.
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import shutil
import sys
import tempfile
import threading
import time
from collections import Counter
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SPLIT = ROOT.parent / "shared" / "benchmark" / "arxiv_papers_test.csv"
PAPERS = 300


def rss_mb() -> float:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


class Stage:
    """Wall time and peak RSS (sampled every 5 ms) of a block."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __enter__(self):
        self.start_rss = self.peak = rss_mb()
        self.running = True
        self.thread = threading.Thread(target=self._sample, daemon=True)
        self.thread.start()
        self.started = time.perf_counter()
        return self

    def _sample(self) -> None:
        while self.running:
            self.peak = max(self.peak, rss_mb())
            time.sleep(0.005)

    def __exit__(self, *exc) -> None:
        self.seconds = time.perf_counter() - self.started
        self.running = False
        self.thread.join()
        self.peak = max(self.peak, rss_mb())
        print(
            f"  {self.name:<58} {self.seconds:>8.2f} s   peak {self.peak:>7.0f} MB"
            f"   +{self.peak - self.start_rss:>6.0f} MB",
            flush=True,
        )


def setup_django(use_database_url: bool) -> str:
    var = tempfile.mkdtemp(prefix="dpd-bench-")
    os.environ["VAR_DIR"] = var
    if not use_database_url:
        os.environ.pop("DATABASE_URL", None)
    os.environ.pop("REDIS_URL", None)
    os.environ.setdefault("DEBUG", "1")
    os.environ["DJANGO_SETTINGS_MODULE"] = "newsletter.settings"
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    return var


def day_papers() -> tuple[date, list[dict]]:
    with open(SPLIT, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    day = Counter(r["first_seen_listing_date"] for r in rows).most_common(1)[0][0]
    return date.fromisoformat(day), [r for r in rows if r["first_seen_listing_date"] == day][
        :PAPERS
    ]


def store_papers(day: date, rows: list[dict]) -> list[int]:
    from django.utils import timezone

    from newsletter.papers.models import ListingEntry, Paper

    now = timezone.now()
    papers = Paper.objects.bulk_create(
        [
            Paper(
                arxiv_id=r["arxiv_id"],
                title=r["title"],
                normalized_title=r["title"].lower()[:500],
                abstract=r["abstract"],
                authors=[a.strip() for a in r["authors"].split(",") if a.strip()][:20],
                categories=r["categories"].split(),
                primary_category=r["primary_category"],
                first_seen=now,
                updated_at=now,
            )
            for r in rows
        ]
    )
    ListingEntry.objects.bulk_create(
        [
            ListingEntry(paper=p, listing_date=day, rank=n, origin="bench")
            for n, p in enumerate(papers, start=1)
        ]
    )
    return [p.pk for p in papers]


def make_subscribers(count: int, arxiv_ids: list[str], seed: int = 7) -> list[int]:
    from subscriptions.models import Interest, Subscriber, Topic

    rng = random.Random(seed)
    topics = list(Topic.objects.all())
    phrases = sorted({p for t in topics for p in t.phrases})
    start = Subscriber.objects.count()
    subscribers = Subscriber.objects.bulk_create(
        [
            Subscriber(email=f"s{start + n}@bench.example", status=Subscriber.Status.ACTIVE)
            for n in range(count)
        ],
        batch_size=5000,
    )
    interests, links = [], []
    through = Subscriber.topics.through
    for s in subscribers:
        for t in rng.sample(topics, rng.randint(1, 4)):
            links.append(through(subscriber_id=s.pk, topic_id=t.pk))
        for pos, kw in enumerate(rng.sample(phrases, rng.randint(3, 10))):
            interests.append(Interest(subscriber_id=s.pk, kind="keyword", value=kw, position=pos))
        if rng.random() < 0.10:
            for pos, kw in enumerate(rng.sample(phrases, rng.randint(1, 2))):
                interests.append(
                    Interest(subscriber_id=s.pk, kind="exclude", value=kw, position=pos)
                )
        if rng.random() < 0.05:
            for pos, aid in enumerate(rng.sample(arxiv_ids, rng.randint(1, 3))):
                interests.append(
                    Interest(subscriber_id=s.pk, kind="paper", value=aid, position=pos)
                )
    through.objects.bulk_create(links, batch_size=5000)
    Interest.objects.bulk_create(interests, batch_size=5000)
    return [s.pk for s in subscribers]


def rank_in_fresh_process(day: date, subscriber_ids: list[int]) -> None:
    """The daily ranking as a worker does it at the hour: a new process that has ranked nothing
    and embedded nothing, reading the stored profiles and vectors. Prints wall time and peak RSS
    (VmHWM, the whole process: Python, Django and numpy included)."""
    import json
    import subprocess

    env = {**os.environ, "BENCH_RANK_DAY": day.isoformat()}  # VAR_DIR: the same database
    child = subprocess.run(
        [sys.executable, __file__, "--rank-only"],
        input=json.dumps(subscriber_ids),
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    figures = json.loads(child.stdout.strip().splitlines()[-1])
    print(
        f"  {'daily ranking in a fresh process, top picks (no reasons)':<58} "
        f"{figures['seconds']:>8.2f} s   peak {figures['peak_mb']:>7.0f} MB   (the whole process)",
        flush=True,
    )


def rank_only() -> None:
    """The child of ``rank_in_fresh_process``: Django on the parent's database, one ranking."""
    import json

    os.environ["DJANGO_SETTINGS_MODULE"] = "newsletter.settings"
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from newsletter.matching import services

    ids = json.loads(sys.stdin.read())
    day = date.fromisoformat(os.environ["BENCH_RANK_DAY"])
    started = time.perf_counter()
    services.rankings_for_day(day=day, subscriber_ids=ids, with_reasons=False)
    seconds = time.perf_counter() - started
    with open("/proc/self/status") as handle:
        peak = next(int(line.split()[1]) for line in handle if line.startswith("VmHWM:"))
    print(json.dumps({"seconds": seconds, "peak_mb": peak / 1024}))


def main() -> None:
    if "--rank-only" in sys.argv:
        rank_only()
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscribers", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--use-database-url", action="store_true")
    args = parser.parse_args()
    var = setup_django(args.use_database_url)
    try:
        from django.db import connection

        from newsletter.matching import services
        from newsletter.matching.models import PaperVector, SubscriberProfile
        from subscriptions.models import Subscriber

        day, rows = day_papers()
        ids = store_papers(day, rows)
        arxiv_ids = [r["arxiv_id"] for r in rows]
        print(f"{len(ids)} papers listed on {day}; database: {connection.vendor}")
        print(f"  {'stage':<58} {'wall':>10}   {'peak RSS':>12}   {'growth':>7}")
        services.rankings_for_day(day=day, subscriber_ids=[])  # load code before measuring
        with Stage("embed the day's papers (300, once each)"):
            services.paper_vectors_compute(paper_ids=ids)
        total = 0
        for count in args.subscribers:
            Subscriber.objects.all().delete()
            subscriber_ids = make_subscribers(count, arxiv_ids)
            total = count
            print(f"\n{total:,} subscribers x {len(ids)} papers")
            services._phrase_cache.clear()
            with Stage("build profiles from scratch"):
                for start in range(0, len(subscriber_ids), services.CHUNK):
                    services.profiles_for(
                        subscriber_ids=subscriber_ids[start : start + services.CHUNK]
                    )
            with Stage("daily ranking from stored profiles, top picks (no reasons)"):
                result = services.rankings_for_day(
                    day=day, subscriber_ids=subscriber_ids, with_reasons=False
                )
            picked = sum(len(v) for v in result.values())
            rank_in_fresh_process(day, subscriber_ids)
            with Stage("daily ranking from stored profiles, with reasons"):
                result = services.rankings_for_day(day=day, subscriber_ids=subscriber_ids)
            print(
                f"  picks: {picked:,} ({picked / count:.1f} per subscriber; "
                f"{sum(1 for v in result.values() if not v):,} subscribers with none)"
            )
            PaperVector.objects.all().delete()
            SubscriberProfile.objects.all().delete()
            services._phrase_cache.clear()
            with Stage("whole day from nothing (vectors, profiles, ranking, reasons)"):
                services.rankings_for_day(day=day, subscriber_ids=subscriber_ids)
    finally:
        shutil.rmtree(var, ignore_errors=True)


if __name__ == "__main__":
    main()
