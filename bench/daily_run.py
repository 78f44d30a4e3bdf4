"""Benchmark the daily run end to end: N synthetic subscribers, 300 papers, real workers, real SMTP.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/dpd REDIS_URL=redis://127.0.0.1:6379/7 \\
        .venv/bin/python bench/daily_run.py --subscribers 100000

It creates (or recreates) its own PostgreSQL database, ``<name of DATABASE_URL's database>_bench``
unless ``--database-url`` names one, migrates it, stores 300 papers (the listing captures and arXiv
API entries in tests/data) as one listing day, and N active subscribers with realistic interests:
1-4 topics, 3-10 keywords from the topics' phrases, 10% with excluded terms, 5% weekly, time zones
spread over the world. It starts an SMTP server (aiosmtpd, its own process, counting and
discarding) and ``--workers`` real Celery worker processes (bin/worker), sends beat's ``daily.tick``
at a moment when everyone is due, and waits until every email of the day is finished. It prints
wall time, emails per second, each stage's time, peak memory (VmHWM) of every process, and SQL
queries per digest (built and sent) measured in this process for two chunk sizes and two paper
counts: constant when the numbers match.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta
from multiprocessing import Event, Process, Value
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DAY = date(2026, 3, 3)
ZONES = [  # (time zone, weight): roughly where readers of ML papers live
    ("America/Los_Angeles", 12),
    ("America/New_York", 14),
    ("America/Sao_Paulo", 3),
    ("Europe/London", 8),
    ("Europe/Berlin", 10),
    ("Europe/Paris", 6),
    ("Europe/Zurich", 2),
    ("Asia/Kolkata", 8),
    ("Asia/Shanghai", 12),
    ("Asia/Tokyo", 5),
    ("Asia/Seoul", 4),
    ("Asia/Singapore", 3),
    ("Australia/Sydney", 3),
    ("Africa/Lagos", 1),
    ("UTC", 9),
]
EXCLUSIONS = ["survey", "benchmark", "quantum", "medical", "blockchain", "theorem", "protein"]


# --- The SMTP server (its own process) -------------------------------------------------------


def smtp_sink(port: int, received, ready) -> None:
    import logging

    from aiosmtpd.controller import Controller

    logging.getLogger("mail.log").setLevel(logging.WARNING)

    class Handler:
        async def handle_DATA(self, server, session, envelope):
            with received.get_lock():
                received.value += 1
            return "250 OK"

    controller = Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    ready.set()
    # Exit at once: the counter is all that matters, and stopping the controller first only
    # cancels its server thread mid-wait, which prints a traceback.
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    while True:
        time.sleep(1)


# --- Processes and memory --------------------------------------------------------------------


def peak_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _stat(path: Path) -> tuple[str, list[str]]:
    """A process's name and the fields of /proc/PID/stat after it (from the state on)."""
    name, _, rest = path.read_text().partition(" (")[2].rpartition(")")
    return name, rest.split()


def _ticks(fields: list[str], count: int) -> float:
    """Seconds of the ``count`` CPU counters from utime on (2: user and system; 4: also the
    children waited for)."""
    return sum(int(v) for v in fields[11 : 11 + count]) / os.sysconf("SC_CLK_TCK")


def cpu_s(pid: int) -> float:
    """CPU seconds (user + system) the process has used so far."""
    try:
        return _ticks(_stat(Path(f"/proc/{pid}/stat"))[1], 2)
    except OSError:
        return 0.0


def service_cpu_s(command: str) -> float:
    """CPU seconds used so far by every process named ``command`` (``postgres``,
    ``redis-server``) and by their children that have exited (PostgreSQL's backends of closed
    connections count in the postmaster's)."""
    total = 0.0
    for path in Path("/proc").glob("[0-9]*/stat"):
        try:
            name, fields = _stat(path)
        except OSError:
            continue
        if name == command:
            total += _ticks(fields, 4)
    return total


