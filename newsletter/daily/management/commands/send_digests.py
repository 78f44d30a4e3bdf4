"""Build and send one day's digests by hand, in this process: the run of ``run_daily --no-fetch``
for everyone due that day (``daily.byhand``), with this command's options and output."""

from __future__ import annotations

from collections import Counter
from datetime import date

from django.core.management.base import BaseCommand, CommandError

from newsletter.daily import byhand
from newsletter.digests.models import Digest
from newsletter.digests.selectors import (
    digest_deliveries,
    digest_wanted,
    subscribers_due,
    weekly_not_due,
)
from newsletter.lib import days
from newsletter.lib.commands import date_option
from subscriptions.addresses import address_normalise
from subscriptions.models import Subscriber


class Command(BaseCommand):
    help = (
        "Build and send the digests of a listing day for every active subscriber due that day "
        "(or one); fetches nothing. Running it again sends nothing twice."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--date", help="Listing day, YYYY-MM-DD (default: the current listing day)."
        )
        parser.add_argument("--email", help="Only this subscriber.")
        parser.add_argument(
            "--dry-run", action="store_true", help="Build and count; store and send nothing."
        )

    def handle(self, *args, **options) -> None:
        day = date_option(options["date"]) if options["date"] else days.listing_day_now()
        problem = days.listing_day_problem(day=day)
        if problem:
            raise CommandError(problem)
        email = None
        if options["email"] is not None:
            try:
                email = address_normalise(options["email"])
            except Exception:
                raise CommandError(f"not an email address: {options['email'][:80]!r}") from None
            if not Subscriber.objects.filter(email=email).exists():
                raise CommandError(f"no subscriber with the address {email}")
        counts = self._send(day, email, dry_run=options["dry_run"])
        prefix = "Dry run: " if options["dry_run"] else ""
        self.stdout.write(f"{prefix}digests of {day.isoformat()}:")
        for state, number in sorted(counts.items()):
            self.stdout.write(f"  {state}: {number}")

    def _send(self, day: date, email: str | None, *, dry_run: bool) -> Counter:
        # Everyone whose send time of the day exists: the whole day, whatever the hour now.
        until = days.last_send_time(day=day)
        active = Subscriber.objects.filter(status=Subscriber.Status.ACTIVE)
        if email:
            active = active.filter(email=email)
        had = Digest.objects.filter(day=day, subscriber__in=active).count()
        counts: Counter = Counter(
            subscribers=had + len(subscribers_due(day=day, until=until, email=email))
        )
        if not_due := weekly_not_due(day=day, email=email):
            counts["weekly, not today"] = not_due
        if dry_run:
            counts.update(byhand.day_dry_run(day=day, now=until, email=email))
            counts.setdefault("quiet", 0)
            return counts
        deliveries = digest_deliveries(day=day)
        if email:
            deliveries = deliveries.filter(subscriber__email=email)
        before = dict(deliveries.values_list("pk", "state"))
        result = byhand.day_run_by_hand(day=day, now=until, fetch=False, email=email)
        counts.update(result.sent)
        counts.pop("busy", None)
        for state in before.values():
            if state != "queued" and state != "retry":
                counts[f"already {state}"] += 1
        digests = Digest.objects.filter(day=day, subscriber__in=active).select_related("subscriber")
        counts["quiet"] = sum(1 for digest in digests if not digest_wanted(digest))
        return counts
