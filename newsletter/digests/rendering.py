"""How a digest looks: the email (built at send time by the delivery ledger) and its web copy.

``digest_context(digest)`` loads everything in two queries (the digest with its subscriber is
given; the items with their papers) and prepares every value, so the templates only place them:
``emails/digest.mjml`` (compiled to HTML once per process by ``newsletter.lib.emails``),
``emails/digest.txt`` and ``emails/digest-subject.txt``. Highlighted words (matching's spans) are
escaped and marked here, once.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from functools import cache, lru_cache
from html import escape
from typing import NamedTuple

from django.conf import settings
from django.core.mail import EmailMessage, EmailMultiAlternatives
from django.urls import reverse
from django.utils.safestring import SafeString

from newsletter.delivery.models import Delivery
from newsletter.delivery.registry import DeliverySkipped
from newsletter.digests.links import digest_token
from newsletter.digests.models import Digest, DigestItem
from newsletter.digests.selectors import digest_key_day, digest_wanted
from newsletter.lib import emails
from newsletter.matching.engine import MAX_SPANS_PER_FIELD
from newsletter.papers.models import Paper, paper_links
from subscriptions.models import Subscriber
from subscriptions.tokens import Purpose, token_make

SUMMARY_CHARS = 300
# Gmail clips a message past 102 KB of HTML, hiding the footer (unsubscribe link, postal
# address): a digest over this many bytes is shown compact, and what still does not fit is left
# to the web copy, behind an "N more papers" link.
HTML_BUDGET = 96_000
COMPACT_CHARS = 140  # a compact paper's summary; its title and meta line get this much more
_MARK = '<mark style="background-color:#fff1a8;color:#1b1f24;padding:0 1px;">'
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


class Entry(NamedTuple):
    """One paper of a digest: the values tests and the preheader read, and its two renderings
    (``html``: escaped and marked up here, once; ``text``: for the plain-text part)."""

    url: str
    title: str
    summary: str
    labels: list[str]
    more_url: str
    less_url: str
    html: SafeString
    text: str


def summary_of(paper: Paper) -> tuple[str, bool]:
    """(short summary, whether it is the start of the abstract): the AI summary when known, else
    the abstract's first sentences, about ``SUMMARY_CHARS`` characters, cut at a word."""
    if paper.ai_summary.strip():
        return _cut(" ".join(paper.ai_summary.split())), False
    abstract = paper.abstract
    if len(abstract) <= SUMMARY_CHARS:
        return abstract.strip(), True
    text = ""
    for sentence in _SENTENCE_END.split(abstract):
        if text and len(text) + len(sentence) + 1 > SUMMARY_CHARS:
            break
        text = f"{text} {sentence}" if text else sentence
    # Keep the abstract's own characters so its spans still point at the right words.
    return _cut(abstract[: len(text)]), True


def _cut(text: str) -> str:
    if len(text) <= SUMMARY_CHARS + 20:
        return text
    head = text[:SUMMARY_CHARS]
    return head[: head.rfind(" ")].rstrip(",;:") + "\u2026" if " " in head else head + "\u2026"


def highlight(text: str, spans: list[tuple[int, int]]) -> SafeString:
    """``text`` escaped, with the character ranges ``spans`` marked (overlaps merged)."""
    merged: list[list[int]] = []
    for start, end in sorted((max(s, 0), min(e, len(text))) for s, e in spans):
        if start >= end:
            continue
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    out, position = [], 0
    for start, end in merged[:MAX_SPANS_PER_FIELD]:  # digests stored before the cap, too
        out += [escape(text[position:start]), _MARK, escape(text[start:end]), "</mark>"]
        position = end
    out.append(escape(text[position:]))
    return SafeString("".join(out))


def _spans(reasons: list[dict], field: str) -> list[tuple[int, int]]:
    return [
        (span["start"], span["end"])
        for reason in reasons
        for span in reason.get("spans", [])
        if span.get("field") == field
    ]


def _label(reason: dict) -> str:
    kind, label = reason.get("kind", ""), reason.get("label", "")
    if kind == "similar":
        return f"like \u201c{label[:60]}\u201d"
    if kind == "author":
        return f"by {label}"
    return label or reason.get("text", "")