def machine_cpu_s() -> float:
    """CPU seconds all cores of the machine spent busy (not idle, not waiting for I/O) so far."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    return (sum(values) - values[3] - values[4]) / os.sysconf("SC_CLK_TCK")


def children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(p) for p in text.split()]


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- Data ------------------------------------------------------------------------------------


def database_create(url: str) -> None:
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def papers_store(count: int, day: date) -> int:
    """``count`` papers listed on ``day``, from the recorded listings in tests/data."""
    from newsletter.papers.ingest import listing_store
    from newsletter.papers.sources import parse_listing

    records = []
    inputs = [
        *sorted((ROOT / "tests/data/listings").glob("*.txt")),
        ROOT / "tests/data/arxiv/api_query_100_entries.atom.xml",
    ]
    seen = set()
    for path in inputs:
        listing = parse_listing(path.read_bytes(), name=path.name, today=day, listing_date=day)
        for record in listing.records:
            key = record.title.casefold()
            if key not in seen:
                seen.add(key)
                records.append(record)
    listing.records = records[:count]
    listing.problems = []
    listing_store(listing=listing, today=day, origin="bench listing")
    from newsletter.papers.models import ListingEntry

    return ListingEntry.objects.filter(listing_date=day).values("paper_id").distinct().count()


def subscribers_create(count: int, *, seed: int = 7) -> None:
    from django.db import transaction
    from django.utils import timezone

    from newsletter.lib import days
    from subscriptions.models import Interest, Subscriber, Topic

    rng = random.Random(seed)
    topics = list(Topic.objects.filter(active=True))
    zones = [zone for zone, _ in ZONES]
    weights = [weight for _, weight in ZONES]
    now = timezone.now()
    batch = 5000
    for start in range(0, count, batch):
        rows, plans = [], []
        for n in range(start, min(start + batch, count)):
            zone = rng.choices(zones, weights)[0]
            hour = rng.choice([6, 7, 7, 8, 8, 9, 10, 12, 18])
            weekly = rng.random() < 0.05
            due = days.send_time(day=DAY, tz_name=zone, hour=hour, run_hour=23)
            rows.append(
                Subscriber(
                    email=f"reader{n}@bench.example.org",
                    status=Subscriber.Status.ACTIVE,
                    timezone=zone,
                    send_hour=hour,
                    frequency="weekly" if weekly else "daily",
                    weekday=due.astimezone(days.zone(zone)).weekday(),
                    max_papers=rng.choice([5, 10, 10, 15]),
                    confirmed_at=now,
                )
            )
            chosen = rng.sample(topics, rng.randint(1, 4))
            phrases = sorted({p for t in chosen for p in t.phrases})
            keywords = rng.sample(phrases, min(len(phrases), rng.randint(3, 10)))
            excluded = rng.sample(EXCLUSIONS, 2) if rng.random() < 0.10 else []
            plans.append((chosen, keywords, excluded))
        with transaction.atomic():
            created = Subscriber.objects.bulk_create(rows)
            through = Subscriber.topics.through
            links, interests = [], []
            for subscriber, (chosen, keywords, excluded) in zip(created, plans, strict=True):
                links += [through(subscriber_id=subscriber.pk, topic_id=t.pk) for t in chosen]
                interests += [
                    Interest(subscriber=subscriber, kind="keyword", value=k[:100], position=i)
                    for i, k in enumerate(keywords)
                ]
                interests += [
                    Interest(subscriber=subscriber, kind="exclude", value=e, position=i)
                    for i, e in enumerate(excluded)
                ]
            through.objects.bulk_create(links)
            Interest.objects.bulk_create(interests)


# --- Queries per digest ----------------------------------------------------------------------


def queries_for(day: date, ids: list[int]) -> int:
    """SQL queries to build and send the digests of ``ids`` on ``day``."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from newsletter.daily import run as daily
    from newsletter.delivery.services import deliveries_send

    with CaptureQueriesContext(connection) as captured:
        delivery_ids = daily.digests_chunk_process(day=day, subscriber_ids=ids, weekly=False)
        deliveries_send(delivery_ids=delivery_ids)
    return len(captured.captured_queries)


