"""Benchmark: the complete MIME bytes of 10,000 personalised digests of 10 papers each.

Run by hand: ``.venv/bin/python bench/render.py [--messages N]``. Each message is built the way
the delivery ledger builds it at send time (context with every signed link, the compiled MJML
template filled, the text part, the headers, then ``message.message().as_bytes()``), for a different
subscriber and a different set of ten papers with reasons and highlighted words. The floor is a
bare ``EmailMultiAlternatives`` carrying the same HTML and text, built in advance: only its MIME
serialisation is timed. Targets: at most 1.5 times the floor, 3 ms per message, HTML < 60 KB.

Papers come from ``../shared/benchmark/arxiv_papers_test.csv`` when it is there (else synthetic
ones); nothing touches the database: the objects are made in memory, as loaded.
"""

from __future__ import annotations

import argparse
import csv
import gc
import os
import random
import sys
import time
import uuid
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CSV = ROOT.parent / "shared" / "benchmark" / "arxiv_papers_test.csv"
PAPERS_PER_DIGEST = 10
PAPERS_PER_DAY = 300  # one listing day: every digest of the day picks from these


def setup() -> None:
    os.environ.setdefault("DEBUG", "0")
    os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-0123456789abcdefghijklmnop")
    os.environ.setdefault("SITE_URL", "https://papers.example.org")
    os.environ.setdefault("SENDER_POSTAL_ADDRESS", "Daily Papers Digest, 1 Example St, Berlin")
    os.environ["DJANGO_SETTINGS_MODULE"] = "newsletter.settings"
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def paper_rows(count: int) -> list[dict]:
    if CSV.exists():
        with CSV.open(encoding="utf-8") as handle:
            return list(csv.DictReader(handle))[:count]
    words = ["learning", "robot", "vision", "language", "model", "graph", "quantum", "protein"]
    return [
        {
            "arxiv_id": f"2601.{i:05d}",
            "title": " ".join(random.choices(words, k=10)).title(),
            "abstract": " ".join(random.choices(words, k=180)) + ".",
            "authors": "Ada Lovelace; Alan Turing; Grace Hopper; Edsger Dijkstra",
        }
        for i in range(count)
    ]


