"""Builders of the linkers' dictionaries and n-gram indexes (the runtime linkers are in
:mod:`nlp.local.linker`)."""

from __future__ import annotations

import math
from collections.abc import Sequence

from models.icd10 import KIND_DESC
from nlp.local.drugnames import parse_drug_name
from nlp.local.linker import IcdAssets, RxAssets
from nlp.local.ngram_index import NgramIndex
from nlp.local.normalize import fold, key, tokens


def build_icd_assets(
    names: Sequence[tuple[str, str, int]], descriptions: dict[str, str], version: str
) -> tuple[IcdAssets, NgramIndex]:
    """Turn (name, code, kind) triples into the linker's dictionary and n-gram index."""
    per_name: dict[str, list[tuple[int, str]]] = {}
    per_key: dict[str, list[tuple[int, str]]] = {}
    for name, code, kind in names:
        f = fold(name)
        if not f or code not in descriptions:
            continue
        per_name.setdefault(f, []).append((kind, code))
        k = key(name)
        if k:
            per_key.setdefault(k, []).append((kind, code))

    def ordered(items: list[tuple[int, str]]) -> str:
        return "|".join(dict.fromkeys(c for _, c in sorted(items)))

    def ordered_kind(items: list[tuple[int, str]]) -> str:
        best: dict[str, int] = {}
        for kind, code in sorted(items):
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


_TTY_ORDER = {"IN": 0, "BN": 1, "MIN": 2, "PIN": 3, "SCD": 4, "SBD": 5, "GPCK": 6, "BPCK": 7}


def build_rx_assets(
    concepts: dict[str, tuple[str, str]],
    ingredients: dict[str, set[str]],
    synonyms: Sequence[tuple[str, str]],
    version: str,
    source: str,
) -> tuple[RxAssets, NgramIndex]:
    """Turn RxNorm concepts into the linker's dictionary and n-gram index."""
    per_name: dict[str, set[str]] = {}
    per_key: dict[str, set[str]] = {}
    parsed: dict[str, str] = {}
    products: dict[str, list[str]] = {}
    name_products: dict[str, list[str]] = {}
    # a product's ingredient spelling ("penicillin v potassium") names its single IN
    product_synonyms: list[tuple[str, str]] = []
    for cui, (name, tty) in concepts.items():
        names = [name]
        if tty in {"SCD", "SBD", "GPCK", "BPCK"}:
            p = parse_drug_name(name)
            parsed[cui] = f"{';'.join(p.strengths)}\t{p.form}\t{p.brand or ''}"
            ins = ingredients.get(cui)
            if ins:
                products.setdefault("|".join(sorted(ins)), []).append(cui)
            for spelled in {" ".join(p.ingredients), p.brand or ""} - {""}:
                name_products.setdefault(key(spelled), []).append(cui)
            if ins and len(ins) == 1 and len(p.ingredients) == 1:
                product_synonyms.append((p.ingredients[0], next(iter(ins))))
        for n in names:
            per_name.setdefault(fold(n), set()).add(cui)
            per_key.setdefault(key(n), set()).add(cui)
    for name, cui in [*synonyms, *sorted(product_synonyms)]:
        # never shadow a concept's own name (a BN beats its IN)
        if cui in concepts and fold(name) not in per_name:
            per_name.setdefault(fold(name), set()).add(cui)
            per_key.setdefault(key(name), set()).add(cui)

    def ordered(cuis: set[str]) -> str:
        return "|".join(
            sorted(
                cuis,
                key=lambda c: (_TTY_ORDER.get(concepts[c][1], 9), int(c) if c.isdigit() else 0),
            )
        )

    folded = sorted(n for n in per_name if n)
    assets = RxAssets(
        version=version,
        source=source,
        concepts={c: f"{tty}\t{name}" for c, (name, tty) in concepts.items()},
        ingredients={c: "|".join(sorted(v)) for c, v in ingredients.items() if v},
        products={k: "|".join(sorted(v)) for k, v in products.items()},
        parsed=parsed,
        name_cuis=[ordered(per_name[n]) for n in folded],
        exact={k: ordered(v) for k, v in per_key.items() if k},
        name_products={k: "|".join(sorted(set(v))) for k, v in name_products.items() if k},
    )
    return assets, NgramIndex.build(folded)
