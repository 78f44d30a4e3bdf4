"""Forms: they validate and normalise input into plain values; services do the rest."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError

from newsletter.lib.ids import id_parse
from subscriptions import selectors
from subscriptions.addresses import MAX_EMAIL_LENGTH, address_normalise
from subscriptions.models import (
    MAX_INTEREST_LENGTH,
    MAX_INTERESTS,
    Subscriber,
    timezone_choices,
)
from subscriptions.parsing import arxiv_ids_parse, terms_parse
from subscriptions.preferences import Preferences, interests_check

# Recorded with every consent: bump it when the wording of the signup form changes.
FORM_VERSION = "signup-2026-12"
# Generous for 50 terms of 100 characters with separators; anything longer is not typing.
_TERMS_MAX_CHARS = MAX_INTERESTS * (MAX_INTEREST_LENGTH + 2)
_TERMS_HELP = (
    f"One per line (or separated by ;). Up to {MAX_INTERESTS}, "
    f"each up to {MAX_INTEREST_LENGTH} characters."
)


class EmailField(forms.CharField):
    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", MAX_EMAIL_LENGTH)
        kwargs.setdefault("widget", forms.EmailInput(attrs={"autocomplete": "email"}))
        super().__init__(**kwargs)

    def clean(self, value):
        value = super().clean(value)
        return address_normalise(value) if value else value


class TermsField(forms.CharField):
    """A textarea of terms -> a tidy list of strings."""

    def __init__(self, *, label_plural: str, rows: int = 3, **kwargs):
        self.label_plural = label_plural
        kwargs.setdefault("required", False)
        kwargs.setdefault("max_length", _TERMS_MAX_CHARS)
        kwargs.setdefault("help_text", _TERMS_HELP)
        kwargs.setdefault("widget", forms.Textarea(attrs={"rows": rows}))
        super().__init__(**kwargs)

    def clean(self, value):
        return terms_parse(super().clean(value), label=self.label_plural)


class ArxivIdsField(TermsField):
    def clean(self, value):
        return arxiv_ids_parse(forms.CharField.clean(self, value))


class TopicsField(forms.ModelMultipleChoiceField):
    widget = forms.CheckboxSelectMultiple

    def __init__(self, **kwargs):
        super().__init__(queryset=selectors.topics_active(), required=False, **kwargs)

    def _check_values(self, value):
        # Refuse what cannot be a topic's id before it reaches the database: SQLite overflows
        # on integers past 64 bits instead of finding nothing.
        for pk in map(str, value):
            if id_parse(pk) is None:
                code = "invalid_choice" if pk.isascii() and pk.isdigit() else "invalid_pk_value"
                raise ValidationError(
                    self.error_messages[code], code=code, params={"pk": pk[:20], "value": pk[:20]}
                )
        return super()._check_values(value)


class SendHourField(forms.TypedChoiceField):
    def __init__(self, **kwargs):
        kwargs.setdefault("label", "Send at (your local time)")
        super().__init__(choices=[(h, f"{h:02d}:00") for h in range(24)], coerce=int, **kwargs)


class TimezoneField(forms.ChoiceField):
    """Every zone, grouped by region with the common ones first. The static script
    ``js/forms.js`` selects the browser's own zone on a fresh signup form."""

    def __init__(self, **kwargs):
        kwargs.setdefault("label", "Your time zone")
        super().__init__(choices=timezone_choices, **kwargs)


class HoneypotMixin(forms.Form):
    # Hidden from people by CSS and from assistive tech by aria-hidden; bots fill it in.
    website = forms.CharField(required=False, max_length=200, label="Leave this field empty")

    def is_spam(self) -> bool:
        return bool(self.data.get("website"))


class InterestsMixin(forms.Form):
    """Signup and the preference centre apply one rule: at least one topic or one keyword."""

    def clean(self):
        data = super().clean()
        if not self.errors.keys() & {"topics", "keywords"}:
            interests_check(topics=data.get("topics"), keywords=data.get("keywords"))
        return data


