"""The one rule for an arXiv identifier: every source, form, import and join uses ``arxiv_id_normalize``.

The key is the versionless id as arXiv writes it: new style ``2401.01234``; old style
``archive[.SUBJECT]/YYMMNNN`` with the archive in lower case and a two-letter subject class in upper
case (``math.GT/0309136``, ``hep-th/9901001``). It is read from a bare id, an ``arXiv:`` or
``oai:arXiv.org:`` prefix, or an abs/pdf/html (or Hugging Face papers) URL with or without ``www.``/
``export.``, a version, a ``.pdf`` suffix, a query string or a fragment.
"""

from __future__ import annotations

import re

MAX_INPUT = 2000

_PREFIX_RE = re.compile(
    r"^(?:"
    r"(?:https?://)?(?:[a-z0-9-]+\.)*(?:arxiv\.org|huggingface\.co)/(?:abs|pdf|html|papers|format)/"
    r"|/papers/"
    r"|oai:arxiv\.org:"
    r"|arxiv:"
    r")",
    re.IGNORECASE,
)
_NEW_RE = re.compile(r"(\d{4}\.\d{4,5})(?:v\d+)?")
_OLD_RE = re.compile(
    r"([a-z][a-z-]{0,30})(?:\.([a-z]{2}|[a-z][a-z-]{2,30}))?/(\d{7})(?:v\d+)?", re.I
)


def arxiv_id_normalize(value: object) -> str:
    """The versionless arXiv id that ``value`` names, or "" when it names none."""
    if not isinstance(value, str) or len(value) > MAX_INPUT:
        return ""
    text = _PREFIX_RE.sub("", value.strip(), count=1)
    text = text.split("?", 1)[0].split("#", 1)[0].rstrip("/")
    if text[-4:].lower() == ".pdf":
        text = text[:-4]
    if match := _NEW_RE.fullmatch(text):
        return match.group(1)
    if match := _OLD_RE.fullmatch(text):
        archive, subject, number = match.groups()
        if not subject:
            return f"{archive.lower()}/{number}"
        subject = subject.upper() if len(subject) == 2 else subject.lower()
        return f"{archive.lower()}.{subject}/{number}"
    return ""


def arxiv_links(arxiv_id: str) -> tuple[str, str]:
    """The abstract page and PDF of a normalised id."""
    return f"https://arxiv.org/abs/{arxiv_id}", f"https://arxiv.org/pdf/{arxiv_id}"
