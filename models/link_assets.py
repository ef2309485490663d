"""Builders of the linkers' dictionaries and n-gram indexes (the runtime linkers are in
:mod:`nlp.local.linker`)."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

from models.icd10 import KIND_DESC, KIND_RANK, KIND_SYNONYM
from nlp.local.drugnames import identity, parse_drug_name
from nlp.local.linker import IcdAssets, RxAssets
from nlp.local.ngram_index import NgramIndex
from nlp.local.normalize import drop_parens, fold, key, tokens


def build_icd_assets(
    names: Sequence[tuple[str, str, int]], descriptions: dict[str, str], version: str
) -> tuple[IcdAssets, NgramIndex]:
    """Turn (name, code, kind) triples into the linker's dictionary and n-gram index.

    Names of the synonym sources (``KIND_SYNONYM`` and after: hand-made, eCQM, HPO, site) are
    exact names only, not n-gram rows: the fuzzy threshold is measured on the tabular list's
    names, and a short synonym is a near neighbour of other findings ("low cardiac output" is
    not "low urine output").
    """
    per_name: dict[str, list[tuple[int, str]]] = {}
    per_key: dict[str, list[tuple[int, str]]] = {}
    for name, code, kind in names:
        f = fold(name)
        if not f or code not in descriptions:
            continue
        if kind < KIND_SYNONYM:
            per_name.setdefault(f, []).append((kind, code))
        k = key(name)
        if k:
            per_key.setdefault(k, []).append((kind, code))

    def rank(item: tuple[int, str]) -> tuple[int, str]:
        return KIND_RANK.get(item[0], item[0]), item[1]

    def ordered(items: list[tuple[int, str]]) -> str:
        return "|".join(dict.fromkeys(c for _, c in sorted(items, key=rank)))

    def ordered_kind(items: list[tuple[int, str]]) -> str:
        best: dict[str, int] = {}
        for kind, code in sorted(items, key=rank):
            best.setdefault(code, kind)
        return "|".join(f"{c}:{k}" for c, k in best.items())

    df: dict[str, int] = {}
    for desc in descriptions.values():
        for w in set(tokens(desc)):
            df[w] = df.get(w, 0) + 1
    n_desc = len(descriptions)
    word_idf = {w: round(math.log((1 + n_desc) / (1 + c)) + 1.0, 3) for w, c in df.items()}
    folded = sorted(per_name)
    row_of = {n: i for i, n in enumerate(folded)}
    desc_row = {
        c: row_of[fold(n)] for n, c, kind in names if kind == KIND_DESC and c in descriptions
    }
    assets = IcdAssets(
        version=version,
        descriptions=descriptions,
        name_codes=[ordered(per_name[n]) for n in folded],
        exact={k: ordered_kind(v) for k, v in per_key.items()},
        desc_row=desc_row,
        word_idf=word_idf,
    )
    return assets, NgramIndex.build(folded)


_TTY_ORDER = {"IN": 0, "MIN": 1, "BN": 2, "PIN": 3, "SCD": 4, "SBD": 5, "GPCK": 6, "BPCK": 7}
_PRODUCTS = frozenset({"SCD", "SBD", "GPCK", "BPCK"})


def _brand_prefix(name: str, brands: dict[str, str]) -> str | None:
    """The hand-made brand a non-RxNorm display starts with ("NuvaRing 0.12/0.015 MG ...")."""
    words = fold(name).split()
    for n in range(min(3, len(words)), 0, -1):
        if " ".join(words[:n]) in brands:
            return " ".join(words[:n])
    return None


def concept_identities(
    concepts: dict[str, tuple[str, str]],
    ingredients: dict[str, set[str]],
    brands: dict[str, str],
) -> tuple[dict[str, str], dict[str, tuple[str, str, str]]]:
    """Identity of every concept, and ("strengths<TAB>form", brand, qualifiers) of every product.

    Products and MINs: the ingredients their names spell; a product displayed under a hand-made
    brand (Synthea's "Norinyl 1+50 28 Day Pack") gets the brand's. INs and PINs: their own base
    name. BNs: their RXNREL ingredients, else the hand-made brand table, else the ingredient in
    parentheses ("Pulmozyme (Dornase Alfa)").
    """
    idents: dict[str, str] = {}
    parsed: dict[str, tuple[str, str, str]] = {}
    for cui, (name, tty) in concepts.items():
        ident = ""
        if tty in _PRODUCTS:
            p = parse_drug_name(name)
            brand = p.brand
            prefix = _brand_prefix(name, brands) if brand is None else None
            if prefix is not None and p.ingredients and p.ingredients[0].startswith(prefix):
                ident, brand = brands[prefix], fold(name.removesuffix(" Pack"))
            else:
                ident = identity(p.ingredients)
            qualifiers = ";".join([*p.qualifiers, *([p.quantity] if p.quantity else [])])
            parsed[cui] = (f"{';'.join(p.strengths)}\t{p.form}", brand or "", qualifiers)
        elif tty == "MIN":
            ident = identity(name.split("/"))
        elif tty in {"IN", "PIN"}:
            ins = [concepts[i][0] for i in ingredients.get(cui, ()) if i in concepts]
            ident = identity(ins if tty == "PIN" and ins else [name])
        elif tty == "BN":
            ins = [concepts[i][0] for i in ingredients.get(cui, ()) if i in concepts]
            inner = re.search(r"\(([^)]*)\)", name)
            ident = (
                identity(ins)
                if ins
                else brands.get(fold(drop_parens(name)))
                or (identity([inner.group(1)]) if inner else "")
            )
        if ident:
            idents[cui] = ident
    return idents, parsed


def build_rx_assets(
    concepts: dict[str, tuple[str, str]],
    ingredients: dict[str, set[str]],
    synonyms: Sequence[tuple[str, str]],
    version: str,
    source: str,
    brands: dict[str, str] | None = None,
    names: dict[str, str] | None = None,
) -> tuple[RxAssets, NgramIndex]:
    """Turn RxNorm concepts into the linker's dictionary and n-gram index.

    Indexed names: every concept name (and, for IN/PIN/MIN/BN, without parentheses), the
    synonyms, the hand-made brand names, other names of drugs known only as products (``names``,
    drug-NER's "Jardiance"), the ingredient spelling of every product ("penicillin v
    potassium", "amoxicillin / clavulanate") and the first word of a product's brand when it
    names one drug ("norinyl"). A name maps to concepts (exact hits) and to identities.
    """
    brands = brands or {}
    idents, parsed = concept_identities(concepts, ingredients, brands)
    per_name: dict[str, set[str]] = {}  # folded name -> cuis
    name_ident: dict[str, set[str]] = {}  # folded name -> identities
    brand_names: set[str] = set()
    generic: set[str] = set()  # folded generic names (spelling variants may match them)

    def add(name: str, cui: str | None, ident: str | None, is_generic: bool = False) -> None:
        f = fold(name)
        if not f:
            return
        if is_generic:
            generic.add(f)
        cuis = per_name.setdefault(f, set())
        if cui is not None:
            cuis.add(cui)
        if ident:
            name_ident.setdefault(f, set()).add(ident)

    for cui, (name, tty) in concepts.items():
        add(name, cui, idents.get(cui), tty in {"IN", "PIN", "MIN"})
        if tty in {"IN", "PIN", "MIN", "BN"}:
            add(drop_parens(name), cui, idents.get(cui), tty != "BN")
        if tty == "BN":
            brand_names.add(fold(drop_parens(name)))
    first_words: dict[str, set[str]] = {}
    for cui, (_strengths, brand, _qualifiers) in parsed.items():
        p = parse_drug_name(concepts[cui][0])
        ident = idents.get(cui)
        if ident and p.ingredients and not brand.startswith(p.ingredients[0]):
            add(" / ".join(p.ingredients), None, ident, True)  # "penicillin v potassium"
        if brand:
            add(brand, None, ident)
            brand_names.add(brand)
            if ident:
                first_words.setdefault(brand.split()[0], set()).add(ident)
    for brand, ident in brands.items():
        add(brand, None, ident)
        brand_names.add(brand)
    for name, ident in (names or {}).items():
        if fold(name) not in per_name:
            add(name, None, ident)
    for word, ids in first_words.items():
        if len(ids) == 1 and word not in per_name and len(word) >= 4:
            add(word, None, next(iter(ids)))
            brand_names.add(word)
    for name, cui in synonyms:
        # never shadow a concept's own name (a BN beats its IN)
        if cui in concepts and fold(name) not in per_name:
            add(name, cui, idents.get(cui))

    def tty_order(c: str) -> tuple[int, int]:
        return (_TTY_ORDER.get(concepts[c][1], 9), int(c) if c.isdigit() else 0)

    family: dict[str, list[str]] = {}
    for cui, ident in idents.items():
        family.setdefault(ident, []).append(cui)
    per_key: dict[str, set[str]] = {}
    key_ident: dict[str, set[str]] = {}
    for f, cuis in per_name.items():
        k = key(f)
        if k:
            per_key.setdefault(k, set()).update(cuis)
            key_ident.setdefault(k, set()).update(name_ident.get(f, ()))
    folded = sorted(per_name)
    assets = RxAssets(
        version=version,
        source=source,
        concepts={c: f"{tty}\t{name}" for c, (name, tty) in concepts.items()},
        identity=idents,
        family={i: "|".join(sorted(v, key=tty_order)) for i, v in family.items()},
        parsed={c: f"{s}\t{b}\t{q}" for c, (s, b, q) in parsed.items()},
        name_cuis=["|".join(sorted(per_name[n], key=tty_order)) for n in folded],
        row_names=folded,
        row_idents=["|".join(sorted(name_ident.get(n, ()))) for n in folded],
        exact={k: "|".join(sorted(v, key=tty_order)) for k, v in per_key.items() if v},
        name_idents={k: "|".join(sorted(v)) for k, v in key_ident.items() if v},
        brand_keys=frozenset(key(b) for b in brand_names),
        row_generic=frozenset(i for i, n in enumerate(folded) if n in generic),
    )
    return assets, NgramIndex.build(folded)
