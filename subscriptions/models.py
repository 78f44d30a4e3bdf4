"""Subscribers, what they are interested in, and the proof of their consent.

Later stages (matching, digests, delivery) read a subscriber with
``selectors.subscribers_deliverable()``, which prefetches topics and interests, and then use the
list properties below (``keywords``, ``excluded_terms``, ``followed_authors``, ``liked_papers``)
without further queries.
"""

from __future__ import annotations

import uuid
import zoneinfo
from functools import cache

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models.functions import Lower

MAX_INTERESTS = 50  # per kind
MAX_INTEREST_LENGTH = 100


@cache
def timezone_names() -> tuple[str, ...]:
    return tuple(sorted(zoneinfo.available_timezones() - {"localtime", "Factory"}))


# Offered first on the forms, before every zone by region: where most readers are.
COMMON_TIMEZONES = (
    "UTC",
    "Europe/London",
    "Europe/Berlin",
    "Europe/Paris",
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Los_Angeles",
    "America/Sao_Paulo",
    "Asia/Kolkata",
    "Asia/Shanghai",
    "Asia/Singapore",
    "Asia/Tokyo",
    "Australia/Sydney",
)
_REGIONS = (
    "Africa",
    "America",
    "Antarctica",
    "Arctic",
    "Asia",
    "Atlantic",
    "Australia",
    "Europe",
    "Indian",
    "Pacific",
)


@cache
def timezone_choices() -> tuple[tuple[str, tuple[tuple[str, str], ...]], ...]:
    """Every zone of ``timezone_names()`` as grouped choices (an ``<optgroup>`` each): the common
    ones first, then by region; names outside the regions (aliases such as US/Eastern, Etc/GMT+5)
    last under "Other", so a stored one stays selectable."""
    groups: dict[str, list[str]] = {region: [] for region in _REGIONS}
    other: list[str] = []
    for name in timezone_names():
        region = name.split("/", 1)[0]
        (groups[region] if region in groups and "/" in name else other).append(name)
    ordered = [("Common", list(COMMON_TIMEZONES)), *groups.items(), ("Other", other)]
    return tuple(
        (label, tuple((name, name.replace("_", " ")) for name in names))
        for label, names in ordered
        if names
    )


def timezone_validate(name: str) -> str:
    if name not in timezone_names():
        raise ValidationError("Choose a time zone from the list.", code="timezone")
    return name


class Topic(models.Model):
    """A curated research area; ``phrases`` are what matching looks for in titles and abstracts."""

    slug = models.SlugField(max_length=60, unique=True)
    name = models.CharField(max_length=100)
    group = models.CharField(
        max_length=60, help_text="Heading the topic is listed under on the signup form."
    )
    description = models.CharField(max_length=200, help_text="One line shown next to the checkbox.")
    phrases = models.JSONField(
        default=list, blank=True, help_text="A JSON list of curated phrases."
    )
    active = models.BooleanField(default=True, help_text="Inactive topics are hidden from forms.")
    position = models.PositiveSmallIntegerField(
        default=0, help_text="Order on the forms (groups too)."
    )

    class Meta:
        ordering = ["position", "name"]

    def __str__(self) -> str:
        return self.name


