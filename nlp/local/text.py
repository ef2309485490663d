"""Word splitting and normalisation shared by the lexicon compiler and the note scanner."""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

# Alphanumeric runs are words; any other non-space character is a one-character separator.
_TOKEN_RE = re.compile(r"[^\W_]+|[^\w\s]|_")
# Separators that join words of one term ("non-small", "n/v", "Crohn's"); the rest break a match.
JOINERS = frozenset("-/'’‘`")
STOPWORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "by",
        "for",
        "from",
        "had",
        "has",
        "have",
        "he",
        "her",
        "his",
        "in",
        "is",
        "it",
        "its",
        "of",
        "on",
        "or",
        "she",
        "that",
        "the",
        "their",
        "there",
        "this",
        "to",
        "was",
        "were",
        "which",
        "with",
        "without",
        "no",
        "not",
    ]
)


def load_rules(name: str) -> dict[str, Any]:
    """Load one JSON rule file shipped in ``nlp/local/rules``.

    Args:
        name: The file name, e.g. ``"cues.json"``.

    Returns:
        The parsed JSON object.
    """
    text = resources.files("nlp.local").joinpath("rules").joinpath(name).read_text(encoding="utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


@dataclass(frozen=True, slots=True)
class Words:
    """The words of a text: parallel lists of character offsets, keys and break flags.

    ``brk[i]`` is True when a breaking separator (comma, period, bracket...) lies between word
    ``i - 1`` and word ``i``; a dictionary match never crosses such a break.
    """

    starts: list[int]
    ends: list[int]
    keys: list[str]
    brk: list[bool]


class Normaliser:
    """Maps a lower-cased word to its matching key (spelling variants, plurals, accents).

    Args:
        spelling: Variant or misspelt word -> preferred word.
        invariant: Words never singularised ("diabetes", "sepsis").
    """

    def __init__(self, spelling: dict[str, str], invariant: set[str]) -> None:
        self._spelling = spelling
        self._invariant = frozenset(invariant)
        self._cache: dict[str, str] = {}

    @classmethod
    def default(cls) -> Normaliser:
        """The normaliser configured by ``rules/normalise.json``."""
        return _default_normaliser()

    def key(self, word: str) -> str:
        """The matching key of one word (any case)."""
        cached = self._cache.get(word)
        if cached is not None:
            return cached
        key = self._compute(word)
        if len(self._cache) < 500_000:
            self._cache[word] = key
        return key

    def _compute(self, word: str) -> str:
        w = word.lower()
        if not w.isascii():
            w = "".join(c for c in unicodedata.normalize("NFKD", w) if not unicodedata.combining(c))
        mapped = self._spelling.get(w)
        if mapped is not None:
            return mapped
        if w in self._invariant or len(w) <= 3 or not w.isalpha():
            return w
        return self._singular(w)

    def _singular(self, w: str) -> str:
        if w.endswith("ies") and len(w) > 4:
            return w[:-3] + "y"
        if w.endswith(("sses", "ches", "shes", "xes", "zes")):
            return w[:-2]
        if w.endswith("oses") and len(w) > 5:
            return w[:-4] + "osis"
        if w.endswith("ides") and w.endswith("itides"):
            return w[:-6] + "itis"
        if w.endswith("s") and not w.endswith(("ss", "us", "is")):
            singular = w[:-1]
            mapped = self._spelling.get(singular)
            return mapped if mapped is not None else singular
        return w

    def words(self, text: str) -> Words:
        """Split ``text`` into words with keys; possessive ``'s`` is dropped."""
        starts: list[int] = []
        ends: list[int] = []
        keys: list[str] = []
        brk: list[bool] = []
        pending_break = False
        after_apostrophe = False
        key = self.key
        for m in _TOKEN_RE.finditer(text):
            tok = m.group()
            if len(tok) == 1 and not tok.isalnum():
                if tok in JOINERS:
                    after_apostrophe = tok in "'’‘`"
                else:
                    pending_break = True
                    after_apostrophe = False
                continue
            if after_apostrophe and tok in ("s", "S") and keys:
                after_apostrophe = False
                ends[-1] = m.end()
                continue
            after_apostrophe = False
            starts.append(m.start())
            ends.append(m.end())
            keys.append(key(tok))
            brk.append(pending_break)
            pending_break = False
        return Words(starts, ends, keys, brk)

    def phrase_key(self, text: str) -> tuple[str, ...]:
        """The key tuple of a whole phrase (how lexicon terms are indexed).

        Same keys as ``words(text).keys``, without offsets (the lexicon compiles ~100k terms).
        """
        out: list[str] = []
        cache = self._cache
        after_apostrophe = False
        for tok in _TOKEN_RE.findall(text):
            if len(tok) == 1 and not tok.isalnum():
                after_apostrophe = tok in "'’‘`"
                continue
            if after_apostrophe and tok in ("s", "S") and out:
                after_apostrophe = False
                continue
            after_apostrophe = False
            k = cache.get(tok)
            out.append(k if k is not None else self.key(tok))
        return tuple(out)


@cache
def _default_normaliser() -> Normaliser:
    data = load_rules("normalise.json")
    return Normaliser(dict(data["spelling"]), set(data["invariant"]))
