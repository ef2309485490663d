"""Dictionary matcher: a word-key trie over the lexicon, leftmost-longest, normalised matching."""

from __future__ import annotations

import os
import pickle
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple, Protocol

from nlp.local.text import STOPWORDS, Normaliser, Words

# Sources whose terms only match when written in capitals in the note (abbreviations).
CASE_SENSITIVE_SOURCES = frozenset({"abbrev"})
_PAYLOAD = ""  # trie key holding the payload (no word key is empty)


class TermLike(Protocol):
    """What the matcher needs from a lexicon term (``nlp.local.lexicon.Term`` satisfies it)."""

    @property
    def text(self) -> str: ...
    @property
    def category(self) -> str: ...
    @property
    def type(self) -> str: ...
    @property
    def source(self) -> str: ...
    @property
    def code(self) -> str | None: ...


class Entry(NamedTuple):
    """One distinct (category, type) reading of a key sequence (a tuple: fast to unpickle).

    Attributes:
        category: Comprehend category.
        type: Comprehend type.
        source: Lexicon source of the first term seen with this reading.
        code: Its code, if any.
        link: Text the linker should see (the expansion for an abbreviation), or None.
        upper: True when the note text must be upper case to match (abbreviations).
    """

    category: str
    type: str
    source: str
    code: str | None
    link: str | None
    upper: bool


@dataclass(frozen=True, slots=True, init=False)
class Match:
    """A dictionary hit over words ``[first, last]`` with its character span."""

    first: int
    last: int
    begin: int
    end: int
    entries: tuple[Entry, ...]

    # an explicit __init__: mypyc compiles it (the dataclass one runs as Python, ~10x slower)
    def __init__(
        self,
        first: int,
        last: int,
        begin: int,
        end: int,
        entries: tuple[Entry, ...],
    ) -> None:
        object.__setattr__(self, "first", first)
        object.__setattr__(self, "last", last)
        object.__setattr__(self, "begin", begin)
        object.__setattr__(self, "end", end)
        object.__setattr__(self, "entries", entries)


class TermMatcher:
    """Compiles terms into a trie of normalised word keys and finds them in notes.

    Args:
        normaliser: The word normaliser shared with the note scanner.
    """

    def __init__(self, normaliser: Normaliser) -> None:
        self.normaliser = normaliser
        self._root: dict[str, Any] = {}
        self.size = 0

    def add(
        self,
        terms: Iterable[TermLike],
        *,
        links: dict[str, str] | None = None,
        min_chars: int = 2,
    ) -> None:
        """Add terms; the first reading per (key sequence, category, type) wins.

        Args:
            terms: Lexicon terms.
            links: Optional surface text -> link text (abbreviation expansions).
            min_chars: Shortest one-word term kept (short forms such as "k" use 1).
        """
        phrase_key = self.normaliser.phrase_key
        for term in terms:
            keys = phrase_key(term.text)
            if not keys or (len(keys) == 1 and (keys[0] in STOPWORDS or len(keys[0]) < min_chars)):
                continue
            if all(k.isdigit() for k in keys):
                continue
            upper = term.source in CASE_SENSITIVE_SOURCES
            link = links.get(term.text) if links else None
            node = self._root
            for k in keys:
                node = node.setdefault(k, {})
            entries: list[Entry] = node.setdefault(_PAYLOAD, [])
            if any(e.category == term.category and e.type == term.type for e in entries):
                continue
            entries.append(Entry(term.category, term.type, term.source, term.code, link, upper))
            self.size += 1

    def finalise(self) -> None:
        """Freeze payload lists into tuples (smaller, hashable)."""
        stack = [self._root]
        while stack:
            node = stack.pop()
            for k, v in node.items():
                if k == _PAYLOAD:
                    node[k] = tuple(v)
                else:
                    stack.append(v)

    def save(self, path: Path) -> None:
        """Write the compiled trie (atomic rename; a failure leaves no partial file)."""
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        with tmp.open("wb") as fh:
            pickle.dump((self.size, self._root), fh, protocol=pickle.HIGHEST_PROTOCOL)
        tmp.replace(path)

    def load(self, path: Path) -> bool:
        """Read a trie written by :meth:`save`; False when absent or unreadable."""
        try:
            with path.open("rb") as fh:
                self.size, self._root = pickle.load(fh)
        except (OSError, pickle.UnpicklingError, EOFError, ValueError, AttributeError):
            return False
        return True

    def find(self, text: str, words: Words) -> list[Match]:
        """Leftmost-longest, non-overlapping matches of the lexicon in ``words``.

        Args:
            text: The note (for the upper-case check of abbreviations).
            words: ``normaliser.words(text)``.

        Returns:
            Matches in text order.
        """
        keys, brk, starts, ends = words.keys, words.brk, words.starts, words.ends
        root = self._root
        n = len(keys)
        out: list[Match] = []
        i = 0
        while i < n:
            node = root.get(keys[i])
            if node is None:
                i += 1
                continue
            best: tuple[int, tuple[Entry, ...]] | None = None
            j = i
            while True:
                payload = node.get(_PAYLOAD)
                if payload is not None:
                    ok = _accept(payload, text, starts[i], ends[j])
                    if ok:
                        best = (j, ok)
                j += 1
                if j >= n or brk[j]:
                    break
                node = node.get(keys[j])
                if node is None:
                    break
            if best is None:
                i += 1
                continue
            last, entries = best
            out.append(Match(i, last, starts[i], ends[last], entries))
            i = last + 1
        return out


