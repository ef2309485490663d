"""Shared pieces of the PHI detector: the span type, word lists and word tests, anchoring.

A word is "rare" when it is neither in wordfreq's English list nor medical vocabulary nor a
known non-name: in a name or place slot such a word is a name (or a misspelling, which is why
rare words count only next to a cue).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from nlp.local.phi_lists import census_names, common_first_names, english_zipf
from nlp.local.text import STOPWORDS

NAME_WORD = r"[A-Za-z][A-Za-z'’-]*[A-Za-z]"
COMMON = 4.0  # Zipf frequency from which an English word is too common to be a cued name
VERY_COMMON = 4.5  # ... to be a name even after an initial or a title


# a name after a courtesy title ("Mrs. Burns", "Dr. Parkinson") is certain: it beats the
# clinical mention under it (``nlp.local.annotate``); every other name scores below
CERTAIN_NAME = 0.9


@dataclass(frozen=True, slots=True, init=False)
class PhiSpan:
    """One PHI hit: character span and Comprehend type (NAME, DATE, ADDRESS...)."""

    begin: int
    end: int
    type: str
    score: float

    # an explicit __init__: mypyc compiles it (the dataclass one runs as Python, ~10x slower)
    def __init__(
        self,
        begin: int,
        end: int,
        type: str,
        score: float,
    ) -> None:
        object.__setattr__(self, "begin", begin)
        object.__setattr__(self, "end", end)
        object.__setattr__(self, "type", type)
        object.__setattr__(self, "score", score)


class PhiWords:
    """Word lists of the name and place rules, and the tests built on them.

    Config (``rules/phi.json``): ``not_names`` (never names or places) and
    ``ambiguous_first_names`` (census first names that are ordinary words). Census names,
    English word frequencies: :mod:`nlp.local.phi_lists`.

    Args:
        data: The PHI rules.
        medical_words: Lower-case words known as medical vocabulary (never names).
    """

    def __init__(self, data: dict[str, Any], medical_words: frozenset[str]) -> None:
        self.first, self.last = census_names()
        self.common_first = common_first_names()
        self.zipf = english_zipf()
        self.ambiguous_first = frozenset(data["ambiguous_first_names"])
        self.medical = medical_words
        self.plain_not_names = frozenset(data["not_names"])
        self.not_names = self.plain_not_names | medical_words

    def is_name_word(self, w: str) -> bool:
        lw = w.lower()
        return len(lw) >= 2 and lw not in self.not_names and not lw.isdigit()

    def rare(self, lw: str) -> bool:
        """Not English (wordfreq), not medical, not a known non-name: a name or a place."""
        return (
            bool(self.zipf)
            and len(lw) >= 3
            and lw.isalpha()
            and lw not in self.zipf
            and lw not in self.not_names
        )

    def cued_name(self, w: str, rare: bool = True) -> bool:
        """A name where only a weak cue says so: a census (or ``rare``) word, not a common one."""
        lw = w.lower()
        if not self.is_name_word(w) or lw in self.ambiguous_first or lw in STOPWORDS:
            return False
        if rare and self.rare(lw):
            return True
        known = lw in self.first or lw in self.last
        return known and (self.zipf.get(lw, 0.0) < COMMON or lw in self.common_first)

    def name_after(self, w: str, very_common: float = VERY_COMMON) -> bool:
        """A name right after a strong cue: capitalised, census or rare, and not common."""
        lw = w.lower()
        if not self.is_name_word(w) or lw in STOPWORDS:
            return False
        if lw in self.first or lw in self.last or self.rare(lw):
            return self.zipf.get(lw, 0.0) < very_common or lw in self.common_first
        return titled(w) and self.zipf.get(lw, 0.0) < very_common


def at(positions: dict[str, list[int]], words: frozenset[str]) -> list[int]:
    """Start offsets of the words of ``words`` in the note (``positions``: word -> starts)."""
    if len(words) < len(positions):
        out = [p for w in words for p in positions.get(w, ())]
    else:
        out = [p for w, ps in positions.items() if w in words for p in ps]
    out.sort()
    return out


def matches_at(rx: re.Pattern[str], text: str, starts: list[int]) -> list[re.Match[str]]:
    """Matches of ``rx`` anchored at each offset (they may overlap: the caller judges them)."""
    return [m for b in starts if (m := rx.match(text, b)) is not None]


def match_at(rx: re.Pattern[str], text: str, starts: list[int]) -> list[re.Match[str]]:
    """Matches of ``rx`` anchored at each offset (non-overlapping, in order)."""
    out: list[re.Match[str]] = []
    last = -1
    for b in starts:
        if b < last:
            continue
        m = rx.match(text, b)
        if m is not None:
            out.append(m)
            last = m.end()
    return out


def alternation(items: Iterable[str]) -> str:
    """A regex alternation of literal strings, longest first."""
    return "|".join(re.escape(x) for x in sorted(set(items), key=len, reverse=True))


def titled(w: str) -> bool:
    """Capitalised and not all capitals ("Quell", "McNab"): a proper name in cased text."""
    return w[:1].isupper() and not w.isupper()


WORD_AT_RE = re.compile(NAME_WORD)
LOC_STOP = frozenset(
    [
        "the",
        "a",
        "an",
        "this",
        "that",
        "his",
        "her",
        "their",
        "our",
        "my",
        "your",
        "same",
        "other",
        "outside",
        "local",
        "our",
        "another",
        "to",
        "from",
        "in",
        "at",
        "of",
        "and",
        "or",
        "was",
        "is",
        "were",
        "be",
        "transferred",
        "transfer",
        "admitted",
        "sent",
        "discharged",
        "returned",
        "taken",
        "trans",
        "seen",
    ]
)
