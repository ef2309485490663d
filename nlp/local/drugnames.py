"""Drug-name parsing shared by the RxNorm linker and its builder.

* strengths, dose forms, routes of a mention or of an RxNorm clinical-drug name;
* RxNorm names follow fixed patterns (``[qualifier] [quantity] ingredient strength [/ ingredient
  strength] dose form [Brand]``, packs ``{n (clinical drug) / ...} Pack [Brand]``):
  :func:`parse_drug_name` splits them;
* the *identity* of a drug: its ingredient base names (salt words removed), sorted, joined by
  ``" / "`` (``"acetaminophen / hydrocodone"``). Two concepts are the same drug when their
  identities are equal; the linker never returns a concept of another identity (DESIGN D17);
* spelling variants: a fuzzy name is accepted only when every word is a spelling variant of
  the other name's word (:func:`spelling_variant`), never because two different drugs share
  character n-grams (bupropion/ibuprofen, empagliflozin/canagliflozin).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from nlp.local.normalize import drop_parens, fold

_UNITS = (
    r"(?:MG/ML|MG/ACTUAT|MCG/ACTUAT|UNT/ML|MEQ/ML|MG/HR|MCG/HR|MG/MG|UNT/MG|MCG/ML|ML/ML|MG/G|"
    r"MG/DAY|MG|MCG|G|ML|UNT|UNITS?|MEQ|MMOL|%|ACTUAT|HR|DAY|CELLS|PNU|BAU|AU|IU)"
)
_STRENGTH = re.compile(rf"(?<![\w./])(\d+(?:\.\d+)?)\s?({_UNITS})(?![\w/])", re.IGNORECASE)
_STRENGTH_PER = re.compile(rf"(?<![\w./])(\d+(?:\.\d+)?)\s?({_UNITS})(?![\w])", re.IGNORECASE)
# "5/325 mg" (one number per ingredient, one unit); with ``dash=True`` also "875-125 mg"
_MULTI_SLASH = re.compile(
    r"(?<![\w./])(\d+(?:\.\d+)?(?:\s?/\s?\d+(?:\.\d+)?)+)\s?(mg|mcg|g|units?|unt)(?![\w/])", re.I
)
_MULTI_DASH = re.compile(
    r"(?<![\w./-])(\d+(?:\.\d+)?(?:\s?[/-]\s?\d+(?:\.\d+)?)+)\s?(mg|mcg|g|units?|unt)(?![\w/])",
    re.I,
)
BRAND_SUFFIX = re.compile(r"\s*\[([^\]]+)\]\s*$")
_BRACKETED = re.compile(r"\[([^\]]+)\]")
# RxNorm qualifiers written before the ingredient ("Abuse-Deterrent 12 HR oxycodone ...").
_QUALIFIER_PREFIX = re.compile(
    r"^(?:(?:abuse-deterrent|once-daily|sprinkle|osmotic|evening dosing|preservative-free|"
    r"breath-actuated|sensor|micronized|bx rating|\d+-bead|\d+/\d+ release|matrix delivery|"
    r"modified|smoking cessation|biphasic|chewable|disintegrating|extended release|"
    r"NDA\d+|ANDA\d+|BLA\d+)\s+)+",
    re.IGNORECASE,
)
_QUANTITY_PREFIX = re.compile(
    r"^(?:(?:\d+(?:\.\d+)?\s(?:MG|MCG|UNT),?\s+)+Doses?\s+)?"  # "0.25 MG, 0.5 MG Dose" (pens)
    r"(?:\d+(?:\.\d+)?\s(?:HR|ML|ACTUAT|DAY|MG|G|CM2|UNT)\s+)+",
    re.IGNORECASE,
)
_PACK_PART = re.compile(r"\d+\s*\(([^()]*(?:\([^()]*\)[^()]*)*)\)")
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
    "disintegrating": "disintegrating",
    "odt": "disintegrating",
    "effervescent": "effervescent",
    "extended": "extended",
    "er": "extended",
    "xr": "extended",
    "sr": "extended",
    "xl": "extended",
    "cr": "extended",
    "delayed": "delayed",
    "dr": "delayed",
    "ec": "delayed",
    "elixir": "elixir",
    "syringe": "syringe",
    "pen": "pen",
    "injector": "injector",
    "cartridge": "cartridge",
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
# RxNorm dose-form words -> the mention vocabulary above (a product's form, compared with a
# mention's): "Injectable Solution", "Prefilled Syringe", "Metered Dose Inhaler" ...
_PRODUCT_FORM_WORDS: dict[str, str] = {
    **FORM_WORDS,
    "system": "patch",
    "release": "",
    "dose": "",
    "metered": "",
    "dry": "",
}
# Dose-form words that make another product: chosen only when the mention says them
# ("metformin 500 mg" is not the 24-hour extended-release tablet).
MODIFIED_FORMS = frozenset({"extended", "delayed", "chewable", "disintegrating", "effervescent"})
# Units and prescription ("sig") words that are never part of a drug's name.
SIG_WORDS = frozenset(
    {
        *("mg", "mcg", "ml", "g", "unt", "unit", "units", "meq", "by", "take", "takes", "taking"),
        *("daily", "bid", "tid", "qid", "qd", "qhs", "qam", "qpm", "prn", "q4h", "q6h", "q8h"),
        *("q12h", "once", "twice", "day", "every", "as", "needed", "at", "bedtime"),
        *("per", "dose", "doses", "each", "morning", "evening", "night", "with", "meals"),
        *("hr", "release", "pack", "and", "plus", "continue", "start", "started"),
        *("actuat", "actuation", "actuations", "puff", "puffs", "inh"),
    }
)
# Words of RxNorm's product qualifiers ("Abuse-Deterrent", "Osmotic"): they select a product,
# they never name a drug.
QUALIFIER_WORDS = frozenset(
    {
        *("abuse", "deterrent", "osmotic", "sprinkle", "preservative", "free", "breath"),
        *("actuated", "sensor", "micronized", "bead", "matrix", "delivery", "biphasic"),
    }
)
# Salt and ester words dropped after the first word of an ingredient name to get its base
# ("metformin hydrochloride" -> "metformin"), unless only a cation would remain ("potassium
# chloride", "sodium bicarbonate" keep their names).
_SALT_WORDS = frozenset(
    {
        *("hydrochloride", "hcl", "sodium", "potassium", "calcium", "sulfate", "acetate"),
        *("maleate", "besylate", "tartrate", "succinate", "citrate", "phosphate", "bromide"),
        *("mesylate", "fumarate", "magnesium", "disodium", "dipotassium", "monohydrate"),
        *("dihydrate", "hyclate", "trihydrate", "propionate", "furoate", "bitartrate"),
        *("hydrobromide", "chloride", "dihydrochloride", "tromethamine", "medoxomil"),
        *("cilexetil", "dimesylate", "mofetil", "decanoate", "pamoate", "valerate", "usp"),
        *("anhydrous", "hemihydrate", "sesquihydrate", "lactate", "gluconate", "nitrate"),
        *("oxalate", "benzoate", "salicylate", "tosylate", "camsylate", "palmitate"),
        *("monosodium", "edisylate", "napsylate", "stearate", "estolate", "aspartate"),
        *("saccharate", "xinafoate", "trifenatate", "acetonide", "dipropionate"),
    }
)
_CATIONS = frozenset(
    {
        *("sodium", "potassium", "calcium", "magnesium", "ferrous", "ferric", "zinc"),
        *("lithium", "aluminum", "ammonium", "iron", "copper", "chromium", "manganese"),
    }
)
# Placeholders of pack components that are no ingredient.
_NOT_INGREDIENTS = frozenset({"inert ingredients", "inert ingredient", "placebo"})


@dataclass(frozen=True, slots=True)
class ParsedDrug:
    """A clinical drug name split into parts (``fold``-ed)."""

    ingredients: tuple[str, ...]
    strengths: tuple[str, ...]  # "500 mg"
    form: str  # "oral capsule"
    brand: str | None
    qualifiers: tuple[str, ...] = ()  # "abuse deterrent", "osmotic" (folded)
    quantity: str = ""  # "200 actuat", "3 ml" (folded)


def _norm_number(num: str) -> str:
    return num.rstrip("0").rstrip(".") if "." in num else num


def _norm_unit(unit: str) -> str:
    u = unit.lower()
    return "unt" if u in {"unit", "units"} else u


def parse_strengths(text: str, *, dash: bool = False) -> tuple[str, ...]:
    """Normalised strengths in ``text``.

    A combination strength ("5/325 mg"; with ``dash`` also "875-125 mg", which would be a
    dose range for a single drug) gives one strength per number.

    >>> parse_strengths("Amoxicillin 250 MG / Clavulanate 125 MG Oral Tablet")
    ('250 mg', '125 mg')
    >>> parse_strengths("amoxicillin 500mg cap")
    ('500 mg',)
    >>> parse_strengths("Norco 5/325 mg"), parse_strengths("Augmentin 875-125 mg", dash=True)
    (('5 mg', '325 mg'), ('875 mg', '125 mg'))
    """
    out: list[str] = []
    multi = (_MULTI_DASH if dash else _MULTI_SLASH).search(text)
    if multi:
        unit = _norm_unit(multi.group(2))
        out.extend(f"{_norm_number(n)} {unit}" for n in re.split(r"\s?[/-]\s?", multi.group(1)))
        text = text[: multi.start()] + " " + text[multi.end() :]
    for num, unit in _STRENGTH_PER.findall(text):
        u = _norm_unit(unit)
        if u in {"hr", "day", "actuat"}:
            continue
        out.append(f"{_norm_number(num)} {u}")
    return tuple(out)


# unit -> (canonical unit, factor): mass in mg, transdermal rates per hour
_CANON_UNITS: dict[str, tuple[str, float]] = {
    "mcg": ("mg", 0.001),
    "g": ("mg", 1000.0),
    "mcg/ml": ("mg/ml", 0.001),
    "mcg/hr": ("mg/hr", 0.001),
    "mg/day": ("mg/hr", 1 / 24),
    "mcg/actuat": ("mg/actuat", 0.001),
}


def canonical_strength(strength: str) -> tuple[float, str]:
    """(amount, unit) in one unit per kind, so that "50 mcg" equals RxNorm's "0.05 MG" and a
    patch's "7 mg/day" its "0.292 MG/HR".

    >>> canonical_strength("50 mcg"), canonical_strength("7 mg/day")
    ((0.05, 'mg'), (0.2917, 'mg/hr'))
    """
    num, _, unit = strength.partition(" ")
    to, factor = _CANON_UNITS.get(unit, (unit, 1.0))
    return round(float(num) * factor, 4), to


def same_strengths(product: Sequence[str], mention: Sequence[str]) -> bool:
    """The two lists name the same strengths (as sets, units converted, within 1 %).

    >>> same_strengths(("0.05 mg",), ("50 mcg",)), same_strengths(("0.292 mg/hr",), ("7 mg/day",))
    (True, True)
    >>> same_strengths(("5 mg", "325 mg"), ("325 mg",))
    False
    """
    a = {canonical_strength(s) for s in product}
    b = {canonical_strength(s) for s in mention}
    if len(a) != len(b):
        return False
    return all(any(u == v and abs(x - y) <= 0.01 * max(x, y) for x, u in a) for y, v in b)


def strip_qualifiers(name: str) -> str:
    """An RxNorm name without its leading qualifiers and quantity.

    >>> strip_qualifiers("Abuse-Deterrent 12 HR oxycodone hydrochloride 15 MG Extended Release")
    'oxycodone hydrochloride 15 MG Extended Release'
    """
    return _split_qualifiers(name)[1]


def _split_qualifiers(name: str) -> tuple[tuple[str, ...], str, str]:
    """(qualifiers, the name without them, its quantity: "200 actuat", "24 hr", "3 ml")."""
    qualifiers: list[str] = []
    quantity: list[str] = []
    prev = None
    name = name.strip()
    while prev != name:
        prev = name
        m = _QUALIFIER_PREFIX.match(name)
        if m:
            qualifiers.append(fold(m.group(0)))
            name = name[m.end() :]
        q = _QUANTITY_PREFIX.match(name)
        if q:
            quantity.append(fold(q.group(0)))
            name = name[q.end() :]
    kept = tuple(q for q in qualifiers if not q.startswith(("nda", "anda", "bla")))
    return kept, name, " ".join(quantity)


def parse_drug_name(name: str) -> ParsedDrug:
    """Split an SCD/SBD/GPCK/BPCK name: ingredients, strengths, dose form, brand.

    >>> p = parse_drug_name("Amoxicillin 250 MG / Clavulanate 125 MG Oral Tablet")
    >>> p.ingredients, p.strengths, p.form
    (('amoxicillin', 'clavulanate'), ('250 mg', '125 mg'), 'oral tablet')
    >>> name = "24 HR metformin hydrochloride 500 MG Extended Release Oral Tablet [Glucophage]"
    >>> parse_drug_name(name).brand
    'glucophage'
    >>> parse_drug_name("Osmotic 24 HR nifedipine 30 MG Extended Release Oral Tablet").qualifiers
    ('osmotic',)
    >>> p = parse_drug_name("{21 (A 1 MG Oral Tablet) / 7 (inert ingredients 1 MG Tab) } Pack")
    >>> p.ingredients, p.strengths, p.form
    (('a',), ('1 mg',), 'pack')
    """
    brand = None
    m = BRAND_SUFFIX.search(name)
    if m:
        brand = fold(m.group(1))
        name = name[: m.start()]
    if "{" in name:
        return _parse_pack(name, brand)
    qualifiers, name, quantity = _split_qualifiers(name)
    parts = [p.strip() for p in name.split(" / ")]
    ingredients: list[str] = []
    form = ""
    for i, part in enumerate(parts):
        ms = list(_STRENGTH.finditer(part))
        if ms:
            ingredients.append(fold(drop_parens(part[: ms[0].start()])))
            if i == len(parts) - 1:
                form = fold(part[ms[-1].end() :])
        else:
            ingredients.append(fold(drop_parens(part)))
    ingredients = [i for i in ingredients if i]
    return ParsedDrug(tuple(ingredients), parse_strengths(name), form, brand, qualifiers, quantity)


def _parse_pack(name: str, brand: str | None) -> ParsedDrug:
    """``{21 (clinical drug) / 7 (clinical drug) } Pack``: the components' ingredients."""
    ingredients: list[str] = []
    strengths: list[str] = []
    for part in _PACK_PART.findall(name):
        p = parse_drug_name(part)
        ingredients.extend(i for i in p.ingredients if i not in _NOT_INGREDIENTS)
        pairs = zip(p.strengths, p.ingredients, strict=False)
        strengths.extend(s for s, i in pairs if i not in _NOT_INGREDIENTS)
    return ParsedDrug(tuple(dict.fromkeys(ingredients)), tuple(strengths), "pack", brand)