class _Links:
    """The "more / less like this" links of one message: one signed token for all its papers.

    Built as matching's ``feedback_url`` builds them (a test compares the two), with the route
    taken apart once per process rather than reversed for each link.
    """

    def __init__(self, subscriber: Subscriber) -> None:
        before, after = _url_template("matching:feedback", paper_id=0, direction="more")
        token = token_make(subscriber=subscriber, purpose=Purpose.FEEDBACK)
        self.prefix = f"{settings.SITE_URL}{before}{token}{after[: -len('0/more/')]}"
        self.safe = escape(self.prefix) == self.prefix

    def html(self, url: str) -> str:
        # Our own links: only the site's address can hold a character to escape.
        return url if self.safe else escape(url)

    def __call__(self, paper_id: int, direction: str) -> str:
        return f"{self.prefix}{paper_id}/{direction}/"


def _meta(paper: Paper) -> str:
    parts = [paper.authors_display]
    if paper.published:
        parts.append(paper.published.strftime("%-d %b %Y"))
    if paper.upvotes:
        parts.append(f"\u25b2 {paper.upvotes} upvote{'' if paper.upvotes == 1 else 's'}")
    return " \u00b7 ".join(p for p in parts if p)


@dataclass(frozen=True)
class _Parts:
    """What a paper shows the same way in every digest (prepared once per process and paper)."""

    url: str
    url_html: str
    meta: str
    summary: str
    from_abstract: bool
    title_html: str
    summary_html: str
    head_html: str  # meta line
    links_html: str  # PDF / code / project
    links_text: str
    compact_html: str  # short title, meta and summary; no highlights, labels or links


_parts_cache: dict[tuple, _Parts] = {}


def _parts(paper: Paper) -> _Parts:
    # Everything the parts show (an edit in the admin need not touch ``updated_at``).
    key = (
        paper.pk,
        paper.arxiv_id,
        paper.title,
        paper.abstract,
        paper.ai_summary,
        paper.upvotes,
        paper.published,
        tuple(paper.authors or ()),
        paper.author_count,
        paper.hf_url,
        paper.abs_url,
        paper.pdf_url,
        paper.code_url,
        paper.project_url,
    )
    parts = _parts_cache.get(key)
    if parts is None:
        if len(_parts_cache) > 20_000:  # a day has a few hundred papers; keep memory flat
            _parts_cache.clear()
        parts = _parts_cache[key] = _parts_make(paper)
    return parts


def _parts_make(paper: Paper) -> _Parts:
    summary, from_abstract = summary_of(paper)
    meta = _meta(paper)
    links = paper_links(paper)
    extra = [
        (name, target)
        for name, target in (("PDF", links.pdf), ("Code", links.code), ("Project", links.project))
        if target
    ]
    return _Parts(
        url=links.page,
        url_html=escape(links.page),
        meta=meta,
        summary=summary,
        from_abstract=from_abstract,
        title_html=escape(paper.title),
        summary_html=escape(summary),
        head_html=f'<div class="dpd-meta" style="font-size:13px;color:#57606a;">{escape(meta)}</div>',
        links_html="".join(
            f'<a href="{escape(target)}">{name}</a> &middot;\n' for name, target in extra
        ),
        links_text="".join(f"\n   {name}: {target}" for name, target in extra),
        compact_html=(
            f'\n<div style="font-weight:700;margin:0 0 2px;"><a href="{escape(links.page)}">'
            f"{escape(_shorten(paper.title, 2 * COMPACT_CHARS))}</a></div>\n"
            f'<div style="font-size:13px;">{escape(_shorten(meta, COMPACT_CHARS))}<br>'
            f"{escape(_shorten(summary, COMPACT_CHARS))}<br>\n"
        ),
    )


class _Body(NamedTuple):
    """A paper as one reader sees it, but for their links (the same for every reader whom the
    same reasons brought it to: prepared once per process)."""

    html: str
    text: str
    labels: list[str]


_bodies: dict[tuple, _Body] = {}


def _reasons_key(reasons: list[dict]) -> tuple:
    return tuple(
        (
            r.get("kind"),
            r.get("label"),
            tuple((sp.get("field"), sp.get("start"), sp.get("end")) for sp in r.get("spans", ())),
        )
        for r in reasons
    )


