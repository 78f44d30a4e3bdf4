"""Words, stems and phrases: what the lexical signal, exclusions and reasons look for.

A text becomes a list of tokens (lower-cased word stems with their character spans), stop words
dropped. A keyword or phrase becomes *terms*: its stems, and each pair of neighbouring stems as a
bigram, so "motion planning" matches "planning motions" weakly and "motion planning" strongly.
Hyphens split words ("chain-of-thought" is "chain thought" once stop words go); a plural acronym
("LLMs") counts as its singular.
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

import Stemmer

_WORD = re.compile(r"[^\W_]+", re.UNICODE)
_PLURAL_ACRONYM = re.compile(r"^[A-Z][A-Z0-9]+s$")
_stemmer = Stemmer.Stemmer("english")

_STOP = """a an and are as at be been but by for from has have in into is it its of on or our that
the their these this those to was we were which with via using based towards toward than then can
not no more most also such"""
STOP_WORDS = frozenset(_STOP.split())


@dataclass(frozen=True, slots=True)
class Token:
    stem: str
    start: int
    end: int


@lru_cache(maxsize=200_000)
def _stem(word: str) -> str:
    return _stemmer.stemWord(word)


def _normal(word: str) -> str:
    if _PLURAL_ACRONYM.match(word):
        word = word[:-1]
    return _stem(word.lower())


def tokenize(text: str) -> list[Token]:
    """The stems of ``text`` with their spans in it, stop words left out."""
    tokens = []
    for match in _WORD.finditer(text):
        word = match.group()
        if word.lower() in STOP_WORDS:
            continue
        tokens.append(Token(_normal(word), match.start(), match.end()))
    return tokens


def stems(text: str) -> list[str]:
    return [token.stem for token in tokenize(text)]


def bigram(first: str, second: str) -> str:
    return f"{first} {second}"


def text_terms(tokens: list[Token]) -> list[str]:
    """Every unigram and neighbouring bigram of a tokenised text, in order (with repeats)."""
    words = [token.stem for token in tokens]
    return words + [bigram(a, b) for a, b in itertools.pairwise(words)]


@lru_cache(maxsize=100_000)
def phrase_key(phrase: str) -> tuple[str, ...]:
    """A keyword or phrase as its sequence of stems: what must appear, in order, to match it."""
    return tuple(stems(phrase))


def phrase_terms(key: tuple[str, ...]) -> list[str]:
    """The terms that all appear in a text that contains the phrase ``key``."""
    if len(key) == 1:
        return list(key)
    return [bigram(a, b) for a, b in itertools.pairwise(key)]


def positions(tokens: list[Token]) -> dict[str, list[int]]:
    """Where each stem occurs among ``tokens``: an index that makes ``phrase_spans`` cheap."""
    index: dict[str, list[int]] = {}
    for i, token in enumerate(tokens):
        index.setdefault(token.stem, []).append(i)
    return index


def phrase_spans(
    key: tuple[str, ...], tokens: list[Token], index: dict[str, list[int]] | None = None
) -> list[tuple[int, int]]:
    """Character spans of each occurrence of the phrase ``key`` among ``tokens``."""
    if not key:
        return []
    n = len(key)
    starts = (index if index is not None else positions(tokens)).get(key[0], ())
    spans = []
    for i in starts:
        if i + n <= len(tokens) and all(tokens[i + j].stem == key[j] for j in range(1, n)):
            spans.append((tokens[i].start, tokens[i + n - 1].end))
    return spans


def word_form(word: str) -> str:
    """A word as written, up to case and a plural -s ("Experts" is "expert", "LLMs" is "llm";
    "accessibility" stays itself, where its stem would be "access")."""
    word = word.lower()
    return word[:-1] if len(word) > 3 and word.endswith("s") and not word.endswith("ss") else word


@lru_cache(maxsize=100_000)
def phrase_forms(phrase: str) -> tuple[str, ...]:
    """A keyword's words as written (``word_form``), stop words left out."""
    words = (m.group() for m in _WORD.finditer(phrase))
    return tuple(word_form(w) for w in words if w.lower() not in STOP_WORDS)


def form_positions(text: str, tokens: list[Token]) -> dict[str, list[int]]:
    """Where each word form occurs among a text's ``tokens``: ``positions`` for ``word_form``."""
    index: dict[str, list[int]] = {}
    for i, token in enumerate(tokens):
        index.setdefault(word_form(text[token.start : token.end]), []).append(i)
    return index


def phrase_within(key: tuple[str, ...], index: dict[str, list[int]], gap: int) -> bool:
    """Whether the phrase ``key`` occurs in a text (``index``: its ``positions`` or
    ``form_positions``): its words in order, at most ``gap`` other words between neighbours
    ("mixture of experts" in "Mixture of Modality-Aware Experts" with a gap of 2)."""
    if not key:
        return False
    frontier = index.get(key[0], [])
    for stem in key[1:]:
        frontier = [p for p in index.get(stem, ()) if any(0 < p - f <= gap + 1 for f in frontier)]
    return bool(frontier)


def author_key(name: str) -> str:
    """A person's name as a comparable key: no accents, case, punctuation or extra spaces."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return " ".join(re.findall(r"[a-z]+", ascii_name.lower()))


def author_short_key(name: str) -> str:
    """First initial and last name ("y lecun"), to match "Y. LeCun" with "Yann LeCun"."""
    parts = author_key(name).split()
    if len(parts) < 2:
        return " ".join(parts)
    return f"{parts[0][0]} {parts[-1]}"
