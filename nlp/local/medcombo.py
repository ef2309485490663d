"""Medication mentions as the dose line writes them: combination products, release, brand.

The dictionary finds drug names one by one; a dose line says more than each name:

* a combination product is one medication: ``amoxicillin 250 mg / clavulanate 125 mg``
  (RxNorm's own spelling, strengths between the names), and ``X/Y``, ``X-Y``, ``X and Y``,
  ``X with Y`` when a combination strength follows (``hydrocodone-APAP 5-325 mg``,
  ``lisinopril and hydrochlorothiazide 20/12.5 mg``). Without such a strength ``X and Y`` (or
  ``ASA/Plavix``) stays two drugs. Combinations the vocabulary knows ("amoxicillin/clavulanate")
  are already single lexicon terms;
* release and RxNorm qualifier words (``ER``, ``extended release``, ``24 hr``,
  ``abuse-deterrent``, ``ODT``, ``chewable``) and a bracketed brand (``[Tylenol]``) select the
  product: they are added to the text the RxNorm linker sees (``Mention.link``).

:func:`combine_medications` runs after the medication attributes are attached;
:func:`drug_dose_follows` tells a drug dose ("vitamin b12 5 mg/ml") from a test value
("vitamin b12 450 pg/ml").
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from nlp.local.mention import MED, Attr, Mention

_STRENGTH = r"\d+(?:\.\d+)?\s*(?:mg|mcg|g|units?|unt|meq|ml|%)(?:/(?:ml|actuat|hr))?"
# the rest of an RxNorm ingredient name the dictionary did not take ("insulin" + "isophane,
# human"; commas end a dictionary match)
_NAME_TAIL = r"(?:,?[ \t]+[a-z][a-z-]*){0,3},?"
# between two drug names: "250 mg / " (RxNorm's spelling of a combination)
_RXNORM_JOIN = re.compile(rf"({_NAME_TAIL})[ \t]*({_STRENGTH})[ \t]*/[ \t]*", re.I)
_RXNORM_LAST = re.compile(rf"({_NAME_TAIL})[ \t]*({_STRENGTH})", re.I)
# an RxNorm dose form after the last name ("ASA 81 mg / Plavix 75 mg daily" is two drugs)
_FORM = re.compile(
    r"\b(?:tablet|capsule|solution|suspension|injection|injectable|inhaler|cream|ointment|"
    r"patch|spray|syrup|powder|gel|lotion|suppository|lozenge|film|system|injector|syringe|"
    r"cartridge|pack|kit)\b",
    re.I,
)
# per-actuation and concentration strengths that the attribute finder leaves out
_RXNORM_STRENGTH = re.compile(
    r"\d+(?:\.\d+)?[ \t]*(?:mg|mcg|unt|units?)/(?:actuat|ml|hr|day)\b", re.I
)
# between two drug names: a joiner that makes a combination only with a combination strength
_WORD_JOIN = re.compile(r"\s*(?:/|-|\+|&|and|with)\s*", re.I)
_COMBO_STRENGTH = re.compile(
    r"\d+(?:\.\d+)?(?:\s*[/-]\s*\d+(?:\.\d+)?)+\s*(?:mg|mcg|g|units?)(?![\w/])", re.I
)
_COMBO_AFTER = re.compile(rf"[ \t]*\(?[ \t]*({_COMBO_STRENGTH.pattern})", re.I)
# "Norco 5/325", "Augmentin 875/125": a bare combination strength is in mg (not "1/2 tab")
_COMBO_BARE = re.compile(
    r"[ \t]*\(?[ \t]*((?!1/)\d+(?:\.\d+)?/\d+(?:\.\d+)?)"
    r"(?![\d./%]|\s*(?:tab|cap|pill|puff|spray|drop|patch|unit|u\b|ml|mcg|g\b))",
    re.I,
)
# where a dose line ends (the next drug also ends it)
_LINE_END = re.compile(r"[\n;,]|\.\s|\.$")
_RELEASE = re.compile(
    r"\b(?:extended[- ]release|delayed[- ]release|sustained[- ]release|controlled[- ]release|"
    r"abuse[- ]deterrent|chewable|disintegrating|\d+\s*hr|"
    r"(?-i:ER|XR|SR|XL|CR|DR|EC|ODT))\b",
    re.I,
)
_RELEASE_BEFORE = re.compile(
    r"(?:(?:abuse[- ]deterrent|osmotic|sprinkle)\s+)?(?:\d+(?:\.\d+)?\s*(?:hr|actuat|ml)\s+)?"
    r"(?:extended[- ]release\s+)?$",
    re.I,
)
_BRACKET = re.compile(r"\[[^\]\n]{2,40}\]")
_DOSE = re.compile(
    r"[ \t]*:?[ \t]*\d+(?:\.\d+)?[ \t]*(?:mg|mcg|µg|g|units?|iu|meq|mmol|ml)(?:/ml)?(?![\w/])",
    re.I,
)
_MAX_GAP = 48  # characters between the names of one combination


def drug_dose_follows(text: str, end: int) -> bool:
    """A drug amount ("5 mg/ml", "20 mEq", "1000 units") follows ``end``, not a lab value.

    >>> drug_dose_follows("vitamin b12 5 mg/ml injectable", 11)
    True
    >>> drug_dose_follows("potassium 4.1 mEq/L", 9), drug_dose_follows("glucose 95 mg/dL", 7)
    (False, False)
    """
    return _DOSE.match(text, end) is not None


def combine_medications(text: str, mentions: list[Mention]) -> list[Mention]:
    """Merge the medication mentions of one combination product; add dose-line words to links.

    Args:
        text: The note.
        mentions: All mentions, in text order, medication attributes attached.

    Returns:
        The mentions, a combination as one MEDICATION mention spanning its names.
    """
    meds = [m for m in mentions if m.category == MED]
    if not meds:
        return mentions
    groups: list[list[Mention]] = [[meds[0]]]
    for m in meds[1:]:
        if _joins(text, groups[-1], m):
            groups[-1].append(m)
        else:
            groups.append([m])
    merged: dict[int, Mention] = {}
    dropped: set[int] = set()
    for i, group in enumerate(groups):
        nxt = groups[i + 1][0].begin if i + 1 < len(groups) else len(text)
        one = _merge(text, group) if len(group) > 1 else group[0]
        _dose_line_link(text, one, nxt)
        merged[id(group[0])] = one
        dropped.update(id(m) for m in group[1:])
    return [merged.get(id(m), m) for m in mentions if id(m) not in dropped]


def _joins(text: str, group: Sequence[Mention], b: Mention) -> bool:
    """True when ``b`` continues the combination whose names so far are ``group``."""
    a = group[-1]
    gap = text[a.end : b.begin]
    if not gap or len(gap) > _MAX_GAP or "\n" in gap:
        return False
    if _RXNORM_JOIN.fullmatch(gap):  # "X 250 mg / Y 125 mg oral tablet": one product
        return _FORM.search(text, b.end, _line_end(text, b.end, len(text), ";\n")) is not None
    if not _WORD_JOIN.fullmatch(gap):
        return False
    m = _COMBO_AFTER.match(text, b.end)
    return m is not None and len(re.findall(r"\d+(?:\.\d+)?", m.group(1))) == len(group) + 1


def release_before(text: str, lo: int, end: int) -> str:
    """``_RELEASE_BEFORE.search(text, lo, end).group().strip()``: the release words right
    before a drug name ("extended release", "24 hr"), or "".

    Every non-empty match holds one of ``_RELEASE_WORDS``; in an ASCII window without any the
    pattern matches only the empty string, so the search is skipped.
    """
    window = text[lo:end]
    if window.isascii():
        low = window.lower()
        if not any(w in low for w in _RELEASE_WORDS):
            return ""
    found = _RELEASE_BEFORE.search(text, lo, end)
    return found.group().strip() if found is not None else ""


# a literal of each optional part of _RELEASE_BEFORE (what a non-empty match must contain)
_RELEASE_WORDS = ("deterrent", "osmotic", "sprinkle", "hr", "actuat", "ml", "extended")


def _may_match(
    text: str, begin: int, end: int, needles: Sequence[str], cased: Sequence[str] = ()
) -> bool:
    """False only when ``text[begin:end]`` is ASCII and holds none of the lower-case
    ``needles`` (any case) nor the ``cased`` ones as written: a pattern every match of which
    contains one of them cannot match there (non-ASCII windows are always searched)."""
    window = text[begin:end]
    if not window.isascii():
        return True
    low = window.lower()
    return any(n in low for n in needles) or any(c in window for c in cased)


# what every match of _RELEASE (re.I, but its capitals as written) and _FORM contains
_RELEASE_NEEDLES = ("release", "deterrent", "chewable", "disintegrating", "hr")
_RELEASE_CASED = ("ER", "XR", "SR", "XL", "CR", "DR", "EC", "ODT")
_FORM_WORDS = (
    "tablet", "capsule", "solution", "suspension", "inject", "inhaler", "cream", "ointment",
    "patch", "spray", "syrup", "powder", "gel", "lotion", "suppository", "lozenge", "film",
    "system", "syringe", "cartridge", "pack", "kit",
)  # fmt: skip


def _line_end(text: str, start: int, limit: int, stops: str = "") -> int:
    """Where the dose line that goes on at ``start`` ends (``stops``: only these characters)."""
    if stops:
        ends = [i for i in (text.find(c, start, limit) for c in stops) if i >= 0]
        return min(ends, default=limit)
    m = _LINE_END.search(text, start, limit)
    return m.start() if m else limit


def _merge(text: str, group: Sequence[Mention]) -> Mention:
    """One mention for the names of a combination product, with all their attributes: the
    first, extended over the others."""
    first, last = group[0], group[-1]
    names: list[str] = []
    strengths: list[str] = []
    for i, m in enumerate(group):
        name = m.link or text[m.begin : m.end]
        if i + 1 < len(group):
            join = _RXNORM_JOIN.fullmatch(text, m.end, group[i + 1].begin)
        else:
            join = _RXNORM_LAST.match(text, m.end, _line_end(text, m.end, len(text), ";\n"))
        if join is not None and (i + 1 < len(group) or strengths):
            name += join.group(1)
            strengths.append(join.group(2))
        names.append(name.strip(" ,"))
    attrs: dict[tuple[int, int, str], Attr] = {}
    for m in group:
        for a in m.attributes:
            attrs.setdefault((a.begin, a.end, a.type), a)
    # the first mention becomes the combination (what the annotator noted about it, keyed by
    # its identity, stays with it)
    first.end = last.end
    first.type = "BRAND_NAME" if all(m.type == "BRAND_NAME" for m in group) else "GENERIC_NAME"
    first.score = min(m.score for m in group)
    first.code = None
    first.link = " / ".join(names) + (f" {' '.join(strengths)}" if strengths else "")
    first.attributes = sorted(attrs.values(), key=lambda a: (a.begin, a.end))
    return first


def _dose_line_link(text: str, m: Mention, limit: int) -> None:
    """Add a combination strength, release words and a bracketed brand of the dose line to the
    linker's text ("Norco 5/325", "metformin ER", "acetaminophen 325 mg [Tylenol]")."""
    end = _line_end(text, m.end, limit)
    combo = _COMBO_AFTER.match(text, m.end, end)
    line_start = text.rfind("\n", 0, m.begin) + 1
    before = release_before(text, max(line_start, m.begin - 40), m.begin)
    words = [before] if before else []
    if combo:
        words.append(combo.group(1))
    elif bare := _COMBO_BARE.match(text, m.end, end):
        words.append(f"{bare.group(1)} mg")
    if _may_match(text, m.end, end, _RELEASE_NEEDLES, _RELEASE_CASED):
        words += [r.group() for r in _RELEASE.finditer(text, m.end, end)]
    line = _line_end(text, m.end, len(text), ";\n")
    stop = min(line, limit)
    if (m.link is None or "/" not in m.link) and "/" in text[m.end : stop]:
        # (a combination's link has its strengths; these strengths hold a "/")
        words += [r.group() for r in _RXNORM_STRENGTH.finditer(text, m.end, stop)]
    # "injectable suspension", "prefilled syringe": the linker hears one FORM attribute only
    first_form = next((a for a in m.attributes if a.type == "FORM"), None)
    if _may_match(text, m.end, stop, _FORM_WORDS):
        words += [
            f.group()
            for f in _FORM.finditer(text, m.end, stop)
            if first_form is None or not (first_form.begin <= f.start() < first_form.end)
        ]
    brand = _BRACKET.search(text, m.end, line)
    if brand and brand.start() < limit:
        words.append(brand.group())
    if words:
        m.link = f"{m.link or text[m.begin : m.end]} {' '.join(words)}"