def bracket_brand(text: str) -> tuple[str, str | None]:
    """``("acetaminophen 325 mg", "tylenol")`` for ``"acetaminophen 325 mg [Tylenol]"``."""
    m = _BRACKETED.search(text)
    if m is None:
        return text, None
    return (text[: m.start()] + " " + text[m.end() :]).strip(), fold(m.group(1)) or None


def ingredient_base(name: str) -> str:
    """An ingredient name without salt words, folded.

    >>> ingredient_base("HYDROcodone Bitartrate"), ingredient_base("Potassium Chloride")
    ('hydrocodone', 'potassium chloride')
    >>> ingredient_base("insulin, regular, human"), ingredient_base("thyroid (USP)")
    ('insulin regular human', 'thyroid')
    """
    return " ".join(_unsalted(fold(drop_parens(name)).split()))


def _unsalted(words: Sequence[str]) -> list[str]:
    kept = [*words[:1], *(w for w in words[1:] if w not in _SALT_WORDS)]
    if all(w in _CATIONS for w in kept):
        return [w for w in words if w != "usp"] or list(words)
    return list(kept)


def identity(ingredients: Iterable[str]) -> str:
    """The identity of a drug with these ingredient names (see the module docstring).

    >>> identity(["HYDROcodone Bitartrate", "Acetaminophen"])
    'acetaminophen / hydrocodone'
    """
    bases = {ingredient_base(i) for i in ingredients}
    return " / ".join(sorted(b for b in bases if b and b not in _NOT_INGREDIENTS))


