"""Show the send ledger's counts, and run the sweep or send what is due by hand."""

from __future__ import annotations

from django.core.management.base import BaseCommand
from django.db.models import Count
from django.utils import timezone

from newsletter.delivery import services
from newsletter.delivery.models import Delivery


class Command(BaseCommand):
    help = (
        "Print deliveries per state (all, and created today); --sweep runs the beat sweep now; "
        "--send sends every delivery that is due, in this process (no worker needed)."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--sweep", action="store_true", help="run the sweep now")
        parser.add_argument("--send", action="store_true", help="send what is due, here")
        parser.add_argument(
            "--dry-run", action="store_true", help="change nothing: say what --send would send"
        )

    def handle(self, *args, sweep: bool, send: bool, dry_run: bool, **options) -> None:
        if sweep:
            if dry_run:
                self.stdout.write("sweep: not run (dry run)")
            else:
                self.stdout.write(f"sweep: {services.deliveries_sweep()}")
        if send:
            due = services.deliveries_due(limit=100_000)
            if dry_run:
                self.stdout.write(f"due now: {len(due)} (dry run: nothing sent)")
            else:
                counts = services.deliveries_send(delivery_ids=due)
                self.stdout.write(f"sent now: {dict(counts) or 'nothing was due'}")
        today = timezone.now().replace(hour=0, minute=0, second=0, microsecond=0)
        for label, rows in (
            ("all", Delivery.objects.all()),
            ("today", Delivery.objects.filter(created_at__gte=today)),
        ):
            counts = dict(rows.values_list("state").annotate(n=Count("pk")).order_by())
            line = ", ".join(f"{state} {counts.get(state, 0)}" for state in Delivery.State)
            self.stdout.write(f"{label}: {line}")