class Subscriber(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Pending confirmation"
        ACTIVE = "active", "Active"
        PAUSED = "paused", "Paused"
        UNSUBSCRIBED = "unsubscribed", "Unsubscribed"
        BOUNCED = "bounced", "Bounced"
        COMPLAINED = "complained", "Complained"

    class Frequency(models.TextChoices):
        DAILY = "daily", "Daily"
        WEEKLY = "weekly", "Weekly"

    class Format(models.TextChoices):
        HTML = "html", "HTML and plain text"
        TEXT = "text", "Plain text only"

    class Weekday(models.IntegerChoices):
        MONDAY = 0, "Monday"
        TUESDAY = 1, "Tuesday"
        WEDNESDAY = 2, "Wednesday"
        THURSDAY = 3, "Thursday"
        FRIDAY = 4, "Friday"
        SATURDAY = 5, "Saturday"
        SUNDAY = 6, "Sunday"

    # The only identifier that ever leaves the server (inside signed links).
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    email = models.EmailField(
        max_length=254, unique=True, help_text="Stored normalised (lower case)."
    )
    status = models.CharField(max_length=20, choices=Status, default=Status.PENDING, db_index=True)

    timezone = models.CharField(
        max_length=64,
        default="UTC",
        validators=[timezone_validate],
        help_text="IANA time zone name.",
    )
    send_hour = models.PositiveSmallIntegerField(
        default=7,
        validators=[MaxValueValidator(23)],
        help_text="Local hour (0-23) the email goes out.",
    )
    frequency = models.CharField(max_length=10, choices=Frequency, default=Frequency.DAILY)
    weekday = models.PositiveSmallIntegerField(
        choices=Weekday, default=Weekday.MONDAY, help_text="Used when the frequency is weekly."
    )
    max_papers = models.PositiveSmallIntegerField(
        default=10, validators=[MinValueValidator(1), MaxValueValidator(50)]
    )
    format = models.CharField(max_length=10, choices=Format, default=Format.HTML)
    trending = models.BooleanField(
        default=True, help_text="Add the day's most upvoted papers under the personal picks."
    )
    quiet_day_note = models.BooleanField(
        default=False, help_text="On a day with nothing for them, send a one-line note."
    )
    topics = models.ManyToManyField(Topic, blank=True, related_name="subscribers")

    # Bumping it revokes every link sent before.
    link_version = models.PositiveIntegerField(default=1)
    # Bumped whenever what this reader's matches are built from changes (topics, interests,
    # feedback): stored views of it (matching's profiles) compare it instead of re-reading
    # everything. ``services.interests_touch`` bumps it; so do the receivers in ``receivers.py``
    # for single saves and deletes, the admin and ``topics.set()``.
    interests_version = models.PositiveIntegerField(default=1, editable=False)
    # An address waiting to replace ``email`` until its owner clicks the link sent there.
    pending_email = models.EmailField(max_length=254, blank=True)

    created_at = models.DateTimeField(auto_now_add=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    unsubscribed_at = models.DateTimeField(null=True, blank=True)
    # When a confirmation or "manage" link was last mailed (re-sends wait a while).
    link_sent_at = models.DateTimeField(null=True, blank=True, editable=False)
    # Updated by delivery when a digest goes out.
    last_emailed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(Lower("email"), name="subscriber_email_ci_unique"),
            models.CheckConstraint(
                condition=models.Q(max_papers__gte=1, max_papers__lte=50),
                name="subscriber_max_papers_range",
            ),
            models.CheckConstraint(
                condition=models.Q(send_hour__lte=23), name="subscriber_send_hour_range"
            ),
        ]

    def __str__(self) -> str:
        return self.email

    def _interests(self, kind: str) -> list[str]:
        # Iterates ``interests.all()`` so a prefetch_related("interests") serves every kind.
        return [i.value for i in self.interests.all() if i.kind == kind]

    @property
    def keywords(self) -> list[str]:
        return self._interests(Interest.Kind.KEYWORD)

    @property
    def excluded_terms(self) -> list[str]:
        return self._interests(Interest.Kind.EXCLUDE)

    @property
    def followed_authors(self) -> list[str]:
        return self._interests(Interest.Kind.AUTHOR)

    @property
    def liked_papers(self) -> list[str]:
        """arXiv ids of papers the subscriber liked, examples for matching."""
        return self._interests(Interest.Kind.PAPER)


class Interest(models.Model):
    """One keyword, excluded term, followed author or liked paper of a subscriber."""

    class Kind(models.TextChoices):
        KEYWORD = "keyword", "Keyword or phrase"
        EXCLUDE = "exclude", "Excluded term"
        AUTHOR = "author", "Followed author"
        PAPER = "paper", "Liked paper (arXiv id)"

    subscriber = models.ForeignKey(Subscriber, on_delete=models.CASCADE, related_name="interests")
    kind = models.CharField(max_length=10, choices=Kind)
    value = models.CharField(max_length=MAX_INTEREST_LENGTH)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["kind", "position", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["subscriber", "kind", "value"], name="interest_unique_value"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.value}"


class ConsentRecord(models.Model):
    """Proof of what a subscriber agreed to, when, and from where. Survives unsubscribing."""

    class Action(models.TextChoices):
        SIGNUP = "signup", "Signed up"
        CONFIRM = "confirm", "Confirmed"
        CHANGE = "change", "Changed preferences"
        UNSUBSCRIBE = "unsubscribe", "Unsubscribed"
        RESUBSCRIBE = "resubscribe", "Resubscribed"
        IMPORT = "import", "Imported"

    subscriber = models.ForeignKey(Subscriber, on_delete=models.CASCADE, related_name="consents")
    action = models.CharField(max_length=20, choices=Action)
    created_at = models.DateTimeField(auto_now_add=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)
    form_version = models.CharField(max_length=40, blank=True)
    note = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.get_action_display()} at {self.created_at:%Y-%m-%d %H:%M}"


class SuppressedAddress(models.Model):
    """An address we must not mail without a fresh confirmation, kept only as a keyed hash."""

    class Reason(models.TextChoices):
        DELETED = "deleted", "Subscriber deleted their data"
        STAFF = "staff", "Suppressed by staff"
        BOUNCED = "bounced", "Hard bounce"
        COMPLAINED = "complained", "Spam complaint"

    address_hash = models.CharField(max_length=64, unique=True)
    reason = models.CharField(max_length=20, choices=Reason)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "suppressed addresses"

    def __str__(self) -> str:
        return f"{self.address_hash[:12]}… ({self.reason})"
