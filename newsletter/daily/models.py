"""``DailyRun``: one row per listing day, the state of that day's run."""

from __future__ import annotations

from django.db import models


class DailyRun(models.Model):
    """The run of one listing day: ingest every enabled source, fix the candidates, send each
    subscriber's digest at their hour. ``stages`` keeps each stage's status, counts, timings and
    errors; the row, not the broker, says what is left to do."""

    class State(models.TextChoices):
        INGESTING = "ingesting", "Ingesting"
        MATCHING = "matching", "Matching"
        SENDING = "sending", "Sending"
        DONE = "done", "Done"
        PARTIAL = "partial", "Done, with problems"
        FAILED = "failed", "Failed"

    OPEN = (State.INGESTING, State.MATCHING, State.SENDING)

    day = models.DateField("listing day", unique=True)
    state = models.CharField(max_length=12, choices=State, default=State.INGESTING, db_index=True)
    started_at = models.DateTimeField()
    ingest_deadline = models.DateTimeField(
        help_text="Digests wait for late sources until then, and go out without them after."
    )
    finished_at = models.DateTimeField(null=True, blank=True)
    # Wall-clock creation (``started_at`` is the run's own clock, which a replay may set).
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # (source id, ISO day) pairs the ingest fetches, and how often each was tried again.
    ingest_expected = models.JSONField(default=list, blank=True)
    ingest_retries = models.JSONField(default=dict, blank=True)
    candidates = models.PositiveIntegerField(null=True, blank=True)
    quiet_reason = models.CharField(max_length=300, blank=True)
    # {"ingest": {...}, "matching": {...}, "sending": {...}}: status, counts, seconds, errors.
    stages = models.JSONField(default=dict, blank=True)
    notes = models.TextField(blank=True, help_text="Late or failed sources, stalls found, ...")
    # The send times up to ``dispatched_through`` were handed to workers at ``dispatched_at``.
    dispatched_at = models.DateTimeField(null=True, blank=True)
    dispatched_through = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "digests_dailyrun"  # the table it had in the digests app
        ordering = ["-day"]

    def __str__(self) -> str:
        return f"{self.day} ({self.state})"