def make_objects(messages: int):
    from newsletter.digests.models import Digest, DigestItem
    from newsletter.papers.models import Paper
    from subscriptions.models import Subscriber

    rng = random.Random(7)
    papers = []
    for pk, row in enumerate(paper_rows(PAPERS_PER_DAY), start=1):
        authors = [a.strip() for a in row["authors"].replace(";", ",").split(",") if a.strip()]
        papers.append(
            Paper(
                pk=pk,
                arxiv_id=row["arxiv_id"],
                title=" ".join(row["title"].split()),
                abstract=" ".join(row["abstract"].split()),
                authors=authors,
                published=date(2026, 1, 20),
                upvotes=rng.choice([None, 3, 12, 41]),
                hf_url=f"https://huggingface.co/papers/{row['arxiv_id']}" if pk % 3 == 0 else "",
                code_url="https://github.com/example/code" if pk % 4 == 0 else "",
            )
        )
    digests = []
    for n in range(messages):
        subscriber = Subscriber(
            pk=n + 1, email=f"reader{n}@example.org", public_id=uuid.uuid4(), link_version=1
        )
        digest = Digest(
            pk=n + 1,
            subscriber=subscriber,
            day=date(2026, 1, 20),
            public_id=uuid.uuid4(),
            papers_count=PAPERS_PER_DIGEST - 3,
        )
        items = []
        for rank, paper in enumerate(rng.sample(papers, PAPERS_PER_DIGEST), start=1):
            trending = rank > PAPERS_PER_DIGEST - 3
            # Each reader's own keyword: any word of the title, highlighted where it is.
            word = rng.choice(paper.title.split())
            start = paper.title.find(word)
            reasons = [
                {
                    "kind": "keyword",
                    "label": word.lower(),
                    "text": f"mentions \u201c{word.lower()}\u201d",
                    "spans": [
                        {"field": "title", "start": start, "end": start + len(word)},
                        {"field": "abstract", "start": 4, "end": 20},
                    ],
                },
                {"kind": "topic", "label": "Robotics", "text": "in your topic Robotics"},
            ]
            item = DigestItem(
                digest=digest,
                paper=paper,
                section="trending" if trending else "pick",
                rank=rank,
                score=0.5,
                reasons=[] if trending else reasons,
            )
            items.append(item)
        digests.append((digest, items))
    return digests


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=10_000)
    args = parser.parse_args()
    setup()
    from django.core.mail import EmailMultiAlternatives

    from newsletter.digests.rendering import digest_message
    from newsletter.lib import emails

    work = make_objects(args.messages)
    # A worker holds one batch of digests at a time, not 10,000: keep the bench's own pile of
    # objects out of the garbage collector's way, as it would be.
    gc.collect()
    gc.freeze()
    emails.html_template("digest")  # compiled once per process, as in a worker
    # A worker has its URLconf and templates loaded after its first message: warm up the same.
    for digest, items in work[:3]:
        digest_message(digest, items=items).message().as_bytes()

    def build(digest, items):
        message = digest_message(digest, items=items)
        message.extra_headers["Message-ID"] = f"<delivery-{digest.pk}.digest@papers.example.org>"
        message.extra_headers["List-Id"] = emails.list_id()
        return message

    # The floor: the bare MIME serialisation of the same HTML and text, built in advance.
    sizes, floors = [], []
    for digest, items in work:
        message = build(digest, items)
        html = message.alternatives[0][0]
        sizes.append(len(html.encode()))
        bare = EmailMultiAlternatives(
            subject=message.subject,
            body=message.body,
            from_email=message.from_email,
            to=message.to,
            headers=dict(message.extra_headers),
        )
        bare.attach_alternative(html, "text/html")
        floors.append(bare)
    # CPU time of this process, in alternating blocks: other jobs on the machine (it is shared)
    # slow both sides alike instead of whichever ran while they were busy. Besides the totals,
    # the fastest block of each side (as timeit reports) shows the cost without interference.
    ours = floor = 0.0
    best_ours = best_floor = float("inf")
    block = 250
    for start in range(0, len(work), block):
        chunk = work[start : start + block]
        t0 = time.process_time()
        for digest, items in chunk:
            build(digest, items).message().as_bytes()
        t1 = time.process_time()
        for bare in floors[start : start + block]:
            bare.message().as_bytes()
        t2 = time.process_time()
        ours, floor = ours + t1 - t0, floor + t2 - t1
        best_ours = min(best_ours, (t1 - t0) / len(chunk) * 1000)
        best_floor = min(best_floor, (t2 - t1) / len(chunk) * 1000)

    per = ours / len(work) * 1000
    per_floor = floor / len(work) * 1000
    print(f"messages: {len(work):,} personalised digests of {PAPERS_PER_DIGEST} papers")
    print(
        f"ours:  {ours:6.2f} s  {per:5.2f} ms/message  (context, links, templates, MIME bytes; CPU time)"
    )
    print(f"floor: {floor:6.2f} s  {per_floor:5.2f} ms/message  (same HTML+text, pre-built)")
    print(f"ratio: {per / per_floor:5.2f}x   (target <= 1.5x, <= 3 ms/message)")
    print(
        f"fastest block: ours {best_ours:.2f} ms, floor {best_floor:.2f} ms,"
        f" ratio {best_ours / best_floor:.2f}x"
    )
    print(
        f"HTML:  {sum(sizes) / len(sizes) / 1024:5.1f} KB mean, {max(sizes) / 1024:5.1f} KB max"
        " (target < 60 KB)"
    )


if __name__ == "__main__":
    main()
