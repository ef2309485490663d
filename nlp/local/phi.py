"""PHI detection: regular expressions and name/location cues from ``rules/phi.json``."""

from __future__ import annotations

import importlib.util
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from nlp.local.text import STOPWORDS, gap_word_offsets, load_rules

_NAME_WORD = r"[A-Za-z][A-Za-z'’-]*[A-Za-z]"


@dataclass(frozen=True, slots=True)
class PhiSpan:
    """One PHI hit: character span and Comprehend type (NAME, DATE, ADDRESS...)."""

    begin: int
    end: int
    type: str
    score: float


@cache
def _census_names() -> tuple[frozenset[str], frozenset[str]]:
    """First and last names of the US census lists shipped by the ``names`` package."""
    spec = importlib.util.find_spec("names")
    if spec is None or spec.origin is None:
        return frozenset(), frozenset()
    base = Path(spec.origin).parent

    def read(name: str, limit: int) -> frozenset[str]:
        path = base / name
        if not path.exists():
            return frozenset()
        out = []
        with path.open(encoding="utf-8") as fh:
            for i, line in enumerate(fh):
                if i >= limit:
                    break
                out.append(line.split(" ", 1)[0].lower())
        return frozenset(out)

    first = read("dist.male.first", 1300) | read("dist.female.first", 5000)
    last = read("dist.all.last", 30000)
    return first, last


