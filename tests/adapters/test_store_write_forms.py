"""The forms the SQL stores write, made column by column, against their definition row by row:
the stored NLP rows (distinct, normalised, elided), their terms, the batched inserts and the
search values of resources."""

from __future__ import annotations

import math
import random
import sqlite3
from pathlib import Path
from typing import Any

from api.search import normalize_text, parse_nlp
from api.store.base import EnrichmentWrite, NlpState
from api.store.extract import extract
from api.store.factory import open_store
from api.store.sql import nlp_rows
from api.store.sqlite import Database, SqliteFhirStore
from api.store.sqlite_index import ROWS_PER_INSERT, insert_many
from api.store.sqlite_schema import elided_rows, row_key
from api.store.terms import (
    MAX_VALUE_BYTES,
    OPERATIONS,
    PRESENCE,
    NlpRow,
    long_marker,
    nlp_exact_term,
    nlp_prefix_term,
    nlp_terms,
    presence_term,
)
from enrich.index import IndexRow
from tests.adapters.test_sqlite_store import _statements, condition, doc
from tests.fakes import FixedClock

OPS = list(OPERATIONS)
TEXTS = [None, "", "Chest pain", "chest pain", "Ménière", "İstanbul", "x" * 1200, "é" * 600]
CODES = [None, "", "R51", "44352ee8-649e-50c2-9d09-cf07b39646a3", "C" * 1100]
SCORES = [None, 0.0, 0.5, 0.9815994, 1.0]


def _rows(chance: random.Random, count: int) -> list[IndexRow]:
    """Random rows, operations interleaved, with copies of earlier rows among them."""
    rows: list[IndexRow] = []
    for n in range(count):
        if rows and chance.random() < 0.3:
            rows.append(chance.choice(rows).model_copy(update={"entity_index": n}))
            continue
        rows.append(
            IndexRow(
                operation=chance.choice(OPS),
                entity_index=n,
                text=chance.choice(TEXTS),
                category=chance.choice([None, "MEDICATION", "ANATOMY"]),
                type=chance.choice([None, "DX_NAME", "GENERIC_NAME"]),
                score=chance.choice(SCORES),
                concept_code=chance.choice(CODES),
                concept_description=chance.choice(TEXTS),
                concept_score=chance.choice(SCORES),
            )
        )
    return rows


def _norm(value: str | None) -> str | None:
    return normalize_text(value) if value else value


def _stored(row: IndexRow) -> NlpRow:
    """One row as the definition says it is stored."""
    return NlpRow(
        OPERATIONS[row.operation],
        row.text,
        _norm(row.text),
        row.category,
        row.type,
        row.score,
        row.concept_code,
        row.concept_description,
        _norm(row.concept_description),
        row.concept_score,
    )


def _terms(rows: list[NlpRow]) -> list[str]:
    """Every term of rows, row by row (``api.store.terms``' definitions)."""
    terms: set[str] = set()
    columns = {"text": 1, "category": 3, "type": 4, "score": 5, "concept_code": 6}
    columns |= {"concept_description": 7, "concept_score": 9}
    for row in rows:
        for letter, value in (("g", row.category), ("y", row.type), ("k", row.code)):
            if value is not None:
                terms.add(nlp_exact_term(letter, row.op, value))
        for letter, value in (("t", row.text_norm), ("w", row.description_norm)):
            if value is not None:
                term = nlp_prefix_term(letter, row.op, value)
                terms.add(term if term is not None else long_marker(letter, row.op))
        terms.update(presence_term(row.op, f) for f, i in columns.items() if row[i] is not None)
    assert set(columns) == set(PRESENCE)
    return sorted(terms)


def test_stored_rows_are_the_distinct_rows_in_order() -> None:
    chance = random.Random(11)
    for count in (0, 1, 2, 40, 300):
        rows = _rows(chance, count)
        expected = list(dict.fromkeys(_stored(r) for r in rows))
        assert nlp_rows(rows) == expected
        assert len(expected) < count or count < 40  # the larger samples have copies


def test_terms_of_rows_are_made_as_defined() -> None:
    chance = random.Random(12)
    long_values = 0
    for count in (0, 1, 5, 50, 300):
        for _ in range(20):
            stored = nlp_rows(_rows(chance, count))
            assert nlp_terms(stored) == _terms(stored)
            long_values += any(len((r.text or "").encode()) > MAX_VALUE_BYTES for r in stored)
    assert long_values  # the long-value markers were exercised


def test_elided_rows_key_each_row_and_keep_only_non_ascii_normalised_values() -> None:
    stored = nlp_rows(_rows(random.Random(13), 200))
    expected: list[tuple[Any, ...]] = []
    for seq, r in enumerate(stored):
        text_norm = None if r.text is not None and r.text.isascii() else r.text_norm
        desc = r.description
        desc_norm = None if desc is not None and desc.isascii() else r.description_norm
        head = (row_key(7, r.op, seq), r.op, r.text, text_norm, r.category, r.type, r.score)
        expected.append((*head, r.code, desc, desc_norm, r.concept_score))
    assert list(elided_rows(7, stored)) == expected
    assert list(elided_rows(7, [])) == []
    assert any(e[3] is not None for e in expected)
    assert any(e[3] is None for e in expected)


