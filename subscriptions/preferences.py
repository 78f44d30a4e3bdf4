"""What a subscriber chooses, as it travels from a form (or an import row) to the services."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields

from django.core.exceptions import ValidationError

from subscriptions.models import Topic


@dataclass(frozen=True, kw_only=True)
class Preferences:
    """Preferences to set; a field left at None keeps the subscriber's current value."""

    topics: Sequence[Topic] | None = None
    keywords: Sequence[str] | None = None
    excluded_terms: Sequence[str] | None = None
    followed_authors: Sequence[str] | None = None
    liked_papers: Sequence[str] | None = None
    frequency: str | None = None
    weekday: int | None = None
    send_hour: int | None = None
    timezone: str | None = None
    max_papers: int | None = None
    format: str | None = None
    trending: bool | None = None
    quiet_day_note: bool | None = None

    @classmethod
    def from_cleaned_data(cls, data: dict) -> Preferences:
        """The fields of a form's ``cleaned_data`` that are preferences."""
        return cls(**{f.name: data[f.name] for f in fields(cls) if f.name in data})

    def given(self) -> dict[str, object]:
        """Only the preferences that are set, by name."""
        return {f.name: v for f in fields(self) if (v := getattr(self, f.name)) is not None}


def interests_check(*, topics: Sequence[Topic], keywords: Sequence[str]) -> None:
    """The one rule of signup and the preference centre: a digest needs something to match."""
    if not topics and not keywords:
        raise ValidationError("Choose at least one topic or type a keyword.", code="no_interests")
