"""What the compact write path stores, on both backends: the history of generated resources
(none by default, every version when asked), and bodies as written (large and odd numbers)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest

from api.search import parse_search
from api.store.base import ResourceGone
from api.store.factory import open_store
from api.store.search_sql import search_plan
from tests.contract.conftest import Backend
from tests.contract.test_store_contract import condition, enrichment, rows
from tests.fakes import FixedClock


def _versions(backend: Backend, ref: str) -> list[tuple[str, str, bool]]:
    kind, rid = ref.split("/")
    return [(h.version_id, h.method, h.resource is None) for h in backend.store.history(kind, rid)]


def test_generated_resources_keep_their_current_version_and_deletions(backend: Backend) -> None:
    store = backend.store
    store.apply(enrichment("d1", [condition("c1", "R51"), condition("c2", "J02.0")]))
    store.apply(enrichment("d1", [condition("c1", "R52")]))  # c1 changed, c2 retired
    assert _versions(backend, "Condition/c1") == [("2", "PUT", False)]
    assert store.vread("Condition", "c1", "2") == store.read("Condition", "c1")
    assert store.vread("Condition", "c1", "1") is None  # not kept
    assert _versions(backend, "Condition/c2") == [("2", "DELETE", True)]
    assert store.current_version("Condition", "c2") == ("2", True)
    with pytest.raises(ResourceGone):
        store.vread("Condition", "c2", "2")
    store.apply(enrichment("d1", [condition("c1", "R52"), condition("c2", "J02.0")]))
    assert _versions(backend, "Condition/c2") == [("3", "PUT", False), ("2", "DELETE", True)]
    assert _versions(backend, "DocumentReference/d1")[-1] == ("1", "POST", False)
    with backend.db.read() as conn:  # the documents' versions only, and the deletion
        kinds = conn.execute("SELECT DISTINCT type FROM history ORDER BY type").fetchall()
    assert [tuple(k) for k in kinds] == [("Condition",), ("DocumentReference",)]


@pytest.fixture
def keeping(backend: Backend) -> Iterator[Backend]:
    """The same database, opened by a store that keeps the history of generated resources."""
    db, store, index = open_store(backend.url, clock=FixedClock(), generated_history=True)
    yield Backend(backend.name, backend.url, db, store, index, backend.clock)
    db.close()


def test_the_history_of_generated_resources_is_kept_when_asked(keeping: Backend) -> None:
    store = keeping.store
    store.apply(enrichment("d1", [condition("c1", "R51")]))
    first = store.read("Condition", "c1")
    store.apply(enrichment("d1", [condition("c1", "R52")]))
    assert _versions(keeping, "Condition/c1") == [("2", "PUT", False), ("1", "POST", False)]
    assert store.vread("Condition", "c1", "1") == first
    store.delete("DocumentReference", "d1")
    assert [v[:2] for v in _versions(keeping, "Condition/c1")] == [
        ("3", "DELETE"),
        ("2", "PUT"),
        ("1", "POST"),
    ]


def test_history_kept_before_keeps_its_bodies_after(backend: Backend, keeping: Backend) -> None:
    """Versions written while the history of generated resources was kept keep their bodies
    when a store that does not keep it supersedes or deletes them."""
    keeping.store.apply(enrichment("d1", [condition("c1", "R51"), condition("c2", "J02.0")]))
    first = [keeping.store.read("Condition", c) for c in ("c1", "c2")]
    backend.store.apply(enrichment("d1", [condition("c1", "R52")]))  # c1 changed, c2 retired
    assert backend.store.vread("Condition", "c1", "1") == first[0]
    assert backend.store.vread("Condition", "c2", "1") == first[1]
    assert _versions(backend, "Condition/c2") == [("2", "DELETE", True), ("1", "POST", False)]


def test_bodies_come_back_as_written(backend: Backend) -> None:
    big = {"resourceType": "Observation", "id": "o1", "valueInteger": 2**70, "note": "é" * 3000}
    small = {"resourceType": "Basic", "id": "b1", "extension": [{"valueDecimal": 1e-7}]}
    backend.store.save_all([big, small])
    assert backend.store.read("Observation", "o1")["valueInteger"] == 2**70
    assert backend.store.read("Observation", "o1")["note"] == "é" * 3000
    assert backend.store.read("Basic", "b1")["extension"][0]["valueDecimal"] == 1e-7
    generated = [condition(f"c{n}", "R51") for n in range(3)]
    generated[1]["valueInteger"] = 2**70  # one part of a bundle written by the fallback
    backend.store.apply(enrichment("d1", generated))
    assert [backend.store.read("Condition", f"c{n}") for n in range(3)][1]["valueInteger"] == 2**70


NLP_CODE = ("infer-icd10cm-entity-concept-code", "J02.0")


@pytest.mark.parametrize(
    ("dates", "expected"),
    [
        (["le2000-01-01"], []),
        (["gt2100-01-01"], []),
        (["ge2000-01-01"], ["d1", "d2"]),
        (["ne2000-01-01"], ["d1", "d2"]),
        (["le2000-01-01,ge2000-01-01"], ["d1", "d2"]),  # one range of two can match
        (["ge2000-01-01", "le2000-01-01"], []),  # both must
    ],
)
def test_a_last_updated_range_is_checked_before_the_nlp_lookup(
    backend: Backend, dates: list[str], expected: list[str]
) -> None:
    store = backend.store
    strep = rows(("infer-icd10", "strep", 0.9, "J02.0", "Strep"))
    for doc_id in ("d1", "d2"):
        store.apply(enrichment(doc_id, [condition(f"c-{doc_id}", "J02.0")], rows=strep))
    params = [*(("_lastUpdated", d) for d in dates), NLP_CODE, ("_sort", "_id")]
    for extra in ([], [("_summary", "count")], [("_count", "0")]):
        query = parse_search("DocumentReference", [*params, *extra])
        plan = search_plan(query, 50, store.lookups)
        assert plan.guard_sql is not None
        guarded, unguarded = store.run_search(plan), store.run_search(replace(plan, guard_sql=None))
        assert guarded == unguarded
        assert guarded.total == len(expected)
        assert [r["id"] for r in guarded.matches] == (expected if not extra else [])


def test_only_nlp_searches_with_last_updated_have_a_guard(backend: Backend) -> None:
    def guard(params: list[tuple[str, str]]) -> str | None:
        query = parse_search("DocumentReference", params)
        return search_plan(query, 50, backend.store.lookups).guard_sql

    assert guard([NLP_CODE]) is None
    assert guard([("_lastUpdated", "le2000-01-01")]) is None
    assert guard([("_lastUpdated", "le2000-01-01"), NLP_CODE]) is not None


def test_copies_of_an_index_row_are_stored_once(backend: Backend) -> None:
    store = backend.store
    strep = ("infer-icd10", "strep", 0.9, "J02.0", "Strep")
    ache = ("detect-entities", "ache", 0.5, None, None)
    copies = rows(strep, ache, strep, strep, ache)  # entity indexes differ, stored columns not
    store.apply(enrichment("d1", [], rows=copies))
    with backend.db.read() as conn:
        assert conn.execute("SELECT COUNT(*) FROM nlp_rows").fetchone()[0] == 2
    for params in (
        [NLP_CODE],
        [("detectEntities-entity-text", "ache")],
        [("infer-icd10cm-entity-text-concept-code", "strep|J02.0")],
    ):
        assert _ids(backend, params) == ["d1"]
    seen: list[str] = []
    if backend.name == "sqlite":
        with backend.db.read() as conn:
            conn.set_trace_callback(seen.append)
    store.apply(enrichment("d1", [], rows=rows(strep, ache)))  # the same distinct rows
    assert not [s for s in seen if "INTO nlp_rows" in s]
    store.apply(enrichment("d1", [], rows=rows(ache, ache)))
    assert _ids(backend, [NLP_CODE]) == []
    assert _ids(backend, [("detectEntities-entity-text", "ache")]) == ["d1"]


def _ids(backend: Backend, params: list[tuple[str, str]]) -> list[str]:
    found = backend.store.search("DocumentReference", params)
    return sorted(e["resource"]["id"] for e in found.get("entry", []))