def test_insert_many_writes_every_row_in_order() -> None:
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE t (a INTEGER PRIMARY KEY, b, c)")
    written = 0
    for count in (0, 1, ROWS_PER_INSERT - 1, ROWS_PER_INSERT, 2 * ROWS_PER_INSERT + 3):
        rows = [(written + n, f"b{n}", None if n % 3 else n / 7) for n in range(count)]
        insert_many(conn, "INSERT INTO t (a, b, c)", 3, iter(rows))
        found = conn.execute("SELECT * FROM t WHERE a >= ? ORDER BY a", (written,)).fetchall()
        assert found == rows
        written += count


def test_search_values_of_odd_shapes() -> None:
    condition = {
        "resourceType": "Condition",
        "id": "c1",
        "meta": {
            "tag": [
                None,
                {"system": "s", "code": "system-generated", "display": "SYSTEM_GENERATED"},
                {"display": "display-only"},
            ]
        },
        "code": {"coding": [{"system": "icd", "code": "R51"}, "bare", None, {"display": "d"}]},
        "category": [{"text": "no coding"}, {"coding": [{"code": "c", "system": None}]}],
        "identifier": [{"system": "ids", "value": "v1"}, {"value": 7}],
        "clinicalStatus": True,
        "subject": {"reference": "Patient/p1"},
        "encounter": [{"reference": "Encounter/e1"}, {"reference": "e2"}, {"display": "x"}],
        "recordedDate": "2024-01-02",
    }
    values = extract(condition)
    assert values.tokens == [
        ("_tag", "", "SYSTEM_GENERATED"),
        ("_tag", "", "display-only"),
        ("_tag", "s", "system-generated"),
        ("category", "", "c"),
        ("clinical-status", "", "true"),
        ("code", "", "bare"),
        ("code", "", "d"),
        ("code", "icd", "R51"),
        ("identifier", "", "7"),
        ("identifier", "ids", "v1"),
    ]
    assert values.refs == [
        ("encounter", "Encounter", "e1"),
        ("patient", "Patient", "p1"),
        ("subject", "Patient", "p1"),
    ]
    assert [d[0] for d in values.dates] == ["recorded-date"]
    tag_only = extract({"resourceType": "Basic", "id": "b", "meta": {"tag": {"code": "one"}}})
    assert tag_only.tokens == [("_tag", "", "one")]
    assert extract({"resourceType": "Basic", "id": "b", "meta": "odd"}).tokens == []


def test_search_values_that_did_not_change_are_not_written_again() -> None:
    store = SqliteFhirStore(Database(":memory:"), clock=FixedClock())
    first = condition("c1", "R51") | {"recordedDate": "2024-01-02"}
    store.apply(EnrichmentWrite(doc("d1"), generated=[first, condition("c2")]))
    seen = _statements(store.db)
    noted = first | {"note": [{"text": "not searchable"}]}  # a new version, same values
    store.apply(EnrichmentWrite(doc("d1"), generated=[noted, condition("c2", "R52")]))
    touched = [s for s in seen if "search_terms" in s or "search_date" in s]
    assert len([s for s in touched if "'delete'" in s]) == 1  # c2's old terms only
    assert not [s for s in touched if "search_date" in s and "VALUES" in s]
    assert store.current_version("Condition", "c1") == ("2", False)
    for params, expected in (
        ([("code", "R51")], ["c1"]),
        ([("code", "R52")], ["c2"]),
        ([("code", "J02.0")], []),
        ([("recorded-date", "2024-01-02")], ["c1"]),
    ):
        bundle = store.search("Condition", params)
        assert sorted(e["resource"]["id"] for e in bundle.get("entry", [])) == expected


def test_a_nan_score_is_no_number_in_rows_terms_and_search(tmp_path: Path) -> None:
    """SQLite stores a NaN REAL as NULL: the row, its presence term and a re-enrichment agree."""

    def row(n: int, score: float) -> IndexRow:
        return IndexRow(operation="infer-icd10", entity_index=n, text="a", score=score)

    stored = nlp_rows([row(0, math.nan), row(1, math.nan)])
    assert [r.score for r in stored] == [None]  # copies of one row, once
    assert presence_term(1, "score") not in nlp_terms(stored)
    db, _, index = open_store(str(tmp_path / "s.sqlite"), clock=FixedClock())
    state = NlpState("SUCCESS", text_hash="h")
    has_score = parse_nlp("infer-icd10cm-entity-score", "missing", "false")
    no_score = parse_nlp("infer-icd10cm-entity-score", "missing", "true")
    try:
        index.replace("d1", [row(0, math.nan)], state=state)
        assert (index.find([has_score]), index.find([no_score])) == (set(), {"d1"})
        index.replace("d1", [row(0, 0.5)], state=state)  # the terms written are the ones removed
        assert (index.find([has_score]), index.find([no_score])) == ({"d1"}, set())
        index.replace("d1", [row(0, math.nan)], state=state)
        assert (index.find([has_score]), index.find([no_score])) == (set(), {"d1"})
    finally:
        db.close()
