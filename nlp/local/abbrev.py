"""Schwartz-Hearst abbreviation detection: "long form (SF)" pairs, then every SF occurrence."""

from __future__ import annotations

import re
from dataclasses import dataclass

_PAREN_RE = re.compile(r"\((?P<sf>[^()\s;,]{2,10}(?:\s[^()\s;,]{1,10})?)\)")


@dataclass(frozen=True, slots=True)
class Abbreviation:
    """A short form defined in the text: ``long_begin..long_end`` and the short form string."""

    short: str
    long_begin: int
    long_end: int
    sf_begin: int


def _best_long_form(sf: str, lf: str) -> int | None:
    """Schwartz & Hearst (2003): start index in ``lf`` of the shortest matching long form."""
    s_idx = len(sf) - 1
    l_idx = len(lf) - 1
    while s_idx >= 0:
        c = sf[s_idx].lower()
        if not c.isalnum():
            s_idx -= 1
            continue
        while (l_idx >= 0 and lf[l_idx].lower() != c) or (
            s_idx == 0 and l_idx > 0 and lf[l_idx - 1].isalnum()
        ):
            l_idx -= 1
        if l_idx < 0:
            return None
        l_idx -= 1
        s_idx -= 1
    start = lf.rfind(" ", 0, l_idx + 1) + 1
    return start


def find_abbreviations(text: str) -> list[Abbreviation]:
    """All "long form (SF)" definitions in ``text`` (Schwartz-Hearst rules).

    The short form has 2-10 characters, at most two words, a letter first; the long form is at
    most ``min(len(SF) + 5, 2 * len(SF))`` words before the parenthesis, within the sentence.
    """
    out: list[Abbreviation] = []
    for m in _PAREN_RE.finditer(text):
        sf = m.group("sf")
        if not sf[0].isalnum() or not any(ch.isalpha() for ch in sf):
            continue
        if sf.isdigit() or (sf.islower() and len(sf) > 3):
            continue
        head = text[max(0, m.start() - 200) : m.start()].rstrip()
        cut = max(head.rfind(". "), head.rfind("; "), head.rfind("\n"), head.rfind("("))
        if cut >= 0:
            head = head[cut + 1 :]
        words = head.split()
        n = min(len(sf) + 5, 2 * len(sf))
        window = " ".join(words[-n:])
        if not window:
            continue
        start = _best_long_form(sf, window)
        if start is None:
            continue
        lf = window[start:]
        if len(lf) <= len(sf) or len(lf.split()) > n:
            continue
        long_end = m.start()
        while long_end > 0 and text[long_end - 1].isspace():
            long_end -= 1
        long_begin = long_end - len(lf)
        if text[long_begin:long_end] != lf:
            continue
        out.append(Abbreviation(sf, long_begin, long_end, m.start("sf")))
    return out


def short_form_occurrences(text: str, short: str) -> list[tuple[int, int]]:
    """Case-sensitive whole-word occurrences of ``short`` in ``text``."""
    rx = re.compile(r"(?<![\w-])" + re.escape(short) + r"(?![\w-])")
    return [(m.start(), m.end()) for m in rx.finditer(text)]