def name_words(text: str) -> list[str]:
    """The words of a mention that can name a drug (no strengths, forms, routes, sig words).

    >>> name_words("Metformin ER 500 mg PO twice daily")
    ['metformin']
    """
    return [
        t
        for t in _LETTER_NUMBER.sub(r"\1\2", fold(text)).split()
        if t not in FORM_WORDS
        and t not in ROUTE_WORDS
        and t not in SIG_WORDS
        and t not in QUALIFIER_WORDS
        and not _AMOUNT.fullmatch(t)
    ]


_LETTER_NUMBER = re.compile(r"\b([bdk]) (12|[1-9])\b")  # "vitamin b 12" -> "vitamin b12"
# numbers, strengths and fractions ("500", "500mg", "5/325", "1+50"), not "b12"
_AMOUNT = re.compile(r"[\d.,/+%-]+[a-z/%]*|q\d+h?")


def form_words(text: str | None) -> set[str]:
    """Dose-form words of a mention, in RxNorm's vocabulary ("tab ER" -> tablet, extended;
    "12 hr" / "24 hr" -> extended)."""
    folded = fold(text or "")
    out = {FORM_WORDS[t] for t in folded.split() if t in FORM_WORDS}
    if _ER_HOURS.search(folded):
        out.add("extended")
    return out


