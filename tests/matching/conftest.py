"""Papers of a few kinds, listed on days, and subscribers who read some of them."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from newsletter.papers.models import ListingEntry, Paper
from subscriptions.models import Interest, Subscriber

DAY1 = date(2026, 2, 2)
DAY2 = date(2026, 2, 3)

ROBOTICS = [
    (
        "Learning Dexterous Robot Manipulation from Human Videos",
        "We teach a robot arm to grasp and reorient objects by watching people. Robot "
        "manipulation policies trained this way transfer to real hardware with few trials.",
        ["cs.RO", "cs.LG"],
    ),
    (
        "Sampling-Based Motion Planning for Legged Robots on Rough Terrain",
        "Motion planning for legged locomotion is hard on uneven ground. We plan footholds with "
        "a sampling-based planner and track them with a whole-body controller on a quadruped.",
        ["cs.RO"],
    ),
    (
        "Sim-to-Real Transfer of Quadruped Locomotion Policies",
        "Reinforcement learning in simulation gives agile quadruped gaits; domain randomisation "
        "lets the legged robot walk outdoors without fine-tuning.",
        ["cs.RO", "cs.AI"],
    ),
]
CRYPTO = [
    (
        "Lattice-Based Signatures with Smaller Keys",
        "We propose a post-quantum digital signature scheme from module lattices whose public "
        "keys are 30% smaller, and prove it secure under the module learning with errors problem.",
        ["cs.CR"],
    ),
    (
        "Side-Channel Attacks on Constant-Time Elliptic Curve Code",
        "Compilers can break constant-time guarantees. We find timing leaks in elliptic curve "
        "cryptography libraries and recover secret keys from cache traces.",
        ["cs.CR"],
    ),
]
VISION = [
    (
        "Open-Vocabulary Object Detection with Region Prompts",
        "An object detector that recognises categories never seen in training by matching "
        "region features with text prompts, evaluated on LVIS and COCO.",
        ["cs.CV"],
    ),
    (
        "Medical Image Segmentation with Diffusion Priors",
        "A diffusion model provides a shape prior for segmenting organs in CT scans, improving "
        "medical image segmentation with few labels.",
        ["cs.CV", "eess.IV"],
    ),
]


def paper_make(
    number: int, title: str, abstract: str, categories, *, authors=("A. Author",), upvotes=None
) -> Paper:
    now = datetime(2026, 2, 1, tzinfo=UTC)
    return Paper.objects.create(
        arxiv_id=f"2602.{number:05d}",
        title=title,
        normalized_title=title.lower(),
        abstract=abstract,
        authors=list(authors),
        categories=list(categories),
        primary_category=categories[0],
        upvotes=upvotes,
        first_seen=now,
        updated_at=now,
    )


def list_on(day: date, papers: list[Paper]) -> None:
    for rank, paper in enumerate(papers, start=1):
        ListingEntry.objects.create(paper=paper, listing_date=day, rank=rank, origin="test")


@pytest.fixture
def papers(db) -> dict[str, list[Paper]]:
    """Seven papers in three fields, all listed on DAY1."""
    made: dict[str, list[Paper]] = {}
    number = 1
    for field, rows in (("robotics", ROBOTICS), ("crypto", CRYPTO), ("vision", VISION)):
        made[field] = []
        for title, abstract, cats in rows:
            made[field].append(paper_make(number, title, abstract, cats))
            number += 1
    list_on(DAY1, [p for rows in made.values() for p in rows])
    return made


@pytest.fixture
def reader(db):
    def make(email="reader@example.com", *, max_papers=10, **interests) -> Subscriber:
        subscriber = Subscriber.objects.create(
            email=email, status=Subscriber.Status.ACTIVE, max_papers=max_papers
        )
        kinds = {"keywords": "keyword", "exclude": "exclude", "authors": "author", "liked": "paper"}
        for name, values in interests.items():
            for position, value in enumerate(values):
                Interest.objects.create(
                    subscriber=subscriber, kind=kinds[name], value=value, position=position
                )
        return subscriber

    return make
