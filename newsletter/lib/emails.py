"""Every email the service sends, built the same way.

Each kind ``<kind>`` has three templates in ``templates/emails/``: ``<kind>-subject.txt`` (one
line), ``<kind>.txt`` (the plain-text part) and ``<kind>.mjml`` (the HTML part). An MJML template
is a whole ``<mjml>`` document that pulls the shared pieces in with ``<mj-include path="...">``
(``_head.mjml``: fonts, colours, dark mode; ``_header.mjml``; ``_footer.mjml``) and may hold
Django template syntax anywhere MJML keeps text: ``{{ value }}`` in text and attributes, and block
tags such as ``{% for %}`` around sections wrapped in ``<mj-raw>``.

The MJML is compiled to HTML once per process (``html_template``: cached) and the result is a
Django template, filled per message: building a message never runs the MJML compiler.

The public functions take plain values (addresses, URLs, lists), so this module imports nothing
but Django, ``mjml`` and the stdlib; who gets which email, and when, is the delivery app's job.
"""

from __future__ import annotations

import re
import secrets
import sys
from collections.abc import Mapping
from email.policy import compat32
from functools import cache
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template import Context, Template, engines
from django.template.loader import get_template, render_to_string
from mjml import mjml2html

# RFC 5322 allows 998 characters per line; staying well under it also keeps the HTML part out of
# quoted-printable (Django picks QP for any longer line), which is smaller and faster to build.
MAX_LINE = 900
# A compiled template is folded shorter, so that the values filled in later (links of about 150
# characters) do not push a line past MAX_LINE: then the filled message needs no folding at all.
TEMPLATE_LINE = 500
# Between two characters of HTML a line break is as good as a space, except inside a Django tag
# (which must stay on one line), a quoted CSS string ('Segoe UI') and an Outlook conditional
# comment's "[if ...]".
_UNBREAKABLE = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\[if [^\]]*\]|'[^'<>\n]{0,60}'", re.S)


def lines_fold(html: str, *, width: int = MAX_LINE) -> str:
    """Break lines longer than ``width`` at spaces (outside template tags) so that no line is.

    A line with no space to break at is cut before a ``<``; the output renders the same.
    """
    if max(map(len, html.splitlines()), default=0) <= width:  # the usual case, checked fast
        return html
    return "\n".join(_line_fold(line, width) for line in html.split("\n"))


def _line_fold(line: str, width: int) -> str:
    if len(line) <= width:
        return line
    protected = [(m.start(), m.end()) for m in _UNBREAKABLE.finditer(line)]
    breaks = [i for i, ch in enumerate(line) if ch == " " and not _inside(i, protected)]
    breaks += [i for i, ch in enumerate(line) if ch == "<" and i and not _inside(i, protected)]
    breaks.sort()
    out, start, last = [], 0, None
    for i in breaks:
        if i - start > width and last is not None and last > start:
            out.append(line[start:last])
            start = last + 1 if line[last] == " " else last
        last = i
    if len(line) - start > width and last is not None and last > start:
        out.append(line[start:last])
        start = last + 1 if line[last] == " " else last
    out.append(line[start:])
    return "\n".join(out)


def _inside(index: int, spans: list[tuple[int, int]]) -> bool:
    return any(start < index < end for start, end in spans)


_INCLUDE = re.compile(r'<mj-include\s+path="([\w.-]+)"\s*/>')


def _mjml_source(name: str, depth: int = 0) -> str:
    """The MJML of ``emails/<name>`` with its ``<mj-include>``s replaced by the files' text.

    Included here rather than by the compiler, which renders an included section without the
    body's width.
    """
    if depth > 5:
        raise ValueError(f"emails/{name}: <mj-include> nested too deeply")
    source = get_template(f"emails/{name}").template.source
    return _INCLUDE.sub(lambda m: _mjml_source(m.group(1), depth + 1), source)


@cache
def html_template(kind: str) -> Template:
    """``emails/<kind>.mjml`` compiled to HTML and parsed as a Django template, once per process."""
    # fonts={}: no web-font <link> (a request to a third party each time the email is opened).
    html = mjml2html(_mjml_source(f"{kind}.mjml"), disable_comments=True, fonts={})
    return engines["django"].from_string(lines_fold(html, width=TEMPLATE_LINE)).template


class _Headers(type(compat32)):
    """The policy Django's messages are written with (``compat32``), but a header that is short
    ASCII on one line is written as it is: the same bytes, without a ``Header`` object per header
    (more than a third of the time it takes to write a digest out)."""

    def _plain(self, name: str, value) -> str | None:
        if (
            isinstance(value, str)
            and value.isascii()
            and len(name) + len(value) + 2 <= 78
            and "\n" not in value
            and "\r" not in value
        ):
            return f"{name}: {value}{self.linesep}"
        return None

    def fold(self, name, value):
        plain = self._plain(name, value)
        return super().fold(name, value) if plain is None else plain

    def fold_binary(self, name, value):
        plain = self._plain(name, value)
        return super().fold_binary(name, value) if plain is None else plain.encode("ascii")