def _body(paper: Paper, parts: _Parts, reasons: list[dict]) -> _Body:
    key = (parts, _reasons_key(reasons))
    body = _bodies.get(key)
    if body is None:
        if len(_bodies) > 50_000:  # keep memory flat over the days
            _bodies.clear()
        body = _bodies[key] = _body_make(paper, parts, reasons)
    return body


def _body_make(paper: Paper, parts: _Parts, reasons: list[dict]) -> _Body:
    title_spans = _spans(reasons, "title")
    title_html = highlight(paper.title, title_spans) if title_spans else parts.title_html
    summary_html = parts.summary_html
    if parts.from_abstract and reasons:
        cut = len(parts.summary.rstrip("\u2026"))
        spans = [(s, min(e, cut)) for s, e in _spans(reasons, "abstract") if s < cut]
        if spans:
            summary_html = highlight(parts.summary, spans)
    labels = list(dict.fromkeys(label for r in reasons if (label := _label(r))))[:4]
    labels_html = (
        '<div style="margin:0 0 6px;">' + "".join(map(_label_html, labels)) + "</div>\n"
        if labels
        else ""
    )
    # Line breaks between elements keep every line far below the 998-character limit.
    html = (
        '\n<div style="font-size:18px;line-height:1.35;font-weight:700;margin:0 0 4px;">'
        f'<a href="{parts.url_html}" style="color:#0b5cad;text-decoration:none;">'
        f"{title_html}</a></div>\n{parts.head_html}\n"
        f'<div style="margin:8px 0 6px;">{summary_html}</div>\n{labels_html}'
        f'<div style="font-size:13px;">{parts.links_html}'
    )
    why = f"\n   Why: {', '.join(labels)}" if labels else ""
    # No line for what is not known: the text part has no whitespace-only lines.
    head = "".join(f"\n   {line}" for line in (parts.meta, parts.url) if line)
    summary = f"\n\n   {parts.summary}" if parts.summary else ""
    text = f"{paper.title}{head}{summary}{why}{parts.links_text}"
    return _Body(html, text, labels)


def _entry(item: DigestItem, links: _Links, compact: bool = False) -> Entry:
    paper = item.paper
    parts = _parts(paper)
    reasons = [r for r in item.reasons or [] if isinstance(r, dict)]
    body = _body(paper, parts, reasons)
    more, less = links(paper.pk, "more"), links(paper.pk, "less")
    html = (
        f"{parts.compact_html if compact else body.html}"
        f'<a href="{links.html(more)}">More like this</a> &middot;\n'
        f'<a href="{links.html(less)}">Less like this</a></div>\n'
    )
    text = f"{body.text}\n   More like this: {more}\n   Less like this: {less}"
    return Entry(
        parts.url, paper.title, parts.summary, body.labels, more, less, SafeString(html), text
    )


@lru_cache(maxsize=4096)
def _label_html(label: str) -> str:
    return _LABEL.format(escape(label))


_SEPARATOR = SafeString(
    '\n<div class="dpd-rule" style="border-top:1px solid #e4e8ec;margin:14px 0 12px;'
    'font-size:1px;line-height:1px;">&nbsp;</div>\n'
)
_LABEL = (
    '<span class="dpd-label" style="display:inline-block;margin:0 4px 4px 0;padding:1px 7px;'
    'border:1px solid #c8d6e5;border-radius:10px;font-size:12px;color:#24476b;">{}</span>'
)


@cache
def _url_template(name: str, **kwargs) -> tuple[str, str]:
    # Django's reverse() costs more than the rest of a link; a route's shape never changes.
    placeholder = "TOKEN0PLACEHOLDER"
    path = reverse(name, kwargs={"token": placeholder, **kwargs})
    before, _, after = path.partition(placeholder)
    return before, after


def _url_with(name: str, token: str) -> str:
    before, after = _url_template(name)
    return f"{settings.SITE_URL}{before}{token}{after}"