def _accept(payload: tuple[Entry, ...], text: str, begin: int, end: int) -> tuple[Entry, ...]:
    """The entries whose case condition holds for ``text[begin:end]``."""
    if not any(e.upper for e in payload):
        return payload
    surface = text[begin:end]
    is_upper = surface.isupper()
    return tuple(e for e in payload if not e.upper or is_upper)


class SpellIndex:
    """One-edit spelling correction towards a vocabulary (SymSpell's delete index).

    A word is corrected to the vocabulary word it is one insertion, deletion, substitution or
    transposition away from, when exactly one such word exists ("pneumnia" -> "pneumonia",
    "hypothroidism" -> "hypothyroidism", "tachynea" -> "tachypnea"). Gerunds are left alone on
    both sides: English "-ing" words sit one letter from findings such as "hopping" or
    "tearing" ("popping", "wearing").

    Args:
        vocabulary: correct spellings (lower case).
        min_len: shortest vocabulary word (shorter words have too many neighbours).
    """

    def __init__(self, vocabulary: Iterable[str], min_len: int = 6) -> None:
        self.words = frozenset(
            w for w in vocabulary if len(w) >= min_len and w.isalpha() and not w.endswith("ing")
        )
        self.min_len = min_len
        self._deletes: dict[str, tuple[str, ...]] = {}
        index: dict[str, list[str]] = {}
        for w in self.words:
            for d in _deletes(w):
                index.setdefault(d, []).append(w)
        self._deletes = {d: tuple(ws) for d, ws in index.items()}

    def correct(self, word: str) -> str | None:
        """The one vocabulary word ``word`` is a misspelling of, or None."""
        if len(word) < self.min_len - 1 or word in self.words or not word.isalpha():
            return None
        if word.endswith("ing"):
            return None
        found: set[str] = set(self._deletes.get(word, ()))  # a letter missing
        for d in _deletes(word):
            if d in self.words:  # a letter too many
                found.add(d)
            found.update(w for w in self._deletes.get(d, ()) if _one_edit(word, w))
        return next(iter(found)) if len(found) == 1 else None


def _deletes(word: str) -> set[str]:
    return {word[:i] + word[i + 1 :] for i in range(len(word))}


def _one_edit(a: str, b: str) -> bool:
    """True for one substitution or one transposition of neighbours (equal lengths)."""
    if len(a) != len(b):
        return len(a) + 1 == len(b) or len(b) + 1 == len(a)  # checked through the index
    diff = [i for i in range(len(a)) if a[i] != b[i]]
    if len(diff) == 1:
        return True
    return (
        len(diff) == 2
        and diff[1] == diff[0] + 1
        and a[diff[0]] == b[diff[1]]
        and a[diff[1]] == b[diff[0]]
    )