_ER_HOURS = re.compile(r"\b(?:12|24) ?hr\b")


def route_words(text: str | None) -> set[str]:
    """Route words of a mention, in RxNorm's vocabulary ("PO" -> oral)."""
    return {ROUTE_WORDS[t] for t in fold(text or "").split() if t in ROUTE_WORDS}


def product_form_words(form: str) -> set[str]:
    """A product's dose form as mention vocabulary ("injectable solution" -> injection, solution).

    >>> sorted(product_form_words("extended release oral tablet"))
    ['extended', 'oral', 'tablet']
    >>> sorted(product_form_words("prefilled syringe"))
    ['injection', 'prefilled', 'syringe']
    """
    out = set()
    for w in form.split():
        mapped = _PRODUCT_FORM_WORDS.get(w, ROUTE_WORDS.get(w, w))
        if mapped:
            out.add(mapped)
        if w in _INJECTED:  # a syringe, pen or cartridge is also an injection
            out.add("injection")
    return out


_INJECTED = frozenset({"syringe", "injector", "cartridge", "pen"})


def edit_distance(a: str, b: str, limit: int) -> int:
    """Optimal-string-alignment distance (a transposition costs 1), capped at ``limit + 1``.

    >>> edit_distance("flouxetine", "fluoxetine", 2), edit_distance("bupropion", "ibuprofen", 2)
    (1, 3)
    """
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        cur = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            v = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                v = min(v, prev2[j - 2] + 1)
            cur[j] = v
        if min(cur) > limit:
            return limit + 1
        prev2, prev = prev, cur
    return min(prev[-1], limit + 1)


