"""The subscription emails: MJML compiled once per process, filled per message, safe to transport."""

from __future__ import annotations

import re

import pytest

from newsletter.lib import emails


@pytest.fixture
def compiles(monkeypatch):
    """Counts MJML compilations (the real compiler still runs)."""
    calls = []
    real = emails.mjml2html

    def counting(source, **kwargs):
        calls.append(source[:40])
        return real(source, **kwargs)

    emails.html_template.cache_clear()
    monkeypatch.setattr(emails, "mjml2html", counting)
    yield calls
    emails.html_template.cache_clear()


def _confirmation(n: int):
    return emails.confirmation(
        to=f"r{n}@example.com",
        confirm_url=f"https://papers.example.org/confirm/token-{n}/",
        valid_days=7,
        topics=["Language models", "Vision"],
        keywords=[f"keyword {n}"],
    )


def test_each_template_is_compiled_once_and_filled_per_message(compiles):
    messages = [_confirmation(n) for n in range(20)]
    assert len(compiles) == 1
    htmls = [m.alternatives[0][0] for m in messages]
    assert all(f"token-{n}/" in html and f"keyword {n}" in html for n, html in enumerate(htmls))
    emails.manage(to="a@example.com", preferences_url="https://x/p/", status_label="Active")
    assert len(compiles) == 2


def test_values_are_escaped_in_html_and_plain_in_text():
    message = emails.confirmation(
        to="r@example.com",
        confirm_url="https://x/c/",
        valid_days=7,
        topics=[],
        keywords=["<script>alert(1)</script> & co"],
    )
    html = message.alternatives[0][0]
    assert "<script>alert" not in html and "&lt;script&gt;" in html
    assert "<script>alert(1)</script> & co" in message.body


def test_the_html_is_dark_mode_aware_has_no_images_and_short_lines():
    message = _confirmation(1)
    html = message.alternatives[0][0]
    assert 'name="color-scheme" content="light dark"' in html
    assert "prefers-color-scheme: dark" in html
    assert "<img" not in html  # nothing is lost with images off
    assert "https://" not in html.replace("https://papers.example.org/", "")  # no remote fonts
    assert max(len(line) for line in html.splitlines()) <= emails.MAX_LINE
    assert "One click and your first digest" in html  # the preheader
    raw = message.message().as_bytes()
    assert b"quoted-printable" not in raw  # short lines: no QP encoding needed


def test_a_very_long_value_is_folded_without_breaking_the_markup():
    long_keyword = " ".join(["word"] * 600)
    message = emails.confirmation(
        to="r@example.com",
        confirm_url="https://x/c/",
        valid_days=7,
        topics=[],
        keywords=[long_keyword],
    )
    html = message.alternatives[0][0]
    assert max(len(line) for line in html.splitlines()) <= emails.MAX_LINE
    assert re.sub(r"\s+", " ", html).count("word word") >= 299


def test_folding_never_splits_a_template_tag_or_a_quoted_font_name():
    tags = '{% if a and b %}{{ value|default:"a b c" }}{% endif %}'
    style = "<p style=\"font-family:'Segoe UI', Arial\">"
    line = "<td>" + " ".join(["x"] * 500) + f" {tags} {style} " + " ".join(["y"] * 500) + "</td>"
    folded = emails.lines_fold(line, width=80)
    assert all(len(part) <= 80 for part in folded.splitlines())
    assert tags in folded and "'Segoe UI'" in folded


def test_every_section_is_as_wide_as_the_body_including_the_shared_ones():
    html = _confirmation(1).alternatives[0][0]
    assert html.count("max-width:600px") == 3  # header, body and footer


def test_the_footer_shows_the_postal_address_when_set(settings):
    settings.SENDER_POSTAL_ADDRESS = "Papers Ltd, 1 Example Road, 12345 Town"
    assert "Papers Ltd, 1 Example Road" in _confirmation(1).alternatives[0][0]
    settings.SENDER_POSTAL_ADDRESS = ""
    assert "Papers Ltd" not in _confirmation(1).alternatives[0][0]


@pytest.mark.parametrize(
    "subject",
    [
        "Your digest: 5 papers",
        "Vos articles du jour : l\u2019apprentissage \u00e0 z\u00e9ro exemple",  # not ASCII
        "A subject long enough that the header has to be folded over more than one line " * 2,
    ],
)
def test_a_message_is_written_byte_for_byte_as_pythons_compat32_policy_writes_it(subject):
    from email.policy import compat32

    message = emails.build(
        "manage",
        to="r\u00e9ader@example.com",
        context={"preferences_url": "https://x.example/p/", "status_label": "active"},
        headers={"List-Id": "Daily Papers Digest <digest.x.example>", "X-Long": "v " * 60},
    )
    message.subject = subject
    mime = message.message()  # one message (one boundary, one date), written both ways
    fast = mime.as_bytes(linesep="\r\n"), mime.as_string()
    mime.policy = compat32
    assert fast == (mime.as_bytes(linesep="\r\n"), mime.as_string())


def test_a_boundary_found_in_the_body_is_never_used(monkeypatch):
    """The boundary is chosen without the stdlib's per-message pattern, but still never one
    that the text or HTML holds: the message parses back into the same two parts."""
    from email import message_from_bytes

    draws = iter([1, 2])
    monkeypatch.setattr(emails.secrets, "randbelow", lambda _: next(draws))
    clash = "=" * 15 + f"{1:019d}" + "=="
    message = emails.build(
        "manage",
        to="reader@example.com",
        context={"preferences_url": f"https://x.example/p/{clash}", "status_label": "active"},
    )
    assert clash in message.body
    parsed = message_from_bytes(message.message().as_bytes())
    assert parsed.get_boundary() == "=" * 15 + f"{2:019d}" + "=="
    text, html = (part.get_payload(decode=True).decode() for part in parsed.get_payload())
    assert clash in text and clash in html
