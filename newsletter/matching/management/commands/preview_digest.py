"""``manage.py preview_digest EMAIL``: what a subscriber would receive for a day, sending nothing."""

from __future__ import annotations

import json

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from newsletter.lib import days
from newsletter.lib.commands import date_option
from newsletter.matching import services
from newsletter.papers.models import ListingEntry, Paper
from newsletter.papers.selectors import papers_listed
from subscriptions.addresses import address_normalise
from subscriptions.models import Subscriber


class Command(BaseCommand):
    help = (
        "Show the papers a subscriber would get from a day's listings, best first, with the "
        "reasons for each. Sends and records nothing."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("email")
        parser.add_argument(
            "--date", help="Listing day, YYYY-MM-DD (default: the current listing day)."
        )
        parser.add_argument("--json", action="store_true", help="Print JSON.")
        parser.add_argument(
            "--limit", type=int, help="How many papers at most (default: max_papers)."
        )
        parser.add_argument(
            "--no-threshold", action="store_true", help="Rank every candidate (for evaluation)."
        )

    def handle(self, *args, **options) -> None:
        try:
            address = address_normalise(options["email"])
        except ValidationError:
            raise CommandError(f"{options['email']!r} is not an email address.") from None
        subscriber = Subscriber.objects.filter(email__iexact=address).first()
        if subscriber is None:
            raise CommandError(f"No subscriber with the address {options['email']!r}.")
        day = date_option(options["date"]) if options["date"] else days.listing_day_now()
        if not papers_listed(day=day):
            latest = (
                ListingEntry.objects.order_by("-listing_date")
                .values_list("listing_date", flat=True)
                .first()
            )
            hint = (
                f" The latest day with listings is {latest}."
                if latest
                else " Nothing is ingested yet."
            )
            raise CommandError(f"No listings for {day}.{hint} Pick a day with --date.")
        limit = options["limit"]
        if limit is not None and limit < 1:
            raise CommandError("--limit must be at least 1.")
        picks = services.rankings_for_day(
            day=day,
            subscriber_ids=[subscriber.pk],
            limit=limit,
            threshold=not options["no_threshold"],
        )[subscriber.pk]
        titles = dict(
            Paper.objects.filter(pk__in=[p.paper_id for p in picks]).values_list("pk", "title")
        )
        papers = [
            {
                "arxiv_id": pick.arxiv_id,
                "title": titles[pick.paper_id],
                "score": pick.score,
                "reasons": [reason.as_dict() for reason in pick.reasons],
            }
            for pick in picks
        ]
        if options["json"]:
            data = {"email": subscriber.email, "date": day.isoformat(), "papers": papers}
            self.stdout.write(json.dumps(data, ensure_ascii=False, indent=2))
            return
        if not papers:
            self.stdout.write(
                f"{subscriber.email}, {day}: nothing today (no paper passes the threshold)."
            )
            return
        self.stdout.write(f"{subscriber.email}, {day}: {len(papers)} paper(s)")
        for number, paper in enumerate(papers, start=1):
            self.stdout.write(
                f"{number:>2}. [{paper['score']:+.2f}] {paper['arxiv_id'] or '-'}  {paper['title']}"
            )
            for reason in paper["reasons"]:
                self.stdout.write(f"      - {reason['text']}")