def _signed_url(name: str, subscriber: Subscriber, purpose: Purpose) -> str:
    """Same link as ``subscriptions.tokens.<purpose>_url(subscriber)``, built faster."""
    return _url_with(name, token_make(subscriber=subscriber, purpose=purpose))


def _day_label(day: date) -> str:
    return day.strftime("%a %-d %b")


def digest_context(
    digest: Digest,
    *,
    items: Sequence[DigestItem | PreparedItem] | None = None,
    room: int | None = None,
) -> dict:
    """Everything the digest templates show, for ``digest`` (its ``subscriber`` loaded).
    ``room``: bytes the papers' HTML may take: they are shown compact, and those that do not
    fit are counted in ``more_count`` (the web copy shows them)."""
    subscriber = digest.subscriber
    if items is None:
        items = list(digest.items.select_related("paper").order_by("section", "rank"))
    links = _Links(subscriber)
    compact = room is not None
    picks = [_entry(i, links, compact) for i in items if i.section == DigestItem.Section.PICK]
    trending = [
        _entry(i, links, compact) for i in items if i.section == DigestItem.Section.TRENDING
    ]
    trending = trending if picks else []
    count, shown = len(picks), len(picks) + len(trending)
    if compact:
        picks, trending = _fitting(picks, trending, room)
    preferences_url = _signed_url("subscriptions:preferences", subscriber, Purpose.PREFERENCES)
    weekly = digest.since is not None
    return {
        "picks": picks,
        "trending": trending,
        # Each section as one block: the templates place them, no per-paper template loop.
        "picks_html": SafeString(_SEPARATOR.join(e.html for e in picks)),
        "trending_html": SafeString(_SEPARATOR.join(e.html for e in trending)),
        "picks_text": "\n\n".join(f"{n}. {e.text}" for n, e in enumerate(picks, start=1)),
        "trending_text": "\n\n".join(f"* {e.text}" for e in trending),
        "count": count,
        "more_count": shown - len(picks) - len(trending),
        "weekly": weekly,
        "day_label": _day_label(digest.day),
        "since_label": _day_label(digest.since) if weekly else "",
        "top_title": _shorten(picks[0].title, 100) if picks else "",
        "preheader": _preheader(picks),
        "email": subscriber.email,
        "preferences_url": preferences_url,
        "pause_url": preferences_url + "#status-heading",
        "unsubscribe_url": _signed_url(
            "subscriptions:unsubscribe", subscriber, Purpose.UNSUBSCRIBE
        ),
        "web_url": _url_with("digests:web_copy", digest_token(digest)),
    }


def _fitting(picks: list[Entry], trending: list[Entry], room: int) -> tuple[list, list]:
    """The picks, then the trending papers, that fit in ``room`` bytes of HTML, in order."""
    used, kept = 0, []
    for entry in picks + trending:
        used += len(entry.html.encode()) + len(_SEPARATOR)
        if used > room:
            break
        kept.append(entry)
    return kept[: len(picks)], kept[len(picks) :]


