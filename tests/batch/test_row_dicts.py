"""A batch result carries the NLP index rows as dicts (``row_dicts``) and the store sink makes
them rows again (``index_rows_of``): the same rows, fields and values as ``model_dump`` then
``model_validate`` gave, through a pickle (worker processes) and through JSON (Ray rows)."""

from __future__ import annotations

import pickle

from api.batch.model import DocResult, index_rows_of, row_dicts
from enrich.index import IndexRow
from tests.golden import enrich_sample


def _rows() -> list[IndexRow]:
    rows = list(enrich_sample("otitis-strep", "healthlake").index_rows)
    assert any(r.traits for r in rows)
    assert any(r.concept_code for r in rows)
    return rows


def test_row_dicts_are_the_rows_model_dump() -> None:
    rows = _rows()
    dicts = row_dicts(rows)
    assert dicts == [r.model_dump() for r in rows]
    assert all(type(d["traits"]) is tuple for d in dicts)


def test_rows_come_back_the_same_through_a_pickle_and_json() -> None:
    rows = _rows()
    result = DocResult.enriched("d", "h", [], index_rows=row_dicts(rows))
    for carried in (pickle.loads(pickle.dumps(result)), DocResult.from_json(result.to_json())):
        back = index_rows_of(carried.index_rows)
        expected = [IndexRow.model_validate(r.model_dump()) for r in rows]
        assert back == expected == rows
        assert [r.model_fields_set for r in back] == [r.model_fields_set for r in expected]
        assert [type(r.traits) for r in back] == [tuple] * len(rows)


def test_partial_dicts_are_validated_like_model_validate() -> None:
    partial = {"operation": "infer-icd10", "entity_index": "0", "concept_code": "R51"}
    (row,) = index_rows_of([partial])
    assert row == IndexRow.model_validate(partial)
    assert row.entity_index == 0
    assert row.model_fields_set == set(partial)
