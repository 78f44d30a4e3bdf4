"""Pure parsers for what people type (terms, arXiv ids, frequencies); for forms and import."""

from __future__ import annotations

import re
import unicodedata

from django.core.exceptions import ValidationError

from newsletter.lib.arxiv import arxiv_id_normalize
from subscriptions.models import MAX_INTEREST_LENGTH, MAX_INTERESTS, Subscriber

_SEPARATORS = re.compile(r"[\n;]+")


def _clean(term: str) -> str:
    # Drop control and format characters (zero-width, bidi overrides), collapse whitespace.
    kept = "".join(ch for ch in term if unicodedata.category(ch)[0] != "C" or ch in " \t")
    return " ".join(kept.split())


def term_key(term: str) -> str:
    """What two spellings of one term share: NFC, case-folded (``café`` typed either way, ``CAFÉ``).

    For comparing terms (de-duplication here, matching later); the stored term keeps its case.
    """
    return unicodedata.normalize("NFC", unicodedata.normalize("NFC", term).casefold())


def terms_parse(text: str, *, label: str = "terms") -> list[str]:
    """Split on new lines or ``;``, tidy to NFC, de-duplicate by ``term_key``; enforce the limits."""
    terms: list[str] = []
    seen: set[str] = set()
    for raw in _SEPARATORS.split(text or ""):
        term = unicodedata.normalize("NFC", _clean(raw))
        if not term or term_key(term) in seen:
            continue
        if len(term) > MAX_INTEREST_LENGTH:
            raise ValidationError(
                f"Each of your {label} can be at most {MAX_INTEREST_LENGTH} characters long.",
                code="too_long",
            )
        seen.add(term_key(term))
        terms.append(term)
    if len(terms) > MAX_INTERESTS:
        raise ValidationError(f"You can list at most {MAX_INTERESTS} {label}.", code="too_many")
    return terms


def arxiv_id_normalise(value: str) -> str:
    """``2401.01234``, ``arXiv:2401.01234v2`` or an abs/pdf URL -> ``2401.01234`` (the one rule in
    ``newsletter.lib.arxiv``); a ValidationError when it names no id."""
    if key := arxiv_id_normalize(value):
        return key
    raise ValidationError(f"{value[:40]!r} is not an arXiv id such as 2401.01234.", code="arxiv_id")


def arxiv_ids_parse(text: str) -> list[str]:
    return list(
        dict.fromkeys(arxiv_id_normalise(term) for term in terms_parse(text, label="papers"))
    )


_WEEKDAYS = {label.lower(): value for value, label in Subscriber.Weekday.choices}
_WEEKDAYS |= {name[:3]: value for name, value in list(_WEEKDAYS.items())}


def frequency_parse(text: str) -> tuple[str, int]:
    """``daily``, ``weekly`` (Mondays) or ``weekly:<weekday>`` -> (frequency, weekday)."""
    kind, _, day = text.strip().lower().partition(":")
    if kind == Subscriber.Frequency.DAILY and not day:
        return Subscriber.Frequency.DAILY, Subscriber.Weekday.MONDAY
    if kind == Subscriber.Frequency.WEEKLY:
        if not day:
            return Subscriber.Frequency.WEEKLY, Subscriber.Weekday.MONDAY
        if day in _WEEKDAYS:
            return Subscriber.Frequency.WEEKLY, _WEEKDAYS[day]
    raise ValidationError(
        f"{text[:30]!r} is not a frequency (daily, weekly or weekly:<weekday>).", code="frequency"
    )
