"""What each subscriber got on a day: one ``Digest`` per (subscriber, day), its ``DigestItem``s."""

from __future__ import annotations

import uuid

from django.db import models

from newsletter.papers.models import Paper
from subscriptions.models import Subscriber


class Digest(models.Model):
    subscriber = models.ForeignKey(Subscriber, on_delete=models.CASCADE, related_name="digests")
    day = models.DateField(help_text="The listing day it was built for (the last day of a week).")
    since = models.DateField(
        null=True, blank=True, help_text="A weekly digest: the first listing day it covers."
    )
    # The opaque id inside the signed web-copy link (``/d/<token>/``).
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    papers_count = models.PositiveSmallIntegerField(
        default=0, help_text="Personal picks; 0 is a quiet day (no email unless a note was asked)."
    )

    class Meta:
        ordering = ["-day", "subscriber_id"]
        constraints = [
            models.UniqueConstraint(fields=["subscriber", "day"], name="digest_subscriber_day")
        ]

    def __str__(self) -> str:
        return f"{self.subscriber_id} {self.day}: {self.papers_count} papers"


class DigestItem(models.Model):
    class Section(models.TextChoices):
        PICK = "pick", "Picked for you"
        TRENDING = "trending", "Trending today"

    digest = models.ForeignKey(Digest, on_delete=models.CASCADE, related_name="items")
    paper = models.ForeignKey(Paper, on_delete=models.CASCADE, related_name="+")
    section = models.CharField(max_length=10, choices=Section, default=Section.PICK)
    rank = models.PositiveSmallIntegerField(help_text="Position in its section, from 1.")
    score = models.FloatField(default=0.0)
    reasons = models.JSONField(default=list, blank=True, help_text="Matching's reasons, as JSON.")

    class Meta:
        ordering = ["digest_id", "section", "rank"]
        constraints = [
            models.UniqueConstraint(fields=["digest", "paper"], name="digestitem_digest_paper")
        ]

    def __str__(self) -> str:
        return f"{self.section} #{self.rank}: paper {self.paper_id}"


__all__ = ["Digest", "DigestItem"]
