"""Stored paper vectors, subscriber profiles and "more / less like this" votes."""

from __future__ import annotations

import numpy as np
from django.db import models

from newsletter.papers.models import Paper
from subscriptions.models import Subscriber


def vector_pack(vector: np.ndarray | None) -> bytes | None:
    """A unit vector as 768 bytes of float16 (top-10 agreement with float32: 0.9997)."""
    return None if vector is None else np.asarray(vector, dtype="<f2").tobytes()


def vector_unpack(data: bytes | memoryview | None) -> np.ndarray | None:
    return None if data is None else np.frombuffer(bytes(data), dtype="<f2")


class PaperVector(models.Model):
    """A paper's embedding and distinct terms, computed once per text (title + abstract)."""

    paper = models.OneToOneField(
        Paper, on_delete=models.CASCADE, primary_key=True, related_name="matching_vector"
    )
    text_hash = models.CharField(max_length=64, help_text="SHA-256 of the text it was made from.")
    model = models.CharField(
        max_length=64, blank=True, help_text="Empty: no model (keywords only)."
    )
    vector = models.BinaryField(null=True, editable=False)
    terms = models.JSONField(default=list, editable=False, help_text="Distinct stems and bigrams.")
    computed_at = models.DateTimeField()

    class Meta:
        ordering = ["-computed_at"]

    def __str__(self) -> str:
        return f"vector of paper {self.paper_id}"


class SubscriberProfile(models.Model):
    """A subscriber's interests as the engine reads them, compiled, so a day's ranking reads one
    row per subscriber. Rebuilt when it is stale: the subscriber's ``interests_version`` moved
    (preferences, topics chosen, votes), a chosen topic's text changed, a liked paper was stored
    since, or the model changed (see ``services.profiles_for``)."""

    subscriber = models.OneToOneField(
        Subscriber, on_delete=models.CASCADE, primary_key=True, related_name="matching_profile"
    )
    version = models.PositiveIntegerField(
        default=0, help_text="The subscriber's interests_version it was built from."
    )
    model = models.CharField(max_length=64, blank=True, help_text="Empty: no model.")
    vector = models.BinaryField(null=True, editable=False)
    categories = models.JSONField(default=dict, blank=True, help_text="Category -> share.")
    inputs = models.JSONField(
        default=dict,
        blank=True,
        help_text="What it was built from: keywords, exclusions, authors, liked papers, topics.",
    )
    query_terms = models.BinaryField(
        default=b"", editable=False, help_text="The lexical query's term hashes (int64)."
    )
    query_weights = models.BinaryField(
        default=b"", editable=False, help_text="... and their weights (float32)."
    )
    query_total = models.FloatField(default=0.0, help_text="The sum of the query's weights.")
    built_at = models.DateTimeField()

    class Meta:
        ordering = ["-built_at"]

    def __str__(self) -> str:
        return f"profile of subscriber {self.subscriber_id}"


class Vote(models.Model):
    """ "More like this" or "less like this" on a paper: one per subscriber and paper, changeable."""

    class Direction(models.TextChoices):
        MORE = "more", "More like this"
        LESS = "less", "Less like this"

    subscriber = models.ForeignKey(Subscriber, on_delete=models.CASCADE, related_name="votes")
    paper = models.ForeignKey(Paper, on_delete=models.CASCADE, related_name="votes")
    direction = models.CharField(max_length=4, choices=Direction)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-updated_at"]
        constraints = [
            models.UniqueConstraint(fields=["subscriber", "paper"], name="vote_once_per_paper"),
        ]

    def __str__(self) -> str:
        return f"{self.get_direction_display()}: {self.paper_id}"
