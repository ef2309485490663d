"""NLP search on the stores equals a plain evaluation of the index rows, whatever finds them.

SQLite finds documents through an FTS5 term index and checks composites on the rows;
PostgreSQL through B-tree indexes. Random rows (accents, case, empty and very long values,
UUID-like codes, several operations) and random parameter values (every NLP parameter,
``:exact``, ``:contains``, ``:missing``, OR lists, number prefixes) are searched on both
backends and compared with ``evaluate`` below, written from the parameters' definition
(``api/search_values.py``: FHIR string and number semantics, composites inside one row).
"""

from __future__ import annotations

import random
from typing import Any

import pytest

from api.search import NlpCriterion, Predicate, normalize_text, parse_search
from api.search_params import NLP_PARAMS
from api.store.base import NlpState
from enrich.index import IndexRow
from tests.contract.conftest import Backend

OPS = ("detect-entities", "infer-icd10", "infer-rxnorm")
WORDS = ["Chest", "pain", "chest", "Ménière", "MENIERE", "straße", "İstanbul", "ache",
         "Strep", "streptococcal", "pharyngitis", "Amoxicillin", "amox", "", "x" * 1200,
         "é" * 600]  # fmt: skip
CODES = ["R51", "r51", "J02.0", "H66.90", "44352ee8-649e-50c2-9d09-cf07b39646a3", "", "C" * 1100]
CATEGORIES = ["MEDICAL_CONDITION", "MEDICATION", "medication", "ANATOMY"]
TYPES = ["DX_NAME", "GENERIC_NAME", "BRAND_NAME"]
SCORES = [None, 0.0, 0.55, 0.6, 0.62, 0.65, 0.9815994, 1.0]


def _text(chance: random.Random) -> str | None:
    if chance.random() < 0.1:
        return None
    return " ".join(chance.choice(WORDS) for _ in range(chance.randint(1, 3)))


def _row(chance: random.Random, entity: int) -> IndexRow:
    op = chance.choice(OPS)
    concept = op != "detect-entities" and chance.random() < 0.8
    return IndexRow(
        operation=op,  # type: ignore[arg-type]
        entity_index=entity,
        text=_text(chance),
        category=chance.choice([*CATEGORIES, None]),
        type=chance.choice([*TYPES, None]),
        score=chance.choice(SCORES),
        concept_index=0 if concept else None,
        concept_code=chance.choice([*CODES, None]) if concept else None,
        concept_description=_text(chance) if concept else None,
        concept_score=chance.choice(SCORES) if concept else None,
    )


def _value(chance: random.Random, kind: str, field: str) -> str:
    if kind == "number":
        prefix = chance.choice(["", "ge", "gt", "le", "lt", "ne", "ap", "eq"])
        return prefix + chance.choice(["0.6", "0.62", "0.9", "1", "0", "0.98"])
    if kind == "token":
        pool = {"concept_code": CODES[:5], "category": CATEGORIES, "type": TYPES}[field]
        return chance.choice(pool).replace(",", r"\,") or "R51"
    word = chance.choice([w for w in WORDS if w]) if chance.random() < 0.8 else "x" * 1100
    return word[: chance.randint(1, len(word))].replace(",", r"\,")


def _params(chance: random.Random) -> list[tuple[str, str]]:
    name = chance.choice([n for n in NLP_PARAMS if n != "cm-decoration-status"])
    param = NLP_PARAMS[name]
    kinds = [c.kind for c in param.components]
    if len(kinds) == 1 and chance.random() < 0.15:
        return [(f"{name}:missing", chance.choice(["true", "false"]))]
    modifier = ""
    if "string" in kinds and chance.random() < 0.4:
        modifier = chance.choice([":exact", ":contains"])
    alternatives = [
        "|".join(_value(chance, c.kind, c.field) for c in param.components)
        for _ in range(chance.randint(1, 2))
    ]
    return [(name + modifier, ",".join(alternatives))]


def _holds(pred: Predicate, row: IndexRow) -> bool:
    value: Any = getattr(row, pred.field)
    if value is None:
        return False
    if pred.kind == "string":
        norm = normalize_text(value)
        if pred.op == "exact":
            return bool(value == pred.value)
        if pred.op == "contains":
            return (pred.value or "") in norm
        return norm.startswith(pred.value or "")
    if pred.kind == "token":
        return bool(value == pred.value)
    low, high = pred.low, pred.high
    assert low is not None
    assert high is not None
    return {
        "eq": low <= value < high,
        "ap": low <= value <= high,
        "ne": not low <= value < high,
        "gt": value > low,
        "ge": value >= low,
        "lt": value < low,
        "le": value <= low,
    }[pred.op]


def evaluate(criterion: NlpCriterion, docs: dict[str, list[IndexRow]]) -> set[str]:
    """The documents that ``criterion`` matches, from the rows alone."""
    found = set()
    for doc_id, rows in docs.items():
        mine = [r for r in rows if r.operation == criterion.operation]
        if criterion.missing is not None:
            present = any(getattr(r, str(criterion.missing_field)) is not None for r in mine)
            hit = not present if criterion.missing else present
        else:
            hit = any(
                all(_holds(p, r) for p in alternative)
                for alternative in criterion.alternatives
                for r in mine
            )
        if hit:
            found.add(doc_id)
    return found


@pytest.mark.parametrize("seed", range(3))
def test_nlp_search_equals_the_rows(backend: Backend, seed: int) -> None:
    chance = random.Random(seed)
    docs = {f"t{n:02d}": [_row(chance, e) for e in range(chance.randint(0, 8))] for n in range(24)}
    for doc_id, rows in docs.items():
        backend.index.replace(doc_id, rows, state=NlpState(status="SUCCESS"))
    checked = 0
    for _ in range(150):
        params = _params(chance)
        criteria = parse_search("DocumentReference", params).nlp
        want = evaluate(criteria[0], docs)
        assert backend.index.find(criteria) == want, params
        checked += bool(want)
    assert checked > 30  # most queries match something


def test_a_document_replaced_or_removed_leaves_no_term(backend: Backend) -> None:
    chance = random.Random(7)
    first = [_row(chance, e) for e in range(6)]
    second = [_row(chance, e) for e in range(6)]
    backend.index.replace("r1", first, state=NlpState(status="SUCCESS"))
    backend.index.replace("r1", second, state=NlpState(status="SUCCESS"))
    for _ in range(80):
        criteria = parse_search("DocumentReference", _params(chance)).nlp
        assert backend.index.find(criteria) == evaluate(criteria[0], {"r1": second})
    backend.index.remove("r1")
    criteria = parse_search("DocumentReference", [("detectEntities-entity-text", "c")]).nlp
    assert backend.index.find(criteria) == set()
    assert backend.index.find([]) == set()
