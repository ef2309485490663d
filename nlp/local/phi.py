"""PHI detection: patterns (dates, phones, ages, identifiers), names, places, propagation.

Every rule follows how clinical notes are written; word lists come from packages
(:mod:`nlp.local.phi_lists`) and ``rules/phi.json``. Names: :mod:`nlp.local.phi_names`;
places: :mod:`nlp.local.phi_places`; what only looks like a date or a phone number:
:mod:`nlp.local.phi_numbers`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from nlp.local.phi_names import NameRules
from nlp.local.phi_numbers import not_a_date, not_a_phone
from nlp.local.phi_places import PLACE_SCORE, PlaceRules
from nlp.local.phi_words import (
    LOC_STOP,
    NAME_WORD,
    PhiSpan,
    PhiWords,
    alternation,
    at,
    match_at,
)
from nlp.local.text import Words, gap_word_offsets, load_rules

__all__ = ["PhiDetector", "PhiSpan"]


class PhiDetector:
    """Finds PROTECTED_HEALTH_INFORMATION spans.

    Config (``rules/phi.json``): ``patterns`` (type, regex, optional ``case``; ``at``: the
    words, or ``digit``, where a match may start; ``gate``: strings that must occur in the
    note), ``professions``; the keys of :class:`PhiWords`, :class:`NameRules` and
    :class:`PlaceRules`.

    Args:
        medical_words: Lower-case words known as medical vocabulary (never names).
    """

    def __init__(self, medical_words: frozenset[str] = frozenset()) -> None:
        data = load_rules("phi.json")
        self._patterns: list[
            tuple[str, re.Pattern[str], str | frozenset[str], tuple[str, ...]]
        ] = []
        for p in data["patterns"]:
            flags = 0 if p.get("case") else re.IGNORECASE
            where_at = p.get("at")
            where: str | frozenset[str] = (
                where_at if isinstance(where_at, str) else frozenset(where_at or ())
            )
            self._patterns.append(
                (str(p["type"]), re.compile(p["regex"], flags), where, tuple(p.get("gate") or ()))
            )
        self._fused = _fuse_at_digits(self._patterns)
        self.lex = PhiWords(data, medical_words)
        self.not_names = self.lex.not_names
        self.names = NameRules(self.lex, data)
        self.places = PlaceRules(self.lex, data)
        prof = alternation(data["professions"])
        self._prof_re = re.compile(
            r"\b(?:works?|worked|working|employed|retired|occupation|job|profession|"
            r"is an?|was an?)"
            rf"\b[: \t]+(?:as[ \t]+)?(?:an?[ \t]+)?(?P<v>(?:{prof}))\b",
            re.I,
        )

    def find(self, text: str, words: Words | None = None) -> list[PhiSpan]:
        """All PHI spans of ``text``, non-overlapping, in order (``words``: the annotator's
        ``Normaliser.words(text)``, whose alphanumeric runs save a second split)."""
        if words is not None and words.runs:
            positions, digits = _positions_of(text, words.run_starts, words.runs)
        else:
            positions, digits = _positions(text)
        lowered = text.lower()
        hits: list[PhiSpan] = []
        at_digits = self._fused.spans(text, digits) if digits else {}
        for pi, (typ, rx, where, gate) in enumerate(self._patterns):
            if gate:
                if not any(g in positions or g in lowered for g in gate):
                    continue
                found: Iterable[tuple[int, int]] = map(_value_span, rx.finditer(text))
            elif where == "digit":
                found = at_digits.get(pi, ())
            else:
                found = map(_value_span, match_at(rx, text, at(positions, frozenset(where))))
            for b, e in found:
                if typ == "DATE" and not_a_date(text, b, e):
                    continue
                if typ == "PHONE_OR_FAX" and not_a_phone(text, b, e):
                    continue
                if typ == "NAME" and not any(
                    self.lex.is_name_word(w) for w in re.findall(NAME_WORD, text[b:e])
                ):
                    continue
                hits.append(PhiSpan(b, e, typ, 0.9))
        hits.extend(self.names.find(text, positions))
        hits.extend(self.places.find(text, positions))
        for m in match_at(self._prof_re, text, at(positions, _PROF_AT)):
            hits.append(PhiSpan(m.start("v"), m.end("v"), "PROFESSION", 0.8))
        hits.extend(self._propagate(text, hits, positions))
        places = [h for h in hits if h.type == "ADDRESS" and h.score >= PLACE_SCORE]
        if places:
            # a place beats a census-name guess ("Maryland too" is not a person)
            hits = [
                h
                for h in hits
                if not (
                    h.type == "NAME"
                    and h.score <= 0.75
                    and any(p.begin < h.end and h.begin < p.end for p in places)
                )
            ]
        return _resolve(hits)

    def _propagate(
        self, text: str, hits: list[PhiSpan], positions: dict[str, list[int]]
    ) -> list[PhiSpan]:
        """Other occurrences of a detected name or location word get the same type."""
        seen: dict[str, str] = {}
        for h in hits:
            if h.type not in ("NAME", "ADDRESS"):
                continue
            for w in re.findall(NAME_WORD, text[h.begin : h.end]):
                lw = w.lower()
                if len(lw) >= 3 and lw not in self.lex.not_names and lw not in LOC_STOP:
                    seen.setdefault(lw, h.type)
        out: list[PhiSpan] = []
        complex_words = []
        for lw, typ in seen.items():
            if lw.isalnum():
                out.extend(PhiSpan(b, b + len(lw), typ, 0.7) for b in positions.get(lw, ()))
            else:
                complex_words.append(lw)
        if complex_words:
            rx = re.compile(
                r"\b(" + "|".join(re.escape(w) for w in complex_words) + r")(?![\w'’-])", re.I
            )
            out.extend(
                PhiSpan(m.start(), m.end(), seen[m.group().lower()], 0.7) for m in rx.finditer(text)
            )
        return out


_WORD_RE = re.compile(r"[^\W_]+")


def _value_span(m: re.Match[str]) -> tuple[int, int]:
    """The span of group ``v`` when the pattern has one and it took part, else the match's."""
    if "v" in m.re.groupindex and m.group("v") is not None:
        return m.span("v")
    return m.span()


