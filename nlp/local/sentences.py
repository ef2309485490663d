"""Fast clinical sentence splitter: regular expressions over the text, no per-token Python."""

from __future__ import annotations

import bisect
import re
from collections.abc import Sequence

# Words after which a period does not end a sentence.
ABBREVIATIONS = frozenset(
    [
        "dr",
        "mr",
        "mrs",
        "ms",
        "mx",
        "prof",
        "st",
        "sr",
        "jr",
        "vs",
        "etc",
        "eg",
        "ie",
        "e.g",
        "i.e",
        "approx",
        "appt",
        "apt",
        "no",
        "nos",
        "fig",
        "pt",
        "pts",
        "p.o",
        "po",
        "b.i.d",
        "t.i.d",
        "q.i.d",
        "q.d",
        "q.h.s",
        "q.o.d",
        "p.r.n",
        "a.m",
        "p.m",
        "h.s",
        "a.c",
        "p.c",
        "inc",
        "corp",
        "dept",
        "univ",
        "jan",
        "feb",
        "mar",
        "apr",
        "jun",
        "jul",
        "aug",
        "sep",
        "sept",
        "oct",
        "nov",
        "dec",
        "mon",
        "tue",
        "wed",
        "thu",
        "fri",
        "sat",
        "sun",
        "hx",
        "dx",
        "rx",
        "tx",
        "sx",
        "fx",
        "yo",
        "y.o",
        "approx.",
        "min",
        "max",
        "mg",
        "mcg",
        "ml",
        "cc",
    ]
)

# Terminal punctuation before a capital, digit or bullet; or (group "low", lower-case notes)
# before a space and a lower-case word, which ends a sentence unless the word before is a known
# abbreviation or a lone letter after a period or space ("e.g.").
_END_RE = re.compile(r"[.!?]+[\"')\]]*(?=\s+[\"'(\[]?[A-Z0-9•*\-]|(?P<low>[ \t]+[a-z]))")
_LINE_RE = re.compile(r"\n[ \t\r]*")
# a bullet, a numbered item, a header "Word:" or a nursing system prefix "cv-", "gi -"
_BULLET_RE = re.compile(
    r"(?:[-*•]\s|\d{1,2}[.)]\s|[A-Za-z][A-Za-z /&]{0,40}:|[A-Za-z][A-Za-z/]{0,11}[ \t]?-(?![\d-]))"
)
_WORD_BEFORE_RE = re.compile(r"([A-Za-z][A-Za-z.]*)$")


def sentence_starts(text: str) -> list[int]:
    """Character offsets where sentences start (always includes the first non-space char).

    Rules: terminal punctuation followed by a capital, digit or bullet (not after a known
    abbreviation or a single initial), or by a lower-case word (not after a known abbreviation,
    a dotted abbreviation or a lone letter); a blank line; a line break followed by a bullet, a
    numbered item, a header ``Word:`` (any case), a system prefix ``cv-`` or a capital letter;
    a line break after a line ending in ``.:;!?`` (trailing spaces ignored; a line of spaces is
    blank).

    Args:
        text: The note.

    Returns:
        Sorted, unique start offsets.
    """
    starts: set[int] = set()
    first = len(text) - len(text.lstrip())
    if first < len(text):
        starts.add(first)
    for m in _END_RE.finditer(text):
        before = word_before_end(text, max(0, m.start() - 12), m.start())
        if m.start("low") < 0:
            if before is not None:
                word = before[1].lower().rstrip(".")
                if word in ABBREVIATIONS or (len(word) == 1 and text[m.start() - 1].isupper()):
                    continue
        else:
            if before is None:
                continue
            word = before[1].lower().rstrip(".")
            b = before[0]
            lone = len(word) == 1 and (b == 0 or text[b - 1] in ". \t\n")
            if word in ABBREVIATIONS or "." in word or lone:
                continue
        nxt = m.end()
        while nxt < len(text) and text[nxt].isspace():
            nxt += 1
        starts.add(nxt)
    for m in _LINE_RE.finditer(text):
        nxt = m.end()
        if nxt >= len(text) or text[nxt] == "\n":
            continue
        line_end = m.start()
        while line_end > 0 and text[line_end - 1] in " \t\r":  # trailing spaces
            line_end -= 1
        prev = text[line_end - 1] if line_end > 0 else "\n"
        blank = "\n" in text[m.start() + 1 : nxt] or prev == "\n"
        ch = text[nxt]
        if (
            blank
            or prev in ".:;!?"
            or ch.isupper()
            or ch.isdigit()
            or _BULLET_RE.match(text, nxt) is not None
        ):
            starts.add(nxt)
    return sorted(s for s in starts if s < len(text))


def word_before_end(text: str, lo: int, end: int) -> tuple[int, str] | None:
    """``(start, word)`` of ``_WORD_BEFORE_RE.search(text, lo, end)`` (group 1), or None,
    scanned backwards: the leftmost match is the run of letters and periods that ends where
    ``$`` can match (``end``, or before a last line break), from its first letter on."""
    q = end
    if q > lo and text[q - 1] == "\n":
        q -= 1
    j = q
    while j > lo and text[j - 1] in _LETTERS_DOTS:
        j -= 1
    while j < q and text[j] == ".":
        j += 1
    return (j, text[j:q]) if j < q else None


_LETTERS_DOTS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.")


def token_sentence_starts(starts: Sequence[int], token_idx: Sequence[int]) -> list[int]:
    """Token indices that begin a sentence, given char starts and each token's char offset.

    A sentence start falling inside a token snaps to the next token.
    """
    out: list[int] = []
    last = -1
    n = len(token_idx)
    for s in starts:
        i = bisect.bisect_left(token_idx, s)
        if i < n and i != last:
            out.append(i)
            last = i
    if n and (not out or out[0] != 0):
        out.insert(0, 0)
    return out
