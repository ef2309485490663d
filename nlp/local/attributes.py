"""Attribute finders: medication attributes, test values and units, time expressions."""

from __future__ import annotations

import re
from dataclasses import dataclass

from nlp.local.text import load_rules

TEST_UNITS = (
    r"(?:%|mg/dl|mg/dL|mmol/l|mmol/L|mmhg|mmHg|bpm|beats per minute|breaths per minute|g/dl|"
    r"g/dL|k/ul|K/uL|x10\^?9/l|meq/l|mEq/L|u/l|U/L|iu/l|IU/L|ng/ml|ng/mL|pg/ml|pg/mL|mg/l|"
    r"mg/L|cells/mm3|/mm3|sec|seconds|kg|lbs?|pounds|cm|inches|in|degrees|°[CF]?|[CF]|kg/m2|"
    r"ml/min|mL/min|L/min|l/min|cc/hr|ml/hr)"
)
_TEST_VALUE_RE = re.compile(
    r"[ \t]*(?:(?:was|is|of|at|=|:|-|at|level|levels|value)[ \t]*){0,2}"
    r"(?P<val>(?:[<>]=?|~)?[ \t]?-?\d+(?:\.\d+)?(?:/\d+(?:\.\d+)?)?"
    r"|negative|positive|normal|abnormal|elevated|low|high|unremarkable|pending|neg|pos)"
    rf"(?:[ \t]*(?P<unit>{TEST_UNITS})(?![\w/]))?",
    re.I,
)
_TIME_RE = re.compile(
    r"\b(?:yesterday|today|tonight|this (?:morning|afternoon|evening|week|month|year)|"
    r"last (?:night|week|month|year|evening)|currently|recently|now|on admission|"
    r"at admission|day of admission|at discharge|overnight|since (?:yesterday|last \w+|"
    r"(?:mon|tues|wednes|thurs|fri|satur|sun)day)|"
    r"(?:\d+|one|two|three|four|five|six|seven|eight|nine|ten|a few|several|a couple of)"
    r"[ \t]+(?:hours?|days?|weeks?|months?|years?)(?:[ \t]+ago)?|"
    r"(?:for|over|in|during) the (?:past|last) (?:\d+|few|several|two|three)?[ \t]*"
    r"(?:hours?|days?|weeks?|months?|years?)|"
    r"(?:\d+|one|two|three|four|five|six|seven)-(?:hour|day|week|month|year) history)\b",
    re.I,
)


@dataclass(frozen=True, slots=True, init=False)
class AttrHit:
    """An attribute candidate: character span and Comprehend attribute type."""

    begin: int
    end: int
    type: str

    # an explicit __init__: mypyc compiles it (the dataclass one runs as Python, ~10x slower)
    def __init__(
        self,
        begin: int,
        end: int,
        type: str,
    ) -> None:
        object.__setattr__(self, "begin", begin)
        object.__setattr__(self, "end", end)
        object.__setattr__(self, "type", type)


def _alt(items: list[str]) -> str:
    return "|".join(sorted(items, key=len, reverse=True))


class MedicationAttributes:
    """Finds DOSAGE, STRENGTH, ROUTE_OR_MODE, FORM, FREQUENCY, DURATION and RATE spans.

    Config (``rules/medication.json``): unit, form, route, frequency and duration fragments,
    ``window`` (chars after a medication) and ``window_before``.
    """

    def __init__(self) -> None:
        d = load_rules("medication.json")
        self.window = int(d["window"])
        self.window_before = int(d["window_before"])
        num = r"\d+(?:[.,]\d+)?(?:\s*(?:-|to)\s*\d+(?:\.\d+)?)?"
        words = d["number_words"]
        self._re = re.compile(
            r"(?<![\w.])(?:"
            rf"(?P<RATE>(?:at\s+)?{num}\s*{d['units_rate']})"
            rf"|(?P<STRENGTH>{num}\s*{d['units_concentration']})"
            rf"|(?P<DOSAGE>{words}\s*(?:{_alt(d['dose_units'])}))"
            rf"|(?P<MASS>{num}\s*(?:{d['units_mass']}|{d['units_volume']}))"
            rf"|(?P<DURATION>{_alt(d['durations'])})"
            rf"|(?P<FREQUENCY>{_alt(d['frequencies'])})"
            rf"|(?P<FORM>{_alt(d['forms'])})"
            rf"|(?P<ROUTE_OR_MODE>{_alt(d['routes'])})"
            r")(?![\w])",
            re.I,
        )

    def find(self, text: str, begin: int = 0, end: int | None = None) -> list[AttrHit]:
        """Attribute candidates in ``text[begin:end]``; ``MASS`` amounts are typed later."""
        out: list[AttrHit] = []
        for m in self._re.finditer(text, begin, len(text) if end is None else end):
            kind = m.lastgroup or ""
            out.append(AttrHit(m.start(kind), m.end(kind), kind))
        return out


def type_mass_amounts(hits: list[AttrHit]) -> list[AttrHit]:
    """A bare amount ("125 mcg") is STRENGTH when a DOSAGE count is also present, else DOSAGE.

    This follows Comprehend Medical's examples: "Levothyroxine 125 micrograms" gives DOSAGE,
    "fluoride 1.1 % topical gel 1 application" gives STRENGTH 1.1 % and DOSAGE 1 application.
    """
    has_count = any(h.type == "DOSAGE" for h in hits)
    return [
        AttrHit(
            h.begin, h.end, ("STRENGTH" if has_count else "DOSAGE") if h.type == "MASS" else h.type
        )
        for h in hits
    ]


def test_value(text: str, end: int) -> tuple[AttrHit | None, AttrHit | None]:
    """TEST_VALUE and TEST_UNIT right after a test name ending at ``end``."""
    m = _TEST_VALUE_RE.match(text, end)
    if m is None:
        return None, None
    val = AttrHit(m.start("val"), m.end("val"), "TEST_VALUE")
    unit = AttrHit(m.start("unit"), m.end("unit"), "TEST_UNIT") if m.group("unit") else None
    return val, unit


_TIME_TRIGGERS = frozenset(
    [
        "yesterday",
        "today",
        "tonight",
        "this",
        "last",
        "currently",
        "recently",
        "now",
        "on",
        "at",
        "day",
        "overnight",
        "since",
        "for",
        "over",
        "in",
        "during",
        "one",
        "two",
        "three",
        "four",
        "five",
        "six",
        "seven",
        "eight",
        "nine",
        "ten",
        "a",
        "few",
        "several",
    ]
)


def time_expressions(text: str, starts: list[int], keys: list[str]) -> list[AttrHit]:
    """Time expressions ("yesterday", "3 days ago", "for the past week").

    Args:
        text: The note.
        starts: Word start offsets (``Normaliser.words``), where matches may begin.
        keys: The matching word keys.
    """
    out: list[AttrHit] = []
    last = -1
    for b, k in zip(starts, keys, strict=True):
        if b < last or not (k in _TIME_TRIGGERS or k[0].isdigit()):
            continue
        m = _TIME_RE.match(text, b)
        if m is not None:
            out.append(AttrHit(m.start(), m.end(), "TIME_EXPRESSION"))
            last = m.end()
    return out