class _FusedAtDigits:
    """The patterns anchored at digit starts, tried together: one regex of optional
    lookaheads, each capturing what its pattern matches there (its ``v`` group renamed).

    :meth:`spans` gives what ``match_at`` gives each pattern on its own: a pattern is tried
    at a start only past the end of its own previous match, in the order of ``digits``.
    """

    def __init__(self, patterns: list[tuple[int, re.Pattern[str]]]) -> None:
        parts = []
        self.groups: list[tuple[int, int, int]] = []  # (pattern index, whole group, v group)
        for pi, rx in patterns:
            body = rx.pattern.replace("(?P<v>", f"(?P<v{pi}>")
            flags = "i" if rx.flags & re.IGNORECASE else "-i"
            parts.append(f"(?:(?=(?P<p{pi}>(?{flags}:{body})))|)")
        self.rx = re.compile("".join(parts))
        for pi, _ in patterns:
            v = self.rx.groupindex.get(f"v{pi}", -1)
            self.groups.append((pi, self.rx.groupindex[f"p{pi}"], v))

    def spans(self, text: str, digits: list[int]) -> dict[int, list[tuple[int, int]]]:
        """Pattern index -> its (value) spans at ``digits``."""
        out: dict[int, list[tuple[int, int]]] = {}
        last = dict.fromkeys([pi for pi, _, _ in self.groups], -1)
        match = self.rx.match
        for b in digits:
            m = match(text, b)
            if m is None or m.lastindex is None:
                continue
            regs = m.regs
            for pi, g, v in self.groups:
                start, end = regs[g]
                if start < 0 or b < last[pi]:
                    continue
                last[pi] = end
                if v >= 0 and regs[v][0] >= 0:
                    start, end = regs[v]
                out.setdefault(pi, []).append((start, end))
        return out


def _fuse_at_digits(
    patterns: list[tuple[str, re.Pattern[str], str | frozenset[str], tuple[str, ...]]],
) -> _FusedAtDigits:
    return _FusedAtDigits(
        [
            (pi, rx)
            for pi, (_, rx, where, gate) in enumerate(patterns)
            if where == "digit" and not gate
        ]
    )


def _positions(text: str) -> tuple[dict[str, list[int]], list[int]]:
    """Lower-case word -> start offsets (words starting with a letter), and digit starts.

    A digit start is followed by the offset of a ``(`` or ``+`` right before it. Words are
    the alphanumeric runs of the text (one ``findall`` of gaps and runs for ASCII notes).
    """
    if not text.isascii():
        found = [(m.start(), m.group()) for m in _WORD_RE.finditer(text)]
        return _positions_of(text, [b for b, _ in found], [w for _, w in found])
    pairs = _ASCII_GAP_WORD_RE.findall(text)
    if not pairs:
        return {}, []
    gaps, runs = zip(*pairs, strict=True)
    starts, _ = gap_word_offsets(gaps, runs)
    return _positions_of(text, starts, runs)


def _positions_of(
    text: str, starts: Sequence[int], runs: Sequence[str]
) -> tuple[dict[str, list[int]], list[int]]:
    """:func:`_positions` from the alphanumeric runs of ``text`` and their starts."""
    positions: dict[str, list[int]] = {}
    digits: list[int] = []
    get = positions.get
    marks = "(" in text or "+" in text
    for w, b in zip(runs, starts, strict=True):
        if w[0].isdigit():
            digits.append(b)
            if marks and b > 0 and text[b - 1] in "(+":
                digits.append(b - 1)
            continue
        lw = w.lower()
        found = get(lw)
        if found is None:
            positions[lw] = [b]
        else:
            found.append(b)
    return positions, digits


_ASCII_GAP_WORD_RE = re.compile(r"([^a-zA-Z0-9]*+)([a-zA-Z0-9]++)")


_PROF_AT = frozenset(
    [
        "works",
        "work",
        "worked",
        "working",
        "employed",
        "retired",
        "occupation",
        "job",
        "profession",
        "is",
        "was",
    ]
)


def _resolve(hits: list[PhiSpan]) -> list[PhiSpan]:
    """Non-overlapping spans: earliest start, then longest, then highest score."""
    hits.sort(key=lambda h: (h.begin, -(h.end - h.begin), -h.score))
    out: list[PhiSpan] = []
    last_end = -1
    for h in hits:
        if h.begin >= last_end and h.end > h.begin:
            out.append(h)
            last_end = h.end
    return out