def queries_table(subscriber_ids: list[int]) -> list[dict]:
    """Queries for chunks of 20 and 100 digests, on days of 100 and 300 papers, and the cost of
    one more digest: (q100 - q20) / 80. Every measured reader gets an email (a quiet day note
    when nothing matches), so each digest is built and sent."""
    from newsletter.papers.models import ListingEntry
    from subscriptions.models import Subscriber

    Subscriber.objects.filter(pk__in=subscriber_ids).update(quiet_day_note=True)
    rows = []
    for offset, papers in ((1, 100), (2, 300)):
        day = DAY - timedelta(days=7 * offset)
        entries = ListingEntry.objects.filter(listing_date=DAY).order_by("rank")[:papers]
        ListingEntry.objects.bulk_create(
            [
                ListingEntry(
                    paper_id=e.paper_id, origin="bench copy", listing_date=day, rank=e.rank
                )
                for e in entries
            ]
        )
        small = queries_for(day, subscriber_ids[:20])
        large = queries_for(day, subscriber_ids[20:120])
        rows.append(
            {
                "papers": papers,
                "queries_chunk_20": small,
                "queries_chunk_100": large,
                "queries_per_digest": round((large - small) / 80, 2),
            }
        )
    return rows


# --- The run ---------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscribers", type=int, default=100_000)
    parser.add_argument("--papers", type=int, default=300)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--database-url", default="")
    parser.add_argument("--redis-url", default="")
    parser.add_argument("--timeout", type=int, default=3600, help="Give up after this many s.")
    parser.add_argument("--json", action="store_true", help="Print the figures as JSON only.")
    parser.add_argument(
        "--lexical", action="store_true", help="Match by keywords only (MATCHING_SEMANTIC=0)."
    )
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("stopped"))  # the workers are stopped too

    base = os.environ.get("DATABASE_URL") or "postgres://postgres@127.0.0.1:5432/dpd"
    if not base.startswith("postgres"):
        base = "postgres://postgres@127.0.0.1:5432/dpd"
    database_url = args.database_url or urlunsplit(
        urlsplit(base)._replace(path=urlsplit(base).path + "_bench")
    )
    redis_url = args.redis_url or os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/15"
    smtp_port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")},
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "DJANGO_SETTINGS_MODULE": "newsletter.settings",
        "DEBUG": "0",  # as in production (DEBUG keeps every SQL query in memory)
        "SECRET_KEY": "bench-only-" + "".join(random.choices("abcdefghijklmnopqrstuvwxyz", k=40)),
        "LOG_LEVEL": "warning",
        "EMAIL_PROVIDER": "smtp",
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": str(smtp_port),
        "EMAIL_USE_TLS": "0",
        "DELIVERY_RATE_PER_SECOND": "0",
        "SITE_URL": "https://digest.example.org",
        "DEFAULT_FROM_EMAIL": "Daily Papers Digest <digest@digest.example.org>",
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]),
        "PYTHONUNBUFFERED": "1",
        "MATCHING_SEMANTIC": "0" if args.lexical else os.environ.get("MATCHING_SEMANTIC", "1"),
    }
    os.environ.update(env)
    figures: dict = {"subscribers": args.subscribers, "workers": args.workers}

    clock = time.monotonic()
    _say(f"creating {urlsplit(database_url).path.lstrip('/')} and migrating")
    database_create(database_url)
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--no-input", "-v0"], cwd=ROOT, env=env, check=True
    )
    import django

    django.setup()
    from django.db import connection

    from newsletter.celery import app
    from newsletter.daily.models import DailyRun
    from newsletter.delivery.models import Delivery
    from newsletter.digests.models import Digest
    from newsletter.papers.models import Source
    from subscriptions.models import Subscriber

    Source.objects.update(enabled=False)  # the day's papers are stored here, not fetched
    stored = time.monotonic()
    figures["papers"] = papers_store(args.papers, DAY)
    figures["stage_ingest_s"] = round(time.monotonic() - stored, 2)
    made = time.monotonic()
    _say(f"{figures['papers']} papers stored; creating {args.subscribers:,} subscribers")
    subscribers_create(args.subscribers)
    figures["prepare_subscribers_s"] = round(time.monotonic() - made, 2)
    figures["prepare_total_s"] = round(time.monotonic() - clock, 2)
    connection.close()

    received = Value("i", 0)
    ready = Event()
    sink = Process(target=smtp_sink, args=(smtp_port, received, ready), daemon=True)
    sink.start()
    ready.wait(30)
    with app.connection_for_write() as conn:
        app.control.purge(connection=conn)  # leftovers of an earlier bench on this Redis database
    workers = [
        subprocess.Popen(
            [str(ROOT / "bin/worker"), "--concurrency", "1", "-n", f"bench{n}@%h"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for n in range(args.workers)
    ]
    processes = {"smtp server": sink.pid, "bench (this process)": os.getpid()}
    try:
        time.sleep(1)
        _wait_for_workers(app, args.workers)
        # Beat's tick starts the day at 23:00 UTC; the sweep after it comes at a moment when
        # every subscriber's hour has come, so the whole day goes out at once.
        started = datetime.combine(DAY, datetime.min.time(), tzinfo=UTC) + timedelta(hours=23)
        everyone = started + timedelta(hours=26)
        _say("workers ready; beat's tick and a sweep sent")
        start = time.monotonic()
        machine_start = machine_cpu_s()
        services_start = {name: service_cpu_s(name) for name in ("postgres", "redis-server")}
        app.send_task("daily.tick", kwargs={"now": started.isoformat()})
        marks: dict[str, float] = {}
        total = Subscriber.objects.count()
        said = start
        while time.monotonic() - start < args.timeout:
            time.sleep(1.0)  # the counts below are the only load this process adds
            if time.monotonic() - said > 15:
                said = time.monotonic()
                _say(
                    f"digests {Digest.objects.filter(day=DAY).count():,}, emails received "
                    f"{received.value:,}"
                )
            run = DailyRun.objects.filter(day=DAY).first()
            if run and "candidates" not in marks and run.state == DailyRun.State.SENDING:
                marks["candidates"] = time.monotonic()
                app.send_task("daily.sweep", kwargs={"now": everyone.isoformat()})
            built = "candidates" in marks and "digests" not in marks
            if built and Digest.objects.filter(day=DAY).count() >= total:
                marks["digests"] = time.monotonic()
            if "digests" in marks:
                waiting = Delivery.objects.filter(
                    kind="digest", state__in=("queued", "sending", "retry")
                ).count()
                if not waiting:
                    marks["sent"] = time.monotonic()
                    break
        else:  # out of time: the figures so far, marked unfinished
            _say("timed out: printing the figures so far")
            for mark in ("candidates", "digests", "sent"):
                marks.setdefault(mark, time.monotonic())
        figures["finished"] = (
            Delivery.objects.filter(kind="digest", state__in=("queued", "sending", "retry")).count()
            == 0
            and Digest.objects.filter(day=DAY).count() >= total
        )
        end = marks["sent"]
        states = dict(
            Delivery.objects.filter(kind="digest")
            .values_list("state")
            .annotate(n=__import__("django.db.models", fromlist=["Count"]).Count("pk"))
        )
        run = DailyRun.objects.get(day=DAY)
        sent = states.get("sent", 0)
        figures.update(
            wall_s=round(end - start, 2),
            emails_sent=sent,
            smtp_received=received.value,
            emails_per_s=round(sent / (end - start), 1),
            digests=Digest.objects.filter(day=DAY).count(),
            quiet_digests=Digest.objects.filter(day=DAY, papers_count=0).count(),
            deliveries=states,
            stage_matching_s=run.stages.get("matching", {}).get("seconds"),
            stage_until_candidates_s=round(marks["candidates"] - start, 2),
            stage_build_and_queue_s=round(marks["digests"] - marks["candidates"], 2),
            stage_send_tail_s=round(end - marks["digests"], 2),
        )
        busy = machine_cpu_s() - machine_start
        cpu = {"smtp server": cpu_s(sink.pid)}
        for n, worker in enumerate(workers):
            cpu[f"worker {n}"] = cpu_s(worker.pid) + sum(cpu_s(c) for c in children(worker.pid))
        cpu["PostgreSQL (every process)"] = service_cpu_s("postgres") - services_start["postgres"]
        cpu["Redis"] = service_cpu_s("redis-server") - services_start["redis-server"]
        cpu["everything else (this process, the kernel)"] = busy - sum(cpu.values())
        figures["cpu_ms_per_email"] = {
            name: round(1000 * seconds / max(sent, 1), 2) for name, seconds in cpu.items()
        }
        figures["machine_busy_ms_per_email"] = round(1000 * busy / max(sent, 1), 2)
        memory = {name: peak_kb(pid) // 1024 for name, pid in processes.items()}
        for n, worker in enumerate(workers):
            memory[f"worker {n} (main)"] = peak_kb(worker.pid) // 1024
            for child in children(worker.pid):
                memory[f"worker {n} (pool process {child})"] = peak_kb(child) // 1024
        figures["peak_memory_mb"] = memory
    finally:
        for worker in workers:
            worker.send_signal(signal.SIGTERM)
        for worker in workers:
            try:
                worker.wait(30)
            except subprocess.TimeoutExpired:
                worker.kill()
    _say("the day is out; measuring queries per digest")
    ids = list(Subscriber.objects.order_by("pk").values_list("pk", flat=True)[:120])
    figures["queries"] = queries_table(ids)
    sink.terminate()
    if args.json:
        print(json.dumps(figures))
    else:
        _print(figures)
    return figures


def _say(text: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


def _wait_for_workers(app, count: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        answers = app.control.ping(timeout=1.0) or []
        if len(answers) >= count:
            return
    raise SystemExit("the workers did not start")


def _print(figures: dict) -> None:
    print(
        f"daily run: {figures['subscribers']:,} subscribers x {figures['papers']} papers, "
        f"{figures['workers']} worker processes, SMTP server in its own process"
    )
    print(
        f"  prepare (migrate, subscribers):   {figures['prepare_total_s']:>8.1f} s (not timed below)"
    )
    print(f"  ingest (store the day's papers):  {figures['stage_ingest_s']:>8.1f} s")
    print(
        f"  tick -> candidates fixed:         {figures['stage_until_candidates_s']:>8.1f} s "
        f"(matching stage {figures['stage_matching_s']} s)"
    )
    print(f"  build + queue every digest:       {figures['stage_build_and_queue_s']:>8.1f} s")
    print(f"  send the rest:                    {figures['stage_send_tail_s']:>8.1f} s")
    print(f"  total wall time (tick -> last):   {figures['wall_s']:>8.1f} s")
    print(
        f"  digests {figures['digests']:,} ({figures['quiet_digests']:,} quiet: no email), "
        f"emails sent {figures['emails_sent']:,}, received by SMTP {figures['smtp_received']:,}"
    )
    print(f"  emails per second end to end:     {figures['emails_per_s']:>8.1f}")
    if not figures["finished"]:
        print("  NOT FINISHED: stopped by --timeout; the figures above are for the part done")
    print(f"  deliveries by state: {figures['deliveries']}")
    print(f"  CPU per email sent (ms), whole machine {figures['machine_busy_ms_per_email']}:")
    for name, ms in figures["cpu_ms_per_email"].items():
        print(f"    {name:<50} {ms:>6}")
    print("  peak memory (VmHWM):")
    for name, mb in figures["peak_memory_mb"].items():
        print(f"    {name:<36} {mb:>6} MB")
    print("  SQL queries to build and send digests (measured in this process):")
    for row in figures["queries"]:
        print(
            f"    {row['papers']:>3} papers: chunk of 20 {row['queries_chunk_20']}, chunk of 100 "
            f"{row['queries_chunk_100']}, each further digest {row['queries_per_digest']}"
        )


if __name__ == "__main__":
    main()
