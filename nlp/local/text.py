"""Word splitting and normalisation shared by the lexicon compiler and the note scanner."""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from itertools import accumulate, chain
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


def word_frequency(word: str) -> float:
    """English word frequency of ``word`` (``wordfreq``, Zipf scale: 1 is ten uses per billion
    words, 0 never seen; misspellings such as "pneumnia" are 0)."""
    from wordfreq import zipf_frequency

    return float(zipf_frequency(word, "en"))


def positions(keys: list[str], wanted: frozenset[str]) -> list[int]:
    """Indices of the keys that are in ``wanted``, in order (set and list searches run in C)."""
    found = wanted.intersection(keys)
    if not found:
        return []
    out: list[int] = []
    for k in found:
        i = keys.index(k)
        while True:
            out.append(i)
            try:
                i = keys.index(k, i + 1)
            except ValueError:
                break
    out.sort()
    return out


@dataclass(frozen=True, slots=True, init=False)
class Words:
    """The words of a text: parallel lists of character offsets, keys and break flags.

    ``brk[i]`` is True when a breaking separator (comma, period, bracket...) lies between word
    ``i - 1`` and word ``i``; a dictionary match never crosses such a break. ``runs`` and
    ``run_starts``: every alphanumeric run of the text as written, possessive "s" included
    (the PHI detector's word index is built from them); not compared.
    """

    starts: list[int]
    ends: list[int]
    keys: list[str]
    brk: list[bool]
    runs: Sequence[str] = field(default=(), compare=False, repr=False)
    run_starts: Sequence[int] = field(default=(), compare=False, repr=False)

    # an explicit __init__: mypyc compiles it (the dataclass one runs as Python, ~10x slower)
    def __init__(
        self,
        starts: list[int],
        ends: list[int],
        keys: list[str],
        brk: list[bool],
        runs: Sequence[str] = (),
        run_starts: Sequence[int] = (),
    ) -> None:
        object.__setattr__(self, "starts", starts)
        object.__setattr__(self, "ends", ends)
        object.__setattr__(self, "keys", keys)
        object.__setattr__(self, "brk", brk)
        object.__setattr__(self, "runs", runs)
        object.__setattr__(self, "run_starts", run_starts)


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
        """Split ``text`` into words with keys; possessive ``'s`` is dropped.

        One ``findall`` splits the text into (gap, word) pairs in C; offsets are running sums
        of their lengths, keys and break flags come from per-word and per-gap caches.
        """
        pairs = (_ASCII_GAP_WORD_RE if text.isascii() else _GAP_WORD_RE).findall(text)
        if not pairs:
            return Words([], [], [], [])
        gaps, toks = zip(*pairs, strict=True)
        starts, ends = gap_word_offsets(gaps, toks)
        keys: list[str | None] = list(map(self._cache.get, toks))
        if None in keys:
            keys = [k if k is not None else self.key(t) for k, t in zip(keys, toks, strict=True)]
        brk: list[bool | None] = list(map(_GAP_BREAK.get, gaps))
        if None in brk:
            brk = [
                b if b is not None else _gap_code(g) in _BREAKING
                for b, g in zip(brk, gaps, strict=True)
            ]
        if any(a in text for a in _APOSTROPHES):
            codes = [_GAP_CACHE.get(g) or _gap_code(g) for g in gaps]
            if _APOSTROPHE in codes or _BREAK_APOSTROPHE in codes:
                return _merge_possessives(
                    Words(starts, ends, keys, brk, toks, starts),  # type: ignore[arg-type]
                    toks,
                    codes,
                )
        return Words(starts, ends, keys, brk, toks, starts)  # type: ignore[arg-type]

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


# (gap, word) pairs: the separators before each alphanumeric run, and the run.
_GAP_WORD_RE = re.compile(r"([\W_]*)([^\W_]+)")
_ASCII_GAP_WORD_RE = re.compile(r"([^a-zA-Z0-9]*+)([a-zA-Z0-9]++)")  # same, ASCII text only
_APOSTROPHES = "'’‘`"
# Gap codes (never 0, so that ``cache.get(g) or ...`` works): plain, breaking, ending in an
# apostrophe (a following "s" is a possessive), both.
_PLAIN, _BREAK, _APOSTROPHE, _BREAK_APOSTROPHE = 1, 2, 3, 4
_BREAKING = (_BREAK, _BREAK_APOSTROPHE)
_GAP_CACHE: dict[str, int] = {}
_GAP_BREAK: dict[str, bool] = {}  # gap -> breaking, filled by _gap_code


def gap_word_offsets(gaps: Sequence[str], words: Sequence[str]) -> tuple[list[int], list[int]]:
    """Start and end offsets of ``words`` when the text is gap, word, gap, word..."""
    lengths = zip(map(len, gaps), map(len, words), strict=True)
    offsets = list(accumulate(chain.from_iterable(lengths)))
    return offsets[0::2], offsets[1::2]


def _gap_code(gap: str) -> int:
    """Classify the separators between two words (see the ``_PLAIN``... codes)."""
    breaking = False
    apostrophe = False
    for ch in gap:
        if ch.isspace():
            continue
        if ch in JOINERS:
            apostrophe = ch in _APOSTROPHES
        else:
            breaking = True
            apostrophe = False
    code = (_BREAK_APOSTROPHE if apostrophe else _BREAK) if breaking else _PLAIN
    if apostrophe and not breaking:
        code = _APOSTROPHE
    if len(_GAP_CACHE) < 10_000:
        _GAP_CACHE[gap] = code
        _GAP_BREAK[gap] = breaking
    return code


def _merge_possessives(words: Words, toks: tuple[str, ...], codes: list[int]) -> Words:
    """Fold a word "s" right after an apostrophe into the previous word ("Crohn's")."""
    starts: list[int] = []
    ends: list[int] = []
    keys: list[str] = []
    brk: list[bool] = []
    carry = False  # a break before a dropped "s" applies to the next word
    for i, tok in enumerate(toks):
        if keys and tok in ("s", "S") and codes[i] in (_APOSTROPHE, _BREAK_APOSTROPHE):
            ends[-1] = words.ends[i]
            carry = carry or words.brk[i]
            continue
        starts.append(words.starts[i])
        ends.append(words.ends[i])
        keys.append(words.keys[i])
        brk.append(words.brk[i] or carry)
        carry = False
    return Words(starts, ends, keys, brk, words.runs, words.run_starts)


@cache
def _default_normaliser() -> Normaliser:
    data = load_rules("normalise.json")
    return Normaliser(dict(data["spelling"]), set(data["invariant"]))
