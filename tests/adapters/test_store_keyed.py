"""The SQLite store's key lookups of writes (``sqlite_search.keyed_rows``): a key is looked up
first where it is expected (under its document, or among rows of no document) by B-tree, and
only otherwise through its key term; every row is found wherever it is."""

from __future__ import annotations

from typing import Any

import pytest

from api.store.base import EnrichmentWrite
from api.store.sqlite import Database, SqliteFhirStore
from api.store.sqlite_search import keyed_rows
from tests.fakes import FixedClock

SELECT = "SELECT t.type, t.id, t.source_doc, t.version_id"


@pytest.fixture
def store() -> SqliteFhirStore:
    return SqliteFhirStore(Database(":memory:"), clock=FixedClock())


def doc(doc_id: str) -> dict[str, Any]:
    return {"resourceType": "DocumentReference", "id": doc_id, "status": "current"}


def condition(cid: str, code: str = "J02.0") -> dict[str, Any]:
    return {"resourceType": "Condition", "id": cid, "code": {"coding": [{"code": code}]}}


def enrich(store: SqliteFhirStore, doc_id: str, *cids: str, code: str = "J02.0") -> None:
    generated = [condition(c, code) for c in cids]
    store.apply(EnrichmentWrite(document=doc(doc_id), generated=generated, rows=[]))


def lookups(
    store: SqliteFhirStore, keys: list[tuple[str, str]], sources: list[str | None]
) -> tuple[dict[tuple[str, str], tuple[Any, ...]], list[str]]:
    """The rows ``keyed_rows`` finds, and the statements it ran."""
    statements: list[str] = []
    with store.db.read() as conn:
        conn.set_trace_callback(statements.append)
        try:
            rows = keyed_rows(conn, SELECT, keys, sources)
        finally:
            conn.set_trace_callback(None)
    return {(r[0], r[1]): tuple(r) for r in rows}, statements


def _matched(statements: list[str]) -> bool:
    return any("MATCH" in s for s in statements)


def test_rows_where_expected_are_found_without_the_term_index(store: SqliteFhirStore) -> None:
    enrich(store, "d1", "c1", "c2")
    store.save_all([condition("plain")])
    keys = [("DocumentReference", "d1"), ("Condition", "c1"), ("Condition", "c2")]
    found, statements = lookups(store, [*keys, ("Condition", "plain")], [None, "d1", "d1", None])
    assert found == {
        ("DocumentReference", "d1"): ("DocumentReference", "d1", None, 1),
        ("Condition", "c1"): ("Condition", "c1", "d1", 1),
        ("Condition", "c2"): ("Condition", "c2", "d1", 1),
        ("Condition", "plain"): ("Condition", "plain", None, 1),
    }
    assert not _matched(statements)


def test_rows_elsewhere_or_absent_go_through_their_key_terms(store: SqliteFhirStore) -> None:
    enrich(store, "d1", "c1")
    store.save_all([condition("plain")])
    keys = [
        ("Condition", "c1"),  # generated from d1, expected under d2
        ("Condition", "plain"),  # of no document, expected under d2
        ("DocumentReference", "d1"),  # a document expected under d2
        ("Condition", "none"),  # nowhere
    ]
    found, statements = lookups(store, keys, ["d2", "d2", "d2", None])
    assert found == {
        ("Condition", "c1"): ("Condition", "c1", "d1", 1),
        ("Condition", "plain"): ("Condition", "plain", None, 1),
        ("DocumentReference", "d1"): ("DocumentReference", "d1", None, 1),
    }
    assert _matched(statements)
    # a generated row expected among rows of no document: found through its term
    found, _ = lookups(store, [("Condition", "c1")], [None])
    assert found == {("Condition", "c1"): ("Condition", "c1", "d1", 1)}


def test_a_key_twice_is_one_row(store: SqliteFhirStore) -> None:
    enrich(store, "d1", "c1")
    found, _ = lookups(store, [("Condition", "c1"), ("Condition", "c1")], ["d1", None])
    assert list(found) == [("Condition", "c1")]


def test_a_generated_resource_moves_to_another_document(store: SqliteFhirStore) -> None:
    enrich(store, "d1", "c1", "c2")
    enrich(store, "d2", "c1", code="R51")
    moved = store.read("Condition", "c1")
    assert moved is not None
    assert moved["meta"]["versionId"] == "2"
    assert moved["code"]["coding"][0]["code"] == "R51"
    assert store.generated_from("d1") == ["Condition/c2"]
    assert store.generated_from("d2") == ["Condition/c1"]
    with store.db.read() as conn:
        count = conn.execute("SELECT COUNT(*) FROM resources WHERE id = 'c1'").fetchone()[0]
    assert count == 1


def test_a_plain_resource_becomes_generated_and_keeps_its_versions(
    store: SqliteFhirStore,
) -> None:
    store.save_all([condition("c1")])
    enrich(store, "d1", "c1", code="R51")
    assert store.current_version("Condition", "c1") == ("2", False)
    assert store.generated_from("d1") == ["Condition/c1"]
    store.delete("DocumentReference", "d1")
    assert store.current_version("Condition", "c1") == ("3", True)
    assert store.current_version("DocumentReference", "d1") == ("2", True)


def test_reads_find_documents_and_generated_resources(store: SqliteFhirStore) -> None:
    enrich(store, "d1", "c1")
    document = store.read("DocumentReference", "d1")
    generated = store.read("Condition", "c1")
    assert document is not None
    assert document["id"] == "d1"
    assert generated is not None
    assert generated["id"] == "c1"
    assert store.read("Condition", "d1") is None