def spelling_variant(a: str, b: str) -> bool:
    """True when word ``a`` is a misspelling of word ``b`` rather than another drug.

    Different drugs of one class share their stem and differ at the start (dapagliflozin /
    canagliflozin, lisinopril / fosinopril) or by two letters (prednisone / prednisolone).
    Accepted: the same first two letters and one edit (insertion, deletion, substitution or
    transposition); words under five letters must be equal. Long names one letter apart are
    still different drugs often enough (dihydroergotoxine / dihydroergotamine) that two edits
    are never accepted.

    >>> spelling_variant("metformn", "metformin"), spelling_variant("sertaline", "sertraline")
    (True, True)
    >>> spelling_variant("prednisone", "prednisolone")
    False
    >>> spelling_variant("empagliflozin", "canagliflozin"), spelling_variant("zanax", "xanax")
    (False, False)
    """
    if a == b:
        return True
    if min(len(a), len(b)) < 5 or a[:2] != b[:2] or a.isdigit() or b.isdigit():
        return False
    return edit_distance(a, b, 1) <= 1


def same_name(mention: Sequence[str], name: Sequence[str]) -> bool:
    """Every word of each side is a spelling variant of a distinct word of the other.

    Salt words are ignored on both sides ("metoprolol succinate" names metoprolol).

    >>> same_name(["amoxicilin", "clavulanate"], ["clavulanate", "amoxicillin"])
    True
    >>> same_name(["insulin"], ["insulin", "glargine"])
    False
    """
    a = _unsalted(mention)
    b = _unsalted(name)
    if len(a) != len(b):
        return False
    left = list(b)
    for w in sorted(a, key=len, reverse=True):
        hit = next((x for x in left if spelling_variant(w, x)), None)
        if hit is None:
            return False
        left.remove(hit)
    return True
