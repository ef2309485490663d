"""Rules of meaning of the clinical profile (DESIGN D16): statuses, dosage, smoking status.

Pure functions from what the NLP result says (traits, our ``Assertions``, attributes) to FHIR
values. ``docs/clinical-meaning.md`` is the table of every rule; each row points here or to
``nlp/local``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from enrich import urls

Json = dict[str, Any]

NEGATION, PAST, HYPOTHETICAL = "NEGATION", "PAST_HISTORY", "HYPOTHETICAL"


def medication_status(
    traits: set[str],
    status: str | None,
    *,
    negation: frozenset[str] = frozenset({NEGATION}),
    past: frozenset[str] = frozenset({PAST}),
) -> str:
    """MedicationStatement.status: negated, stopped, past, planned, taken; unknown otherwise.

    ``negation`` and ``past`` are the policy's trait sets (``EnrichmentPolicy``).

    >>> medication_status({"NEGATION"}, "ACTIVE"), medication_status(set(), "STOPPED")
    ('not-taken', 'stopped')
    >>> medication_status({"PAST_HISTORY"}, None), medication_status(set(), None)
    ('completed', 'unknown')
    """
    if negation & traits:
        return "not-taken"
    if status == "STOPPED":
        return "stopped"
    if past & traits or status == "COMPLETED":
        return "completed"
    if HYPOTHETICAL in traits:
        return "intended"
    if status == "ACTIVE":
        return "active"
    return "unknown"


_CONDITION_STATUS = {"RESOLVED": "resolved", "INACTIVE": "inactive", "REMISSION": "remission"}


def condition_clinical_status(traits: set[str], status: str | None) -> str | None:
    """Condition.clinicalStatus: resolved / inactive / remission from the text, active when
    current; ``None`` for past history the text says nothing more about.

    >>> condition_clinical_status({"PAST_HISTORY"}, "RESOLVED")
    'resolved'
    >>> condition_clinical_status(set(), None), condition_clinical_status({"PAST_HISTORY"}, None)
    ('active', None)
    """
    if status in _CONDITION_STATUS:
        return _CONDITION_STATUS[status]
    return None if PAST in traits else "active"


def condition_verification(traits: set[str]) -> str:
    """Condition.verificationStatus: ``provisional`` for a suspected one (LOW_CONFIDENCE:
    "possible", "evaluate for", "r/o"), else ``unconfirmed`` (machine-read, D5).

    >>> condition_verification({"LOW_CONFIDENCE"}), condition_verification(set())
    ('provisional', 'unconfirmed')
    """
    return "provisional" if "LOW_CONFIDENCE" in traits else "unconfirmed"


# --- dosage -----------------------------------------------------------------------------------

# SNOMED CT route qualifier values (FHIR's example binding for Dosage.route).
_ROUTES: tuple[tuple[str, str, str], ...] = (
    (r"p\.?o\.?|oral(?:ly)?|by mouth|per os", "26643006", "Oral route"),
    (r"i\.?v\.?|intravenous(?:ly)?|ivp|ivpb", "47625008", "Intravenous route"),
    (r"i\.?m\.?|intramuscular(?:ly)?", "78421000", "Intramuscular route"),
    (r"s\.?c\.?|s\.?q\.?|subq|sub-q|subcut|subcutaneous(?:ly)?", "34206005", "Subcutaneous route"),
    (r"s\.?l\.?|sublingual(?:ly)?", "37839007", "Sublingual route"),
    (r"p\.?r\.?|rectal(?:ly)?|per rectum", "37161004", "Rectal route"),
    (r"topical(?:ly)?", "6064005", "Topical route"),
    (r"transdermal(?:ly)?|patch", "45890007", "Transdermal route"),
    (
        r"inhaled|inhalation|inh|neb(?:ulized)?|via nebulizer",
        "447694001",
        "Respiratory tract route",
    ),
    (r"intranasal(?:ly)?|nasal(?:ly)?", "46713006", "Nasal route"),
    (r"(?:per |via )?ng(?: tube)?|nasogastric", "127492001", "Nasogastric route"),
)
_ROUTE_RES = [(re.compile(rf"(?:{rx})", re.I), code, display) for rx, code, display in _ROUTES]

# Timing.repeat from written frequencies: (pattern, frequency, period, periodUnit, when), the
# first that matches wins ("twice daily" before "daily").
_FREQUENCIES: tuple[tuple[str, int, float, str, str | None], ...] = (
    (r"(?:twice (?:daily|a day|per day)|b\.?i\.?d\.?|q12h?)", 2, 1, "d", None),
    (r"(?:three times (?:daily|a day|per day)|t\.?i\.?d\.?|q8h?)", 3, 1, "d", None),
    (r"(?:four times (?:daily|a day|per day)|q\.?i\.?d\.?|q6h?)", 4, 1, "d", None),
    (r"(?:at bedtime|nightly|q\.?h\.?s\.?|h\.?s\.?)", 1, 1, "d", "HS"),
    (r"(?:every morning|q\.?am|in the morning)", 1, 1, "d", "MORN"),
    (r"(?:every evening|q\.?pm|in the evening)", 1, 1, "d", "EVE"),
    (r"(?:every other day|q\.?o\.?d\.?|qod)", 1, 2, "d", None),
    (r"(?:weekly|once a week|every week|q\.?week|qwk)", 1, 1, "wk", None),
    (r"(?:once )?(?:daily|a day|per day|every day|q\.?d\.?|qday|o\.?d\.?)", 1, 1, "d", None),
)
_FREQUENCY_RES = [(re.compile(rf"(?:{rx})", re.I), f, p, u, w) for rx, f, p, u, w in _FREQUENCIES]
_EVERY_HOURS_RE = re.compile(
    r"(?:q|every)\s*(\d+(?:\.\d+)?)\s*(?:-|to)?\s*(\d+(?:\.\d+)?)?\s*(?:h|hr|hrs|hours?)\b", re.I
)
_AS_NEEDED_RE = re.compile(r"\b(?:prn|p\.r\.n\.?|as needed)\b", re.I)
# A dose is a number and a unit only; "1 mg/ml" is a concentration, not a dose.
_QUANTITY_RE = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([A-Za-zµ]+)\.?\s*")
# UCUM codes of the units written after a dose.
_UCUM = {
    "mg": "mg",
    "mcg": "ug",
    "ug": "ug",
    "µg": "ug",
    "g": "g",
    "gm": "g",
    "gram": "g",
    "grams": "g",
    "ml": "mL",
    "cc": "mL",
    "l": "L",
    "meq": "meq",
    "mmol": "mmol",
    "units": "[IU]",
    "unit": "[IU]",
    "u": "[IU]",
    "iu": "[IU]",
}


@dataclass(frozen=True)
class Written:
    """One attribute as written: its Comprehend type, text and offset (for text order)."""

    type: str
    text: str
    begin: int


def route_concept(text: str) -> Json:
    """Dosage.route: SNOMED CT coded when the written route is a known one, else text.

    >>> route_concept("PO")["coding"][0]["code"]
    '26643006'
    >>> route_concept("per J tube")
    {'text': 'per J tube'}
    """
    for rx, code, display in _ROUTE_RES:
        if rx.fullmatch(text.strip()):
            coding = {"system": urls.SNOMED_SYSTEM, "code": code, "display": display}
            return {"coding": [coding], "text": text}
    return {"text": text}


def timing(text: str) -> Json:
    """Dosage.timing from a written frequency (``code.text`` always, ``repeat`` when parsed).

    >>> timing("twice daily")["repeat"]
    {'frequency': 2, 'period': 1, 'periodUnit': 'd'}
    >>> timing("q4-6h")["repeat"]
    {'frequency': 1, 'period': 4, 'periodMax': 6, 'periodUnit': 'h'}
    """
    out: Json = {"code": {"text": text}}
    hours = _EVERY_HOURS_RE.search(text)
    if hours is not None:
        repeat: Json = {"frequency": 1, "period": _number(hours.group(1))}
        if hours.group(2):
            repeat["periodMax"] = _number(hours.group(2))
        repeat["periodUnit"] = "h"
        out["repeat"] = repeat
        return out
    for rx, frequency, period, unit, when in _FREQUENCY_RES:
        if rx.search(text):
            repeat = {"frequency": frequency, "period": _number(str(period)), "periodUnit": unit}
            if when is not None:
                repeat["when"] = [when]
            out["repeat"] = repeat
            break
    return out


def dose_quantity(text: str) -> Json | None:
    """A SimpleQuantity from "500 mg" (UCUM coded when the unit is known), or None.

    >>> dose_quantity("1 mg/ml") is None
    True
    >>> dose_quantity("500 mg")
    {'value': 500, 'unit': 'mg', 'system': 'http://unitsofmeasure.org', 'code': 'mg'}
    """
    m = _QUANTITY_RE.fullmatch(text)
    if m is None:
        return None
    unit = m.group(2)
    out: Json = {"value": _number(m.group(1)), "unit": unit}
    code = _UCUM.get(unit.lower())
    if code is not None:
        out["system"] = urls.UCUM_SYSTEM
        out["code"] = code
    return out


def dosage(attributes: Iterable[Written]) -> Json | None:
    """MedicationStatement.dosage[0] from the extracted attributes, or None without any.

    ``text`` is every attribute in text order; route, timing, as-needed and the dose (DOSAGE,
    else STRENGTH) are structured when they can be read.
    """
    written = sorted(attributes, key=lambda a: a.begin)
    if not written:
        return None
    first: dict[str, str] = {}
    for a in written:
        first.setdefault(a.type, a.text)
    out: Json = {"text": " ".join(a.text for a in written)}
    frequency = first.get("FREQUENCY")
    if frequency is not None:
        out["timing"] = timing(frequency)
        if _AS_NEEDED_RE.search(frequency):
            out["asNeededBoolean"] = True
    route = first.get("ROUTE_OR_MODE")
    if route is not None:
        out["route"] = route_concept(route)
    amount = first.get("DOSAGE") or first.get("STRENGTH")
    quantity = dose_quantity(amount) if amount is not None else None
    if quantity is not None:
        out["doseAndRate"] = [{"doseQuantity": quantity}]
    return out


def _number(text: str) -> int | float:
    value = float(text)
    return int(value) if value.is_integer() else value


# --- smoking status ---------------------------------------------------------------------------

# LOINC 72166-2 answers (SNOMED CT), as in the US Core smoking status value set.
SMOKING_NEVER = ("266919005", "Never smoked tobacco")
SMOKING_FORMER = ("8517006", "Ex-smoker")
SMOKING_DAILY = ("449868002", "Smokes tobacco daily")
SMOKING_CURRENT = ("77176002", "Smoker")
_SMOKELESS_RE = re.compile(r"\b(?:chew(?:ing)?|snuff|smokeless|dip)\b", re.I)
_DAILY_RE = re.compile(r"\b(?:daily|every day|a day|per day|/\s*day|ppd|packs?)\b", re.I)


def smoking_status(traits: set[str], attributes: Sequence[str]) -> tuple[str, str]:
    """The 72166-2 answer for a tobacco-use mention: never, former, daily or current smoker.

    >>> smoking_status({"PAST_HISTORY"}, [])
    ('8517006', 'Ex-smoker')
    >>> smoking_status(set(), ["1 ppd"])
    ('449868002', 'Smokes tobacco daily')
    """
    if NEGATION in traits:
        return SMOKING_NEVER
    if PAST in traits:
        return SMOKING_FORMER
    if any(_DAILY_RE.search(a) for a in attributes):
        return SMOKING_DAILY
    return SMOKING_CURRENT


def is_smoking(text: str) -> bool:
    """False for smokeless tobacco, which 72166-2 (tobacco *smoking* status) does not cover."""
    return _SMOKELESS_RE.search(text) is None
