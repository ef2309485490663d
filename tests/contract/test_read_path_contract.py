"""The read path on both backends: a search with NLP criteria answers the same whether its
matches are found once (``SearchPlan.rids_sql``) or counted and paged apart."""

from __future__ import annotations

from dataclasses import replace

import pytest

from api.search import parse_search
from api.store.search_sql import search_plan
from tests.contract.conftest import Backend
from tests.contract.test_store_contract import condition, enrichment, rows

STREP = ("infer-icd10cm-entity-concept-code", "J02.0")


@pytest.fixture
def filled(backend: Backend) -> Backend:
    """12 documents, 9 with strep throat (scores 0.50 to 0.98), each with a Condition."""
    for n in range(12):
        code = "J02.0" if n % 4 else "R51"
        score = 0.5 + n * 0.04
        backend.store.apply(
            enrichment(
                f"d{n:02d}",
                [condition(f"c{n:02d}", code)],
                rows=rows(("infer-icd10", "strep throat", score, code, "Strep")),
            )
        )
    return backend


@pytest.mark.parametrize(
    "params",
    [
        [STREP],
        [STREP, ("_count", "4")],
        [STREP, ("_count", "4"), ("_offset", "4")],
        [STREP, ("_count", "4"), ("_offset", "8")],
        [STREP, ("_count", "4"), ("_offset", "40")],
        [STREP, ("_sort", "-_id"), ("_count", "5"), ("_offset", "2")],
        [STREP, ("_sort", "-_lastUpdated,_id"), ("_count", "3")],
        [("infer-icd10cm-entity-score", "ge0.7"), ("_count", "2"), ("_offset", "1")],
        [STREP, ("_include", "DocumentReference:nlp-generated"), ("_count", "2")],
        [("infer-icd10cm-entity-concept-code", "Z99"), ("_count", "2")],
    ],
)
def test_matches_found_once_answer_as_counted_and_paged(
    filled: Backend, params: list[tuple[str, str]]
) -> None:
    store = filled.store
    plan = search_plan(parse_search("DocumentReference", params), 50, store.lookups)
    assert plan.rids_sql is not None
    once, apart = store.run_search(plan), store.run_search(replace(plan, rids_sql=None))
    assert once == apart
    assert [r["id"] for r in once.matches] == [r["id"] for r in apart.matches]
    everything = store.run_search(
        search_plan(
            parse_search("DocumentReference", [p for p in params if p[0][0] != "_"]),
            1000,
            store.lookups,
        )
    )
    assert once.total == len(everything.matches)


def test_only_nlp_searches_with_a_page_find_their_matches_once(filled: Backend) -> None:
    def plan_of(params: list[tuple[str, str]]) -> tuple[bool, int]:
        plan = search_plan(parse_search("DocumentReference", params), 50, filled.store.lookups)
        total = filled.store.run_search(plan).total
        return plan.rids_sql is not None and plan.page_sql is not None, total

    assert plan_of([STREP]) == (True, 9)
    assert plan_of([STREP, ("_count", "0")]) == (False, 9)
    assert plan_of([STREP, ("_summary", "count")]) == (False, 9)
    assert plan_of([("status", "current")]) == (False, 12)