class PhiDetector:
    """Finds PROTECTED_HEALTH_INFORMATION spans.

    Config (``rules/phi.json``): ``patterns`` (type, regex, optional ``case``),
    ``name_titles``, ``relation_cues``, ``name_suffixes``, ``location_heads``,
    ``location_cues``, ``not_names``, ``professions``. Census name lists come from the
    ``names`` package when installed.

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
            at = p.get("at")
            where: str | frozenset[str] = at if isinstance(at, str) else frozenset(at or ())
            self._patterns.append(
                (str(p["type"]), re.compile(p["regex"], flags), where, tuple(p.get("gate") or ()))
            )
        self.first, self.last = _census_names()
        self.ambiguous_first = frozenset(data["ambiguous_first_names"])
        self.common_first = _common_first_names()
        self.not_names = frozenset(data["not_names"]) | medical_words
        titles = "|".join(re.escape(t.rstrip(".")) for t in data["name_titles"])
        self._title_re = re.compile(
            rf"\b(?:{titles})\b'?\.?[ \t]*(?:[A-Za-z]\.?[ \t]+)?"
            rf"(?P<v>{_NAME_WORD}(?:[ \t]+{_NAME_WORD})?)",
            re.I,
        )
        rel = "|".join(re.escape(t) for t in sorted(data["relation_cues"], key=len, reverse=True))
        self._rel_re = re.compile(
            rf"\b(?P<cue>{rel})\b[ \t]*,?[ \t]*\(?(?P<v>{_NAME_WORD}(?:[ \t]+{_NAME_WORD})?)", re.I
        )
        self._strong_cues = frozenset(
            c
            for c in data["relation_cues"]
            if c not in {"with", "and", "by", "to", "per", "pt", "patient", "called", "name"}
        )
        self._pair_re = re.compile(rf"\b(?P<v>{_NAME_WORD}[ \t]+{_NAME_WORD})\b")
        heads = "|".join(
            re.escape(h) for h in sorted(data["location_heads"], key=len, reverse=True)
        )
        self._loc_head_re = re.compile(
            rf"\b(?P<v>(?:{_NAME_WORD}[ \t]+){{0,2}}{_NAME_WORD})[ \t]+(?:{heads})\b", re.I
        )
        cues = "|".join(
            re.escape(c) for c in sorted(data["location_cues"], key=len, reverse=True) if " " in c
        )
        self._loc_cue_re = re.compile(rf"\b(?:{cues})[ \t]+(?:the[ \t]+)?(?P<v>{_NAME_WORD})", re.I)
        prof = "|".join(re.escape(p) for p in sorted(data["professions"], key=len, reverse=True))
        self._prof_re = re.compile(
            r"\b(?:works?|worked|working|employed|retired|occupation|job|profession|"
            r"is an?|was an?)"
            rf"\b[: \t]+(?:as[ \t]+)?(?:an?[ \t]+)?(?P<v>(?:{prof}))\b",
            re.I,
        )
        self._loc_heads = frozenset(h.lower() for h in data["location_heads"])
        self._title_at = frozenset(t.rstrip(".").lower() for t in data["name_titles"])
        self._rel_at = frozenset(c.split()[0].lower() for c in data["relation_cues"])
        self._loc_cue_at = frozenset(
            c.split()[0].lower() for c in data["location_cues"] if " " in c
        )
        self._head_at = frozenset(h.split()[0].lower() for h in data["location_heads"])
        self._prof_at = frozenset(
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

    def _is_name_word(self, w: str) -> bool:
        lw = w.lower()
        return len(lw) >= 2 and lw not in self.not_names and not lw.isdigit()

    def find(self, text: str) -> list[PhiSpan]:
        """All PHI spans of ``text``, non-overlapping, in order."""
        positions, digits = _positions(text)
        lowered = text.lower()
        hits: list[PhiSpan] = []
        for typ, rx, where, gate in self._patterns:
            if gate:
                if not any(g in positions or g in lowered for g in gate):
                    continue
                found: Iterable[re.Match[str]] = rx.finditer(text)
            elif where == "digit":
                found = _match_at(rx, text, digits)
            else:
                found = _match_at(rx, text, _at(positions, frozenset(where)))
            for m in found:
                g = "v" if "v" in rx.groupindex and m.group("v") is not None else 0
                b, e = m.start(g), m.end(g)
                if typ == "DATE" and _not_a_date(text, b, e):
                    continue
                if typ == "NAME" and not any(
                    self._is_name_word(w) for w in re.findall(_NAME_WORD, text[b:e])
                ):
                    continue
                hits.append(PhiSpan(b, e, typ, 0.9))
        hits.extend(self._names(text, positions))
        hits.extend(self._locations(text, positions))
        for m in _match_at(self._prof_re, text, _at(positions, self._prof_at)):
            hits.append(PhiSpan(m.start("v"), m.end("v"), "PROFESSION", 0.8))
        hits.extend(self._propagate(text, hits, positions))
        return _resolve(hits)

    def _names(self, text: str, positions: dict[str, list[int]]) -> list[PhiSpan]:
        out: list[PhiSpan] = []
        for m in _match_at(self._title_re, text, _at(positions, self._title_at)):
            words = list(re.finditer(r"\S+", m.group("v")))
            first = words[0].group()
            if not self._is_name_word(first):
                continue
            end = m.start("v") + words[0].end()
            if len(words) > 1:
                second = words[1].group()
                if second[0].isupper() and not second.isupper() and self._is_name_word(second):
                    end = m.start("v") + words[1].end()
            out.append(PhiSpan(m.start("v"), end, "NAME", 0.9))
        for m in _match_at(self._rel_re, text, _at(positions, self._rel_at)):
            cue = m.group("cue").lower()
            words = list(re.finditer(r"\S+", m.group("v")))
            first = words[0].group()
            lf = first.lower()
            strong = cue in self._strong_cues
            if lf not in self.first or not self._is_name_word(first):
                continue
            if not strong and (
                not first[0].isupper() or first.isupper() or lf in self.ambiguous_first
            ):
                continue
            if (
                strong
                and lf in self.ambiguous_first
                and not first[0].isupper()
                and cue
                not in ("wife", "husband", "son", "daughter", "dtr", "sister", "brother", "friend")
            ):
                continue
            end = m.start("v") + words[0].end()
            if len(words) > 1:
                second = words[1].group()
                if second.lower() in self.last and self._is_name_word(second):
                    end = m.start("v") + words[1].end()
            out.append(PhiSpan(m.start("v"), end, "NAME", 0.85))
        for b0 in _at(positions, self.first):
            word = _WORD_AT_RE.match(text, b0)
            if word is None:
                continue
            first = word.group()
            lf = first.lower()
            if lf in self.ambiguous_first or not self._is_name_word(first) or len(lf) < 3:
                continue
            if lf not in self.common_first and not (first[0].isupper() and not first.isupper()):
                continue
            pair = self._pair_re.match(text, b0)
            second = pair.group("v").split(None, 1)[1] if pair else ""
            ls = second.lower()
            if pair and len(ls) >= 3 and self._is_name_word(second) and ls not in STOPWORDS:
                out.append(PhiSpan(pair.start("v"), pair.end("v"), "NAME", 0.75))
            elif lf in self.common_first and len(lf) >= 4:
                out.append(PhiSpan(word.start(), word.end(), "NAME", 0.6))
        return out

    def _locations(self, text: str, positions: dict[str, list[int]]) -> list[PhiSpan]:
        out: list[PhiSpan] = []
        heads = tuple(self._loc_heads)
        for b0 in _at(positions, self._head_at):
            if not text[b0 : b0 + 30].lower().startswith(heads):
                continue
            m = _LOC_BACK_RE.search(text, max(0, b0 - 60), b0)
            if m is None:
                continue
            words = list(re.finditer(r"\S+", m.group("v")))
            # keep the trailing run of name-like words ("to Calvert" -> "Calvert")
            keep = []
            for w in reversed(words):
                lw = w.group().lower()
                if lw in self.not_names or lw in self._loc_heads or lw in _LOC_STOP:
                    break
                keep.append(w)
            if not keep:
                continue
            keep.reverse()
            b = m.start("v") + keep[0].start()
            e = m.start("v") + keep[-1].end()
            out.append(PhiSpan(b, e, "ADDRESS", 0.8))
        for m in _match_at(self._loc_cue_re, text, _at(positions, self._loc_cue_at)):
            word = m.group("v")
            lw = word.lower()
            if lw in self.not_names or lw in _LOC_STOP or lw in self._loc_heads:
                continue
            if not word[0].isupper():
                continue
            end = m.end("v")
            nxt = _NEXT_CAP_RE.match(text, end)
            following = nxt.group(1).lower() if nxt is not None else ""
            if (
                nxt is not None
                and following not in self._loc_heads
                and not (following in self.not_names or following in _LOC_STOP)
            ):
                end = nxt.end(1)
            out.append(PhiSpan(m.start("v"), end, "ADDRESS", 0.7))
        return out

    def _propagate(
        self, text: str, hits: list[PhiSpan], positions: dict[str, list[int]]
    ) -> list[PhiSpan]:
        """Other occurrences of a detected name or location word get the same type."""
        seen: dict[str, str] = {}
        for h in hits:
            if h.type not in ("NAME", "ADDRESS"):
                continue
            for w in re.findall(_NAME_WORD, text[h.begin : h.end]):
                lw = w.lower()
                if len(lw) >= 3 and lw not in self.not_names and lw not in _LOC_STOP:
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
_LOC_BACK_RE = re.compile(rf"(?P<v>(?:{_NAME_WORD}[ \t]+){{0,2}}{_NAME_WORD})[ \t]+$")


def _positions(text: str) -> tuple[dict[str, list[int]], list[int]]:
    """Lower-case word -> start offsets (words starting with a letter), and digit starts.

    A digit start is followed by the offset of a ``(`` or ``+`` right before it. ASCII notes
    are split by one ``findall`` (offsets are running sums of gap and word lengths).
    """
    positions: dict[str, list[int]] = {}
    digits: list[int] = []
    if not text.isascii():
        for m in _WORD_RE.finditer(text):
            w = m.group()
            b = m.start()
            if w[0].isdigit():
                digits.append(b)
                if b > 0 and text[b - 1] in "(+":
                    digits.append(b - 1)
            else:
                positions.setdefault(w.lower(), []).append(b)
        return positions, digits
    pairs = _ASCII_GAP_WORD_RE.findall(text.lower())
    if not pairs:
        return positions, digits
    gaps, words = zip(*pairs, strict=True)
    starts, _ = gap_word_offsets(gaps, words)
    get = positions.get
    marks = "(" in text or "+" in text
    for w, b in zip(words, starts, strict=True):
        if w[0] in _DIGITS:
            digits.append(b)
            if marks and b > 0 and text[b - 1] in "(+":
                digits.append(b - 1)
            continue
        found = get(w)
        if found is None:
            positions[w] = [b]
        else:
            found.append(b)
    return positions, digits


_DIGITS = frozenset("0123456789")
_ASCII_GAP_WORD_RE = re.compile(r"([^a-z0-9]*+)([a-z0-9]++)")


def _at(positions: dict[str, list[int]], words: frozenset[str]) -> list[int]:
    """Start offsets of the words of ``words`` in the note (``positions``: word -> starts)."""
    if len(words) < len(positions):
        out = [p for w in words for p in positions.get(w, ())]
    else:
        out = [p for w, ps in positions.items() if w in words for p in ps]
    out.sort()
    return out


def _match_at(rx: re.Pattern[str], text: str, starts: list[int]) -> list[re.Match[str]]:
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


_WORD_AT_RE = re.compile(_NAME_WORD)


@cache
def _common_first_names() -> frozenset[str]:
    """The most frequent census first names (taken alone as names)."""
    spec = importlib.util.find_spec("names")
    if spec is None or spec.origin is None:
        return frozenset()
    base = Path(spec.origin).parent
    out: set[str] = set()
    for name, limit in (("dist.male.first", 300), ("dist.female.first", 600)):
        path = base / name
        if path.exists():
            with path.open(encoding="utf-8") as fh:
                for i, line in enumerate(fh):
                    if i >= limit:
                        break
                    out.add(line.split(" ", 1)[0].lower())
    return frozenset(out)


_NEXT_CAP_RE = re.compile(r"[ \t]+([A-Z][A-Za-z'’-]+)")
_LOC_STOP = frozenset(
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


_NOT_DATE_BEFORE = re.compile(
    r"(?:peep|ps|cpap|bipap|vent|strength|motor|grips?|power|x|of|ratio)\s*[:=]?\s*$", re.I
)


def _not_a_date(text: str, begin: int, end: int) -> bool:
    """Fractions (1/2, 3/4), muscle strength (5/5) and ventilator settings look like m/d."""
    value = text[begin:end]
    if value.count("/") == 1:
        m, d = value.split("/")
        if m.isdigit() and d.isdigit():
            mi, di = int(m), int(d)
            if (di <= 4 and mi < di) or (mi == di == 5):
                return True
            if _NOT_DATE_BEFORE.search(text, max(0, begin - 12), begin):
                return True
    return False


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