def _shorten(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    head = text[:limit]
    return (head[: head.rfind(" ")] if " " in head else head).rstrip(",;:") + "\u2026"


def _preheader(picks: list[Entry]) -> str:
    if not picks:
        return "Nothing above your threshold today. Your next digest comes with the next papers."
    more = f" and {len(picks) - 1} more" if len(picks) > 1 else ""
    why = f" ({picks[0].labels[0]})" if picks[0].labels else ""
    return f"{_shorten(picks[0].title, 110)}{why}{more}."


def digest_message(
    digest: Digest,
    *,
    to: str | None = None,
    html: bool | None = None,
    items: Sequence[DigestItem | PreparedItem] | None = None,
    whole: bool = False,
) -> EmailMultiAlternatives:
    """The complete message of ``digest`` (without the ledger's Message-ID and List-Id): text
    and HTML, or only text for a subscriber who chose plain text. Its HTML stays within
    ``HTML_BUDGET`` (see ``digest_context``'s ``room``) unless ``whole`` (the web copy)."""
    if items is None:
        items = list(digest.items.select_related("paper").order_by("section", "rank"))
    context = digest_context(digest, items=items)
    message = _message(digest, context, to, html)
    size = len(message.alternatives[0][0].encode()) if message.alternatives else 0
    if size > HTML_BUDGET and not whole:
        papers = len(context["picks_html"].encode()) + len(context["trending_html"].encode())
        room = HTML_BUDGET - (size - papers) - 1_000  # 1,000: the "N more papers" line
        message = _message(digest, digest_context(digest, items=items, room=room), to, html)
    return message


def _message(digest: Digest, context: dict, to: str | None, html: bool | None):
    subscriber = digest.subscriber
    message = emails.build(
        "digest",
        to=to or subscriber.email,
        context=context,
        headers=emails.list_unsubscribe_headers(
            url=context["unsubscribe_url"], mailto=settings.EMAIL_UNSUBSCRIBE_MAILTO
        ),
        html=subscriber.format == Subscriber.Format.HTML if html is None else html,
    )
    if settings.DIGEST_OPEN_TRACKING:
        # Read by django-anymail: the provider adds its pixel. We never add one ourselves.
        message.track_opens = True
    return message


def digest_html(digest: Digest) -> str:
    """The HTML part exactly as sent (also the web copy, whatever format its reader chose)."""
    return digest_message(digest, html=True, whole=True).alternatives[0][0]


def digest_message_build(delivery: Delivery) -> EmailMessage:
    """The "digest" builder the delivery ledger calls at send time."""
    subscriber = delivery.subscriber
    if subscriber is None:
        raise DeliverySkipped("the subscriber no longer exists")
    if subscriber.status != Subscriber.Status.ACTIVE:
        raise DeliverySkipped(f"the subscriber is {subscriber.status}")
    if subscriber.email != delivery.to_email:
        raise DeliverySkipped("the subscriber's address changed since")
    prepared = getattr(delivery, "digest_prepared", None)
    digest, items = prepared if prepared is not None else (_digest_of(delivery), None)
    digest.subscriber = subscriber
    if not digest_wanted(digest):
        raise DeliverySkipped("a quiet day, and no note was asked for")
    return digest_message(digest, to=delivery.to_email, items=items)


class PreparedItem(NamedTuple):
    """What a digest's email shows of one item: read for a whole batch as plain rows, not as
    model instances (a batch of 100 digests has about 1,300 items)."""

    paper: Paper
    section: str
    rank: int
    score: float
    reasons: list


def digests_prepare(deliveries: list[Delivery]) -> None:
    """The ledger's batch hook: every digest of the batch, their items and papers, in three
    queries; each delivery whose digest is found carries ``digest_prepared`` (digest, items)."""
    wanted = {}
    for delivery in deliveries:
        digest_id = (delivery.payload or {}).get("digest_id")
        if isinstance(digest_id, int):
            wanted[delivery.pk] = digest_id
    digests = Digest.objects.in_bulk(set(wanted.values()))
    rows = list(
        DigestItem.objects.filter(digest_id__in=list(digests))
        .order_by("digest_id", "section", "rank")
        .values_list("digest_id", "paper_id", "section", "rank", "score", "reasons")
    )
    papers = Paper.objects.in_bulk({row[1] for row in rows})
    items: dict[int, list[PreparedItem]] = {pk: [] for pk in digests}
    for digest_id, paper_id, section, rank, score, reasons in rows:
        items[digest_id].append(PreparedItem(papers[paper_id], section, rank, score, reasons))
    for delivery in deliveries:
        digest = digests.get(wanted.get(delivery.pk))
        if digest is not None and digest.subscriber_id == delivery.subscriber_id:
            delivery.digest_prepared = (digest, items[digest.pk])


def _digest_of(delivery: Delivery) -> Digest:
    """The digest a delivery carries: by id (``digests_enqueue``), else by its key's day."""
    digests = Digest.objects.filter(subscriber_id=delivery.subscriber_id)
    digest_id = (delivery.payload or {}).get("digest_id")
    if digest_id is not None:
        digest = digests.filter(pk=digest_id).first()
    else:
        try:
            day = digest_key_day(delivery.key)
        except ValueError:
            raise DeliverySkipped(f"no digest day in the key {delivery.key[:80]!r}") from None
        digest = digests.filter(day=day).first()
    if digest is None:
        raise DeliverySkipped("the digest no longer exists")
    return digest
