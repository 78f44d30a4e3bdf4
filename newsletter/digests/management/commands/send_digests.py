"""Build and send one day's digests by hand, in this process, through the services the tasks use."""

from __future__ import annotations

from datetime import date

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from newsletter.digests.services import digests_send_day
from subscriptions.addresses import address_normalise
from subscriptions.models import Subscriber


def _day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"--date must be YYYY-MM-DD, got {value[:40]!r}") from None


class Command(BaseCommand):
    help = (
        "Build and send the digests of a listing day for every active subscriber (or one). "
        "Running it again sends nothing twice."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--date", help="Listing day, YYYY-MM-DD (default: today).")
        parser.add_argument("--email", help="Only this subscriber.")
        parser.add_argument(
            "--dry-run", action="store_true", help="Build and count; store and send nothing."
        )

    def handle(self, *args, **options) -> None:
        day = _day(options["date"]) if options["date"] else timezone.localdate()
        email = None
        if options["email"] is not None:
            try:
                email = address_normalise(options["email"])
            except Exception:
                raise CommandError(f"not an email address: {options['email'][:80]!r}") from None
            if not Subscriber.objects.filter(email=email).exists():
                raise CommandError(f"no subscriber with the address {email}")
        counts = digests_send_day(day=day, email=email, dry_run=options["dry_run"])
        prefix = "Dry run: " if options["dry_run"] else ""
        self.stdout.write(f"{prefix}digests of {day.isoformat()}:")
        for state, number in sorted(counts.items()):
            self.stdout.write(f"  {state}: {number}")