class GroupedTopicsMixin:
    def topic_groups(self) -> list[tuple[str, list]]:
        """(group heading, [checkbox subwidgets]) pairs, so the template can use fieldsets."""
        field = self["topics"]
        topics = list(field.field.queryset)
        by_pk = {str(t.pk): t for t in topics}
        boxes = {str(box.data["value"]): box for box in field}
        return [
            (group, [(boxes[str(t.pk)], by_pk[str(t.pk)]) for t in items])
            for group, items in selectors.topics_grouped(topics)
        ]


class SignupForm(GroupedTopicsMixin, InterestsMixin, HoneypotMixin, forms.Form):
    email = EmailField(label="Your email address")
    topics = TopicsField(label="Topics")
    keywords = TermsField(label="Your own keywords and phrases", label_plural="keywords")
    excluded_terms = TermsField(
        label="Leave out papers that mention", label_plural="excluded terms"
    )
    frequency = forms.ChoiceField(
        choices=Subscriber.Frequency.choices,
        initial=Subscriber.Frequency.DAILY,
        widget=forms.RadioSelect,
    )
    weekday = forms.TypedChoiceField(
        label="Day for the weekly email",
        choices=Subscriber.Weekday.choices,
        coerce=int,
        initial=Subscriber.Weekday.MONDAY,
    )
    # Optional: a form posted without them (an old page, a script) gets the defaults.
    send_hour = SendHourField(
        required=False, empty_value=None, initial=Subscriber._meta.get_field("send_hour").default
    )
    timezone = TimezoneField(required=False, initial="UTC")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.is_bound:  # a form shown again with errors keeps what the reader chose
            self.fields["timezone"].widget.attrs["data-browser-zone"] = ""

    def clean_timezone(self) -> str | None:
        return self.cleaned_data["timezone"] or None

    def preferences(self) -> Preferences:
        return Preferences.from_cleaned_data(self.cleaned_data)


class PreferencesForm(GroupedTopicsMixin, InterestsMixin, forms.Form):
    topics = TopicsField(label="Topics")
    keywords = TermsField(label="Your own keywords and phrases", label_plural="keywords", rows=4)
    excluded_terms = TermsField(
        label="Leave out papers that mention", label_plural="excluded terms"
    )
    followed_authors = TermsField(label="Authors to follow", label_plural="authors")
    liked_papers = ArxivIdsField(
        label="Papers you liked (arXiv ids)",
        label_plural="papers",
        help_text="Examples of what you want more of, e.g. 2401.01234, one per line.",
    )
    frequency = forms.ChoiceField(choices=Subscriber.Frequency.choices, widget=forms.RadioSelect)
    weekday = forms.TypedChoiceField(
        label="Day for the weekly email", choices=Subscriber.Weekday.choices, coerce=int
    )
    send_hour = SendHourField()
    timezone = TimezoneField()
    max_papers = forms.IntegerField(
        label="At most this many papers per email", min_value=1, max_value=50
    )
    format = forms.ChoiceField(
        label="Email format", choices=Subscriber.Format.choices, widget=forms.RadioSelect
    )
    trending = forms.BooleanField(
        label="Also show the day's most upvoted papers (\u201ctrending today\u201d)", required=False
    )
    quiet_day_note = forms.BooleanField(
        label="On a day with nothing for me, send a one-line note anyway", required=False
    )

    @classmethod
    def initial_for(cls, subscriber: Subscriber) -> dict:
        return {
            "topics": [t.pk for t in subscriber.topics.all()],
            "keywords": "\n".join(subscriber.keywords),
            "excluded_terms": "\n".join(subscriber.excluded_terms),
            "followed_authors": "\n".join(subscriber.followed_authors),
            "liked_papers": "\n".join(subscriber.liked_papers),
            **{
                name: getattr(subscriber, name)
                for name in ("frequency", "weekday", "send_hour", "timezone")
            },
            "max_papers": subscriber.max_papers,
            "format": subscriber.format,
            "trending": subscriber.trending,
            "quiet_day_note": subscriber.quiet_day_note,
        }

    def preferences(self) -> Preferences:
        return Preferences.from_cleaned_data(self.cleaned_data)


class EmailChangeForm(forms.Form):
    new_email = EmailField(label="New email address")


class NewLinkForm(HoneypotMixin, forms.Form):
    email = EmailField(label="Your email address")
