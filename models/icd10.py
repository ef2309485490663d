"""ICD-10-CM knowledge base from ``simple-icd-10-cm`` (optionally the CMS alphabetic index)."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from nlp.local.normalize import (
    drop_parens,
    fold,
    strip_nos,
    strip_unspecified_qualifiers,
    unwrap_parens,
)

# Name kinds, best first: used to order exact-dictionary hits.
KIND_DESC = 0  # description of a billable code
KIND_INCL = 1  # inclusion term / includes note of the code or an ancestor
KIND_PARENT = 2  # description of a non-billable parent -> its unspecified child
KIND_INDEX = 3  # CMS alphabetic index entry
KIND_VARIANT = 4  # cleaned variant of one of the above
KIND_SPLIT = 5  # one half of an "X and Y" name
# Synonym sources beyond the tabular list (models.icd_sources):
KIND_SYNONYM = 6  # hand-made table (models/data/icd10cm_findings.tsv, icd10cm_synonyms.tsv)
KIND_ECQM = 7  # eCQM value-set title, or Synthea SNOMED name by value-set co-membership
KIND_HPO = 8  # HPO term whose names map cleanly to one code
KIND_SITE = 9  # "<site> cancer": the index's "Cancer, see Neoplasm, malignant, by site"
# Exact hits are ordered by this rank: a hand-checked synonym first (it is written to say what
# a phrase means when the tabular list's default would not), the tabular list's own names,
# then the derived sources.
KIND_RANK = {KIND_SYNONYM: -1}


@dataclass(slots=True)
class IcdKb:
    """Billable codes with descriptions, and the names that point to them."""

    version: str
    descriptions: dict[str, str] = field(default_factory=dict)  # billable code -> description
    names: list[tuple[str, str, int]] = field(default_factory=list)  # (name, code, kind)
    # inclusion terms with the node they are attached to: (term, node, target billable code)
    inclusions: list[tuple[str, str, str]] = field(default_factory=list)


def default_leaf(
    code: str, children: Callable[[str], list[str]], desc: Callable[[str], str]
) -> str:
    """The "unspecified" billable descendant that a non-billable ``code`` stands for.

    Prefers (7th characters) the initial encounter ``A``, then the "uncomplicated" child (the
    index's default: "Abuse, opioid" is F11.10, not F11.19), then the child that is the
    parent plus "unspecified" qualifiers only ("Non-Hodgkin lymphoma, unspecified, unspecified
    site", not "..., extranodal and solid organ sites"), then a child ending in 9 that says
    "unspecified", then one whose last qualifier is "unspecified ...", then any ending in 9,
    then any saying "unspecified", then the "Other ..." child ending in 8 (the residual code
    the index gives a bare name: "Ascites" is R18.8 "Other ascites", not R18.0 "Malignant
    ascites"), else the first child.
    """
    while True:
        kids = children(code)
        if not kids:
            return code
        parent = desc(code).lower()
        rules: list[Callable[[str], bool]] = [
            lambda k: len(k) == 8 and k.endswith("A"),
            lambda k: desc(k).lower().endswith(", uncomplicated"),
            partial(_only_unspecified_child, desc=desc, parent=parent),
            lambda k: k.endswith("9") and "unspecified" in desc(k).lower(),
            lambda k: desc(k).split(",")[-1].strip().lower().startswith("unspecified"),
            lambda k: k.endswith("9"),
            lambda k: "unspecified" in desc(k).lower(),
            lambda k: k.endswith("8") and desc(k).lower().startswith("other"),
        ]
        pick = next((k for rule in rules for k in kids if rule(k)), kids[0])
        code = pick


def _only_unspecified_child(k: str, desc: Callable[[str], str], parent: str) -> bool:
    return _only_unspecified(desc(k).lower(), parent)


def _only_unspecified(child: str, parent: str) -> bool:
    """``child`` is ``parent`` followed by qualifiers that all say "unspecified".

    >>> _only_unspecified("hodgkin lymphoma, unspecified, unspecified site", "hodgkin lymphoma")
    True
    >>> _only_unspecified("echinococcosis, unspecified, of liver", "echinococcosis")
    False
    """
    if not child.startswith(parent + ","):
        return False
    rest = [p.strip() for p in child[len(parent) + 1 :].split(",")]
    return all(p.startswith("unspecified") for p in rest)


def _indexable_leaf(code: str) -> bool:
    """7th-character codes are indexed only for the initial encounter ``A``."""
    return len(code.replace(".", "")) < 7 or code.endswith("A")


def build_icd_kb(
    codes: Iterable[str] | None = None,
    index_xml: Path | None = None,
    progress: Callable[[int], None] | None = None,
) -> IcdKb:
    """Collect billable codes and their names.

    Args:
        codes: restrict to these codes and their descendants (tests use a tiny subset);
            default is the whole classification.
        index_xml: the CMS ICD-10-CM alphabetic index (``icd10cm_index_*.xml``), optional.
        progress: called with the number of codes processed since the last call.
    """
    import simple_icd_10_cm as cm

    version = "simple-icd-10-cm " + _package_version("simple_icd_10_cm")
    kb = IcdKb(version=version)
    if codes is None:
        todo = [c for c in cm.get_all_codes(True) if cm.is_category_or_subcategory(c)]
    else:
        todo = []
        for c in codes:
            todo.append(c)
            todo.extend(x for x in cm.get_descendants(c) if cm.is_category_or_subcategory(x))
        todo = list(dict.fromkeys(todo))
    desc: Callable[[str], str] = cm.get_description
    kids: Callable[[str], list[str]] = cm.get_children
    step = 0
    for code in todo:
        step += 1
        if progress and step % 2000 == 0:
            progress(2000)
        d = desc(code)
        leaf = cm.is_leaf(code)
        target = code if leaf else default_leaf(code, kids, desc)
        if leaf:
            kb.descriptions[code] = d
            if _indexable_leaf(code):
                kb.names.append((_strip_encounter(d), code, KIND_DESC))
        elif _indexable_leaf(target):
            kb.names.append((d, target, KIND_PARENT))
        for term in list(cm.get_inclusion_term(code)) + list(cm.get_includes(code)):
            kb.names.append((term, target, KIND_INCL))
            kb.inclusions.append((term, code, target))
    if progress:
        progress(step % 2000)
    if index_xml is not None:
        kb.names.extend(_index_names(index_xml, kb, kids, desc))
    kb.names.extend(list(name_variants(kb.names)))
    return kb


def _strip_encounter(d: str) -> str:
    return re.sub(r",\s*initial encounter.*$", "", d)


def name_variants(names: list[tuple[str, str, int]]) -> Iterator[tuple[str, str, int]]:
    """Cleaned forms: without NOS/unspecified qualifiers and with/without parenthesised words."""
    for name, code, _kind in names:
        seen = {fold(name)}
        clean = strip_nos(strip_unspecified_qualifiers(drop_parens(name)))
        forms = [clean, strip_nos(strip_unspecified_qualifiers(unwrap_parens(name)))]
        # "Syncope and collapse" / "Dizziness and giddiness": each symptom alone
        parts = clean.split(" and ")
        split = parts if len(parts) == 2 and "," not in clean and len(clean.split()) <= 4 else []
        for v, kind in [(f, KIND_VARIANT) for f in forms] + [(p, KIND_SPLIT) for p in split]:
            f = fold(v)
            if f and f not in seen:
                seen.add(f)
                yield v, code, kind


def _index_names(
    path: Path,
    kb: IcdKb,
    kids: Callable[[str], list[str]],
    desc: Callable[[str], str],
) -> Iterator[tuple[str, str, int]]:
    """Names from the CMS alphabetic index: main term + sub-term titles -> code."""
    root = ET.parse(path).getroot()

    def walk(el: ET.Element, prefix: list[str]) -> Iterator[tuple[str, str, int]]:
        title_el = el.find("title")
        title = "".join(title_el.itertext()).strip() if title_el is not None else ""
        chain = [*prefix, title] if title else prefix
        code_el = el.find("code")
        if code_el is not None and code_el.text:
            code = _resolve(code_el.text.strip(), kb, kids, desc)
            if code:
                name = (
                    " ".join(reversed(chain[1:])) + " " + chain[0] if len(chain) > 1 else chain[0]
                )
                yield name.strip(), code, KIND_INDEX
        for sub in el.findall("term"):
            yield from walk(sub, chain)

    for main in root.iter("mainTerm"):
        yield from walk(main, [])


def _resolve(
    code: str, kb: IcdKb, kids: Callable[[str], list[str]], desc: Callable[[str], str]
) -> str | None:
    code = code.rstrip("-").rstrip(".")
    if code in kb.descriptions:
        return code
    try:
        leaf = default_leaf(code, kids, desc)
    except (ValueError, KeyError):
        return None
    return leaf if leaf in kb.descriptions else None


def _package_version(module: str) -> str:
    from importlib import metadata

    dist = {"simple_icd_10_cm": "simple-icd-10-cm"}.get(module, module)
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "unknown"
