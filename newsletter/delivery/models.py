"""The send ledger: one ``Delivery`` row per email, and the provider events about it."""

from __future__ import annotations

from django.db import models

from subscriptions.models import Subscriber


class Delivery(models.Model):
    """One email to one address, unique per (kind, key); its state says what happened to it."""

    class State(models.TextChoices):
        QUEUED = "queued", "Queued"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        RETRY = "retry", "Failed, will retry"
        FAILED = "failed", "Failed (permanent)"
        UNCERTAIN = "uncertain", "Uncertain"
        SKIPPED = "skipped", "Skipped (nothing to send)"
        SUPPRESSED = "suppressed", "Suppressed"

    kind = models.CharField(max_length=40, help_text="digest, confirmation, welcome, manage, ...")
    key = models.CharField(max_length=200, help_text="Unique within the kind, e.g. subscriber:day.")
    subscriber = models.ForeignKey(
        Subscriber, on_delete=models.CASCADE, related_name="deliveries", null=True, blank=True
    )
    to_email = models.EmailField(max_length=254)
    payload = models.JSONField(default=dict, blank=True)

    # Indexed only through "delivery_open" (state, next_attempt_at): an index of its own let
    # PostgreSQL, on statistics a minute old, scan every queued row to claim a batch by id.
    # Every index is written again on most updates of a row, three per email: each one here
    # serves a query.
    state = models.CharField(max_length=12, choices=State, default=State.QUEUED)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    message_id = models.CharField(max_length=200, blank=True, help_text="Our Message-ID header.")
    provider_message_id = models.CharField(max_length=200, blank=True)

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    # The token of the send call that claimed it: that call alone may hand it over or finish it.
    claim = models.UUIDField(null=True, blank=True, editable=False)
    # Set just before the message is handed to the provider: a row in "sending" without it never
    # reached the network and is safe to queue again.
    handed_at = models.DateTimeField(null=True, blank=True)
    # When a send task was last enqueued for it (the sweep nudges lost ones again).
    nudged_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    opened_at = models.DateTimeField(null=True, blank=True)
    clicked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name_plural = "deliveries"
        # Granted to superusers only, unless given: a preview or an outbox message carries a
        # reader's address and live links (preferences, data export, unsubscribe).
        permissions = [
            ("view_live_email", "Can view live email content (digest previews, the outbox)"),
            ("send_email", "Can send or resend email from the admin"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["kind", "key"], name="delivery_kind_key_unique"),
        ]
        indexes = [
            # The queue (what is due, what the sweep looks at) and what staff may resend. Rows
            # sent, skipped or suppressed (nearly all of them) are left out, so most rows leave
            # this index when they are finished and the index stays the size of the queue.
            models.Index(
                fields=["state", "next_attempt_at"],
                name="delivery_open",
                condition=models.Q(state__in=["queued", "retry", "sending", "failed", "uncertain"]),
            ),
            # Provider events name the message by the provider's id (webhooks); SMTP leaves it
            # empty, and those rows stay out of the index. A lookup says "not empty" too, which
            # SQLite needs in the query to use the index.
            models.Index(
                fields=["provider_message_id"],
                name="delivery_provider_message_id",
                condition=~models.Q(provider_message_id=""),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.key} -> {self.to_email} ({self.state})"


class TrackingEvent(models.Model):
    """A provider's webhook event, stored before anything acts on it (one per provider+event id)."""

    provider = models.CharField(max_length=40)
    event_id = models.CharField(max_length=200)
    event_type = models.CharField(max_length=30, db_index=True)
    soft = models.BooleanField(default=False, help_text="A soft (temporary) bounce.")
    recipient = models.EmailField(max_length=254, blank=True)
    provider_message_id = models.CharField(max_length=200, blank=True)
    delivery = models.ForeignKey(
        Delivery, on_delete=models.SET_NULL, null=True, blank=True, related_name="events"
    )
    occurred_at = models.DateTimeField(null=True, blank=True)
    received_at = models.DateTimeField(auto_now_add=True, db_index=True)
    description = models.CharField(max_length=300, blank=True)
    raw = models.JSONField(default=dict, blank=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    process_error = models.TextField(blank=True)

    class Meta:
        ordering = ["-received_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "event_id"], name="tracking_event_provider_id_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.provider} {self.event_type} {self.recipient}"
