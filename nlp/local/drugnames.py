"""Drug-name parsing shared by the RxNorm linker and its builder: strengths, forms, routes."""

from __future__ import annotations

import re
from dataclasses import dataclass

from nlp.local.normalize import fold

_UNITS = (
    r"(?:MG/ML|MG/ACTUAT|MCG/ACTUAT|UNT/ML|MEQ/ML|MG/HR|MCG/HR|MG/MG|UNT/MG|MCG/ML|ML/ML|MG/G|"
    r"MG/DAY|MG|MCG|G|ML|UNT|MEQ|MMOL|%|ACTUAT|HR|DAY|CELLS|PNU|BAU|AU|IU)"
)
_STRENGTH = re.compile(rf"(?<![\w.])(\d+(?:\.\d+)?)\s?({_UNITS})(?![\w])", re.IGNORECASE)
BRAND_SUFFIX = re.compile(r"\s*\[([^\]]+)\]\s*$")
_QUANTITY_PREFIX = re.compile(
    r"^(?:NDA\d+\s+)?(?:\d+(?:\.\d+)?\s(?:HR|ML|ACTUAT|DAY|MG|G|CM2|UNT)\s+)+", re.IGNORECASE
)
# Dose-form and route vocabulary: mention words -> the words RxNorm dose forms use.
FORM_WORDS: dict[str, str] = {
    "tablet": "tablet",
    "tablets": "tablet",
    "tab": "tablet",
    "tabs": "tablet",
    "capsule": "capsule",
    "capsules": "capsule",
    "cap": "capsule",
    "caps": "capsule",
    "solution": "solution",
    "soln": "solution",
    "suspension": "suspension",
    "susp": "suspension",
    "injection": "injection",
    "injectable": "injection",
    "inj": "injection",
    "inhaler": "inhaler",
    "inhalant": "inhalant",
    "cream": "cream",
    "ointment": "ointment",
    "oint": "ointment",
    "patch": "patch",
    "spray": "spray",
    "drops": "solution",
    "syrup": "syrup",
    "powder": "powder",
    "gel": "gel",
    "lotion": "lotion",
    "suppository": "suppository",
    "chewable": "chewable",
    "extended": "extended",
    "er": "extended",
    "xr": "extended",
    "sr": "extended",
    "elixir": "elixir",
}
ROUTE_WORDS: dict[str, str] = {
    "oral": "oral",
    "po": "oral",
    "mouth": "oral",
    "topical": "topical",
    "nasal": "nasal",
    "ophthalmic": "ophthalmic",
    "otic": "otic",
    "rectal": "rectal",
    "vaginal": "vaginal",
    "transdermal": "transdermal",
    "inhalation": "inhalant",
    "inhaled": "inhalant",
    "sublingual": "sublingual",
    "iv": "injection",
    "intravenous": "injection",
    "im": "injection",
    "intramuscular": "injection",
    "subcutaneous": "injection",
    "sc": "injection",
    "subq": "injection",
}


@dataclass(frozen=True, slots=True)
class ParsedDrug:
    """A clinical drug name split into parts (``fold``-ed)."""

    ingredients: tuple[str, ...]
    strengths: tuple[str, ...]  # "500 mg"
    form: str  # "oral capsule"
    brand: str | None


def parse_strengths(text: str) -> tuple[str, ...]:
    """Normalised strengths in ``text``.

    >>> parse_strengths("Amoxicillin 250 MG / Clavulanate 125 MG Oral Tablet")
    ('250 mg', '125 mg')
    >>> parse_strengths("amoxicillin 500mg cap")
    ('500 mg',)
    """
    out = []
    for num, unit in _STRENGTH.findall(text):
        n = num.rstrip("0").rstrip(".") if "." in num else num
        u = unit.lower()
        if u in {"hr", "day", "actuat"}:
            continue
        out.append(f"{n} {u}")
    return tuple(out)


def parse_drug_name(name: str) -> ParsedDrug:
    """Split an SCD/SBD name: ingredients, strengths, dose form, brand.

    >>> p = parse_drug_name("Amoxicillin 250 MG / Clavulanate 125 MG Oral Tablet")
    >>> p.ingredients, p.strengths, p.form
    (('amoxicillin', 'clavulanate'), ('250 mg', '125 mg'), 'oral tablet')
    >>> name = "24 HR metformin hydrochloride 500 MG Extended Release Oral Tablet [Glucophage]"
    >>> parse_drug_name(name).brand
    'glucophage'
    """
    brand = None
    m = BRAND_SUFFIX.search(name)
    if m:
        brand = fold(m.group(1))
        name = name[: m.start()]
    name = _QUANTITY_PREFIX.sub("", name.strip())
    parts = [p.strip() for p in name.split(" / ")]
    ingredients: list[str] = []
    form = ""
    for i, part in enumerate(parts):
        ms = list(_STRENGTH.finditer(part))
        if ms:
            ingredients.append(fold(part[: ms[0].start()]))
            if i == len(parts) - 1:
                form = fold(part[ms[-1].end() :])
        else:
            ingredients.append(fold(part))
    return ParsedDrug(tuple(i for i in ingredients if i), parse_strengths(name), form, brand)
