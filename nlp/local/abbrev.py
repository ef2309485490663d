"""Schwartz-Hearst abbreviation detection: "long form (SF)" pairs, then every SF occurrence."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

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


# ---------------------------------------------------------------------------- short forms
# A reading of a short form: "CATEGORY/TYPE", or OTHER (not an entity: "room air", "miss").
OTHER = "OTHER"
_VALUE_AFTER_RE = re.compile(r"\+?[ \t]*(?:[:=]|of|was|is|now|at)?[ \t]*[<>]?[ \t]*-?\d")
_COLON_AFTER_RE = re.compile(r"\s*:")
_PER_UNIT_BEFORE_RE = re.compile(r"\d[ \t]*[a-z]{0,4}/(?:[a-z]{1,4}/)?$", re.IGNORECASE)
# list members before or after a short form: "k, ca, " / ", ca and mg" (each 1-4 letters)
_LIST_BEFORE_RE = re.compile(r"(?:\b[a-z][a-z0-9+]{0,3}(?:[ \t]*(?:,|&|\band\b))+[ \t]*)+$")
_LIST_AFTER_RE = re.compile(r"^(?:(?:[ \t]*(?:,|&|\band\b))+[ \t]*[a-z][a-z0-9+]{0,3}\b)+")
_SENTENCE_END_RE = re.compile(r"[.;][ \t]+|\n")
_PERCENT_BEFORE_RE = re.compile(r"%[ \t]*$")  # "sats 97% ra": room air
_SLASH_PAIR_RE = re.compile(r"/[a-z]\b", re.IGNORECASE)
_WORD_RE = re.compile(r"[a-z0-9?][a-z0-9/'+.-]*")


@dataclass(frozen=True, slots=True)
class Sense:
    """One sense of a short form with its frequency and readings (``CATEGORY/TYPE``)."""

    text: str
    freq: float
    readings: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ShortForm:
    """A short form as written in notes, with its senses (Meta-Inventory frequencies).

    Attributes:
        senses: entity senses, most frequent first.
        other: frequency mass of the senses that are not entities.
        unit: the part of ``other`` that is a unit of measure (only right after a number).
        zipf: English word frequency of the short form (Zipf scale, ``wordfreq``).
        rhythm: a cardiac-rhythm short form ("st", "sb"): a rate after it supports the condition.
        negated: the sense denies the condition it links to ("afebrile" -> fever).
    """

    senses: tuple[Sense, ...]
    other: float
    unit: float
    zipf: float
    rhythm: bool = False
    negated: bool = False


@dataclass(frozen=True, slots=True)
class Resolution:
    """What a short-form occurrence means here."""

    category: str
    type: str
    link: str
    negated: bool = False


class ShortForms:
    """Guarded, case-insensitive short forms: sense frequency plus context decide.

    For each reading (condition, drug, test, ..., or not an entity) the prior is the summed
    frequency of its senses; context multiplies it by ``ratio`` for each cue that supports it:

    * a lab value right after ("k 3.1") supports a test (a rate after a rhythm: the rhythm);
    * a dose or an amount right at it ("40 kcl", "ms 2mg iv", "levo gtt") supports a drug
      twice; a repletion or infusion word nearby ("repleted", "gtt", "meq") once; another drug
      word ("given", "held") only weakly (half a cue);
    * a condition cue before ("h/o", "r/o", "?", "denies", "pmh", an organ word: "breast ca")
      supports a condition;
    * an oxygen cue ("on ra", "sats 95% ra") supports "not an entity";
    * a number right before makes a unit sense the answer ("2 mg": milligram, not magnesium).

    The best reading must hold at least half of the mass, be an entity, and, when the short
    form is a common English word (Zipf >= ``common_zipf``), be supported by a full cue: "pt",
    "as", "all" are never entities by themselves. A short form at a line start followed by a
    colon is a section header ("MS:", "PAIN:"), never an entity.

    Args:
        forms: short form (lower case) -> :class:`ShortForm`.
        cues: ``nursing.json`` ``shortform_context``: word lists ``condition_before``,
            ``drug_strong``, ``drug_near``, ``oxygen_near``, ``rhythm_before``.
        organ_words: words that name an organ before a condition short form ("lung ca").
    """

    def __init__(
        self,
        forms: dict[str, ShortForm],
        cues: dict[str, list[str]],
        organ_words: frozenset[str] = frozenset(),
        *,
        ratio: float = 30.0,
        common_zipf: float = 4.0,
    ) -> None:
        self.forms = forms
        self.condition_before = frozenset(cues["condition_before"]) | organ_words
        self.drug_near = frozenset(cues["drug_near"])
        self.drug_strong = frozenset(cues["drug_strong"])
        self.oxygen_near = frozenset(cues["oxygen_near"])
        self.rhythm_before = frozenset(cues["rhythm_before"])
        self.ratio = ratio
        self.common_zipf = common_zipf
        # one reading, no other sense, not an English word: context cannot change the answer
        self._certain: dict[str, Resolution] = {}
        # reading -> prior, after a number (units count) and elsewhere (they do not)
        self._priors: dict[str, tuple[dict[str, float], dict[str, float]]] = {}
        for sf, f in forms.items():
            prior: dict[str, float] = {}
            for sense in f.senses:
                for r in sense.readings:
                    prior[r] = prior.get(r, 0.0) + sense.freq / len(sense.readings)
            self._priors[sf] = ({**prior, OTHER: f.other}, {**prior, OTHER: f.other - f.unit})
            readings = {r for sense in f.senses for r in sense.readings}
            if len(readings) == 1 and not f.other and f.zipf < common_zipf and not f.rhythm:
                category, type_ = next(iter(readings)).split("/", 1)
                self._certain[sf] = Resolution(category, type_, f.senses[0].text, f.negated)

    @staticmethod
    def parse(data: dict[str, Any]) -> dict[str, ShortForm]:
        """Forms of a ``shortforms*.json`` file (``{"forms": {sf: {...}}}``)."""
        out: dict[str, ShortForm] = {}
        for sf, f in data["forms"].items():
            senses = tuple(Sense(s[0], float(s[1]), tuple(s[2])) for s in f["senses"])
            out[sf] = ShortForm(
                senses,
                float(f.get("other", 0.0)),
                float(f.get("unit", 0.0)),
                float(f.get("zipf", 0.0)),
                bool(f.get("rhythm", False)),
                bool(f.get("negated", False)),
            )
        return out

    def is_form(self, surface: str) -> bool:
        """Is ``surface`` written as a form of the table? (The matcher also matches other
        spellings with the same key: "steroid" where the table lists "steroids".)"""
        return _variant(surface.lower(), self.forms) in self.forms

    def resolve(self, text: str, begin: int, end: int) -> Resolution | None:
        """The reading of ``text[begin:end]`` (a short form of the table), or None."""
        surface = _variant(text[begin:end].lower(), self.forms)
        form = self.forms.get(surface)
        if form is None:
            return None
        if _COLON_AFTER_RE.match(text, end) and _at_line_start(text, begin):
            return None  # "MS:", "PAIN:" section headers
        if _PER_UNIT_BEFORE_RE.search(text, max(0, begin - 12), begin):
            return None  # "75cc/hr", "mcg/kg/min": the unit of a rate
        if len(surface) == 1 and _SLASH_PAIR_RE.match(text, end):
            return None  # "d/t", "s/p": one letter of a slash abbreviation
        certain = self._certain.get(surface)
        if certain is not None:
            return certain
        if len(surface) == 1 and text[begin - 1 : begin] in ("'", "’"):
            return None  # "rec'd": a letter after an apostrophe
        before_text = text[max(0, begin - 32) : begin].lower()
        after_text = text[end : end + 32].lower()
        # cues stay within the sentence
        cut = [m.end() for m in _SENTENCE_END_RE.finditer(before_text)]
        if cut:
            before_text = before_text[cut[-1] :]
        stop = _SENTENCE_END_RE.search(after_text)
        if stop is not None:
            after_text = after_text[: stop.start() + 1]
        # in a list of short forms ("k, ca, mg repleted", "given mg, ca and k") the cues
        # around the list are the cues of each member
        list_before = _LIST_BEFORE_RE.sub("", before_text)
        after_tail = _LIST_AFTER_RE.sub("", after_text, count=1)
        before = [w.rstrip(".-") for w in _WORD_RE.findall(list_before)[-3:]]
        after = [w.rstrip(".-") for w in _WORD_RE.findall(after_tail)[:3]]  # "repleted."
        number_before = before_text[-1:].isdigit() or (
            before_text[-1:] == " " and before_text[-2:-1].isdigit()
        )
        value_after = _VALUE_AFTER_RE.match(after_text) is not None
        prior = dict(self._priors[surface][0 if number_before else 1])
        support: dict[str, float] = {}  # reading -> summed log-ratio weight of its cues
        strong: set[str] = set()  # readings backed by a cue that lets a common word through

        def vote(reading: str, weight: float = 1.0) -> None:
            if reading in prior:
                support[reading] = support.get(reading, 0.0) + weight
                if weight >= 1.0:
                    strong.add(reading)

        if number_before and form.unit:
            return None
        if _DOSE_AFTER_RE.match(after_text) or number_before:
            vote(_DRUG, 2.0)  # a dose or an amount right at a short form is near-certain
        elif value_after:
            vote(_TEST, 2.0)  # "k+ 3.7 - repleted with kcl": the value is the short form's
            if form.rhythm:
                vote(_CONDITION)
        elif any(w in self.drug_strong for w in before[-2:] + after[:2]):
            vote(_DRUG)  # "repleted", "gtt", "meq"
        elif any(w in self.drug_near for w in before[-2:] + after[:2]):
            vote(_DRUG, 0.5)  # "given", "on", "held": weak, also said of tests and devices
        if before and (before[-1] in self.condition_before or before_text.rstrip().endswith("?")):
            vote(_CONDITION)
        if form.rhythm and any(w in self.rhythm_before for w in before):
            vote(_CONDITION)
        if any(w in self.oxygen_near for w in before[-1:] + after[:1]) or _PERCENT_BEFORE_RE.search(
            before_text
        ):
            vote(OTHER)
        scored = {r: p * self.ratio ** support.get(r, 0.0) for r, p in prior.items()}
        total = sum(scored.values()) or 1.0
        best = max(scored, key=lambda r: scored[r])
        if best == OTHER or scored[best] / total < 0.5:
            return None
        if form.zipf >= self.common_zipf and best not in strong:
            return None
        sense = max(
            (s for s in form.senses if best in s.readings), key=lambda s: s.freq, default=None
        )
        if sense is None:
            return None
        category, type_ = best.split("/", 1)
        return Resolution(category, type_, sense.text, form.negated)


def _variant(surface: str, forms: dict[str, ShortForm]) -> str:
    """The form of the table ``surface`` is written as: itself or without a possessive or
    plural "'s" ("pvc's")."""
    if surface in forms:
        return surface
    return surface.rstrip("'s").rstrip("’")


def _at_line_start(text: str, begin: int) -> bool:
    """Only blanks or bullets between the line start and ``begin``."""
    line = text.rfind("\n", 0, begin) + 1
    return not text[line:begin].strip(" \t*#>-")


_CONDITION = "MEDICAL_CONDITION/DX_NAME"
_DRUG = "MEDICATION/GENERIC_NAME"
_TEST = "TEST_TREATMENT_PROCEDURE/TEST_NAME"
_DOSE_AFTER_RE = re.compile(
    r"\s*@?\s*(?:\d[\d.]*\s*(?:mg|mcg|meq|g|gm|gms|grams?|units?|u|ml|cc|mmol)\b|gtt|drip|iv\b|po\b)"
)

SHORTFORM = "SHORTFORM"  # matcher category of a short form: resolved by ShortForms.resolve
SINGLE_LETTERS = frozenset({"k"})  # the one single-letter short form of notes: potassium
SHORTFORM_FILES = ("shortforms-nursing.json", "shortforms.json", "shortforms-wikipedia.json")


def load_shortforms() -> dict[str, ShortForm]:
    """The short-form lexicons, the first file's entry winning: nursing, Meta-Inventory, Wikipedia.

    The Wikipedia list has no sense frequencies: only its unambiguous, uncommon short forms
    (one sense, Zipf < 3) are used.
    """
    from nlp.local.text import load_rules

    out: dict[str, ShortForm] = {}
    for name in SHORTFORM_FILES:
        for sf, form in ShortForms.parse(load_rules(name)).items():
            if name.endswith("wikipedia.json") and (
                len(form.senses) > 1 or form.other or form.zipf >= 3
            ):
                continue
            out.setdefault(sf, form)
    return out
