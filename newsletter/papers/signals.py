"""Signals other stages listen to (papers imports none of them)."""

from django.dispatch import Signal

# Sent after commit with ``paper_ids``: the papers an ingest created or changed.
papers_stored = Signal()