_HEADERS = _Headers()


def _boundary(parts: list[str]) -> str:
    """A MIME boundary found in none of ``parts``, chosen the way the stdlib's generator does.

    The generator, left to choose, checks its pick with a regular expression made for that one
    boundary: compiled anew for every message (a tenth of the time a digest takes to write out).
    A plain substring test is stricter (it refuses a boundary anywhere, not only on a line of
    its own) and compiles nothing."""
    while True:
        boundary = f"{'=' * 15}{secrets.randbelow(sys.maxsize):019d}=="
        if not any(boundary in part for part in parts):
            return boundary


class Message(EmailMultiAlternatives):
    """Django's message, written out (by the SMTP backend) with the faster header policy and a
    boundary chosen without compiling a pattern."""

    def message(self, *args, **kwargs):
        mime = super().message(*args, **kwargs)
        mime.policy = _HEADERS
        parts = [self.body, *(a[0] for a in self.alternatives)]
        if (
            mime.is_multipart()
            and not self.attachments
            and mime.get_boundary() is None
            and all(isinstance(part, str) for part in parts)
        ):
            mime.set_boundary(_boundary(parts))
        return mime


def list_unsubscribe_headers(*, url: str, mailto: str = "") -> dict[str, str]:
    """RFC 2369 + RFC 8058 headers: mail clients show a button that POSTs to ``url``."""
    targets = [f"<{url}>"]
    if mailto:
        targets.append(f"<mailto:{mailto}>")
    return {
        "List-Unsubscribe": ", ".join(targets),
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }


def list_id() -> str:
    """RFC 2919 ``List-Id``: the site's name and a list address under the site's host."""
    host = urlsplit(settings.SITE_URL).hostname or "localhost"
    return f"{settings.SITE_NAME} <digest.{host}>"


def base_context() -> dict[str, Any]:
    return {
        "site_name": settings.SITE_NAME,
        "site_url": settings.SITE_URL,
        "postal_address": settings.SENDER_POSTAL_ADDRESS,
    }


def build(
    kind: str,
    *,
    to: str,
    context: Mapping[str, Any],
    headers: Mapping[str, str] | None = None,
    html: bool = True,
) -> Message:
    """Render the templates of ``kind`` into one message to ``to`` (not sent)."""
    ctx = {**base_context(), **context}
    # Templates may wrap lines; a subject is one line.
    subject = " ".join(render_to_string(f"emails/{kind}-subject.txt", ctx).split())
    text = render_to_string(f"emails/{kind}.txt", ctx)
    message = Message(
        subject=subject,
        body=text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[to],
        reply_to=[settings.REPLY_TO_EMAIL] if settings.REPLY_TO_EMAIL else None,
        headers=dict(headers or {}),
    )
    if html:
        body = html_template(kind).render(Context({"subject": subject, **ctx}))
        message.attach_alternative(lines_fold(body), "text/html")
    return message


# --- The subscription emails (the digest builds its own in newsletter/digests). ---


def confirmation(
    *, to: str, confirm_url: str, valid_days: int, topics: list[str], keywords: list[str]
) -> EmailMultiAlternatives:
    """Double opt-in: the link that turns a signup into a subscription."""
    context = {
        "confirm_url": confirm_url,
        "valid_days": valid_days,
        "topics": topics,
        "keywords": keywords,
        "preheader": f"One click and your first digest is on its way (the link works {valid_days} days).",
    }
    return build("confirmation", to=to, context=context)


def welcome(
    *,
    to: str,
    preferences_url: str,
    unsubscribe_url: str,
    first_digest: str,
    headers: Mapping[str, str] | None = None,
) -> EmailMultiAlternatives:
    """Sent once the subscription is confirmed; ``first_digest`` says when the first digest
    comes, in words ("tomorrow, Tue 8 Dec, at 07:00 Berlin time")."""
    return build(
        "welcome",
        to=to,
        context={
            "preferences_url": preferences_url,
            "unsubscribe_url": unsubscribe_url,
            "first_digest": first_digest,
            "preheader": "You are subscribed: keep this email to manage your subscription.",
        },
        headers=headers if headers is not None else list_unsubscribe_headers(url=unsubscribe_url),
    )


def manage(*, to: str, preferences_url: str, status_label: str) -> EmailMultiAlternatives:
    """Sent instead of a confirmation when a known subscriber signs up again or asks for a link."""
    return build(
        "manage",
        to=to,
        context={
            "preferences_url": preferences_url,
            "status_label": status_label,
            "preheader": "The link to your preferences, as asked.",
        },
    )


def email_change(*, to: str, confirm_url: str, valid_days: int) -> EmailMultiAlternatives:
    """Sent to a new address: the subscription moves there when its owner clicks.

    It does not name the old address: the new one may be a typo that reaches a stranger.
    """
    return build(
        "email-change",
        to=to,
        context={
            "confirm_url": confirm_url,
            "valid_days": valid_days,
            "preheader": "Confirm the new address of your subscription.",
        },
    )
