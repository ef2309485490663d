"""SqliteFhirStore / SqliteNlpIndex / Database: versions, atomic enrichment writes, threads, WAL."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path
from typing import Any

import pytest

from api.search import parse_search
from api.store.base import (
    AtomicEnrichmentStore,
    EnrichmentWrite,
    FhirStore,
    NlpIndex,
    NlpState,
    ResourceGone,
    VersionConflict,
)
from api.store.sqlite import Database, SqliteFhirStore
from enrich.index import IndexRow
from tests.fakes import FixedClock


@pytest.fixture
def store() -> SqliteFhirStore:
    return SqliteFhirStore(Database(":memory:"), clock=FixedClock())


def doc(doc_id: str, status: str = "current", patient: str = "p1") -> dict[str, Any]:
    return {
        "resourceType": "DocumentReference",
        "id": doc_id,
        "status": status,
        "subject": {"reference": f"Patient/{patient}"},
    }


def condition(cid: str, code: str = "J02.0") -> dict[str, Any]:
    return {
        "resourceType": "Condition",
        "id": cid,
        "subject": {"reference": "Patient/p1"},
        "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": code}]},
    }


def row(operation: Any, text: str, code: str, description: str, score: float) -> IndexRow:
    return IndexRow(
        operation=operation,
        entity_index=0,
        text=text,
        score=0.9,
        concept_index=0,
        concept_code=code,
        concept_description=description,
        concept_score=score,
    )


ROWS = [
    row("infer-icd10", "Strep throat", "J02.0", "Strep", 0.56),
    row("infer-rxnorm", "amoxicillin", "723", "amoxicillin", 0.8),
]


def test_protocols(store: SqliteFhirStore) -> None:
    assert isinstance(store, FhirStore)
    assert isinstance(store, AtomicEnrichmentStore)
    assert isinstance(store.index, NlpIndex)


def test_versions_meta_and_noop(store: SqliteFhirStore) -> None:
    (v1,) = store.save_all([doc("d1")])
    assert v1["meta"]["versionId"] == "1"
    assert list(v1)[:3] == ["resourceType", "id", "meta"]
    (same,) = store.save_all([doc("d1")])
    assert same["meta"]["versionId"] == "1"  # identical content: no new version
    (v2,) = store.save_all([doc("d1", status="superseded")])
    assert v2["meta"]["versionId"] == "2"
    assert v2["meta"]["lastUpdated"] > v1["meta"]["lastUpdated"]
    assert store.read("DocumentReference", "d1") == v2
    assert store.vread("DocumentReference", "d1", "1") == v1
    assert [h.version_id for h in store.history("DocumentReference", "d1")] == ["2", "1"]
    assert store.delete("DocumentReference", "d1") == "3"
    assert store.read("DocumentReference", "d1") is None
    with pytest.raises(ResourceGone):
        store.vread("DocumentReference", "d1", "3")
    assert store.current_version("DocumentReference", "d1") == ("3", True)
    assert store.vread("DocumentReference", "d1", "2") == v2  # body kept when deleted
    assert [h.resource for h in store.history("DocumentReference", "d1")] == [None, v2, v1]
    with store.db.read() as conn:  # each body is stored once: current ones only in resources
        stored_twice = conn.execute(
            "SELECT COUNT(*) FROM history h JOIN resources r USING (type, id, version_id) "
            "WHERE h.json IS NOT NULL"
        ).fetchone()[0]
    assert stored_twice == 0
    (v4,) = store.save_all([doc("d1")])
    assert v4["meta"]["versionId"] == "4"


def test_apply_writes_everything_and_retires(store: SqliteFhirStore) -> None:
    write = EnrichmentWrite(
        document=doc("d1"),
        generated=[condition("c1"), condition("c2", "R51")],
        rows=ROWS,
        state=NlpState("SUCCESS", "h1", "fake", "1", {"InferICD10CM": {"Entities": []}}),
    )
    stored = store.apply(write)
    assert [r["id"] for r in stored] == ["d1", "c1", "c2"]
    assert store.generated_from("d1") == ["Condition/c1", "Condition/c2"]
    state = store.index.state("d1")
    assert state is not None
    assert (state.status, state.text_hash, state.result) == (
        "SUCCESS",
        "h1",
        {"InferICD10CM": {"Entities": []}},
    )
    # second run produces only c2: c1 is deleted even without an explicit ``retired``
    store.apply(EnrichmentWrite(document=doc("d1"), generated=[condition("c2", "R51")], rows=[]))
    assert store.generated_from("d1") == ["Condition/c2"]
    assert store.read("Condition", "c1") is None
    assert store.index.find([]) == {"d1"}


def test_apply_if_match_conflict_writes_nothing(store: SqliteFhirStore) -> None:
    store.apply(EnrichmentWrite(document=doc("d1"), generated=[condition("c1")], rows=ROWS))
    with pytest.raises(VersionConflict):
        store.apply(
            EnrichmentWrite(
                document=doc("d1", status="superseded"),
                generated=[condition("c9")],
                rows=[],
                if_match="7",
            )
        )
    current = store.read("DocumentReference", "d1")
    assert current is not None
    assert current["status"] == "current"
    assert store.read("Condition", "c9") is None
    assert store.generated_from("d1") == ["Condition/c1"]


def test_apply_is_atomic_on_failure(store: SqliteFhirStore) -> None:
    bad = {"resourceType": "Condition"}  # no id: the store refuses it mid-transaction
    with pytest.raises(Exception, match="NLP422"):
        store.apply(
            EnrichmentWrite(document=doc("d1"), generated=[condition("c1"), bad], rows=ROWS)
        )
    assert store.read("DocumentReference", "d1") is None
    assert store.read("Condition", "c1") is None
    assert store.index.find([]) == set()


def test_delete_document_cascades(store: SqliteFhirStore) -> None:
    store.apply(
        EnrichmentWrite(document=doc("d1"), generated=[condition("c1")], rows=ROWS,
                        state=NlpState("SUCCESS"))
    )  # fmt: skip
    store.delete("DocumentReference", "d1")
    assert store.read("Condition", "c1") is None
    assert store.index.state("d1") is None
    assert store.index.find([]) == set()


def test_index_find_and_replace(store: SqliteFhirStore) -> None:
    index = store.index
    index.replace("a", ROWS, state=NlpState("SUCCESS"))
    index.replace("b", ROWS[:1], state=NlpState("SUCCESS"))
    crit = parse_search(
        "DocumentReference", [("infer-rxnorm-entity-text-concept-score", "amox|0.8")]
    )
    assert index.find(crit.nlp) == {"a"}
    crit = parse_search("DocumentReference", [("infer-icd10cm-entity-text", "STREP")])
    assert index.find(crit.nlp) == {"a", "b"}
    index.replace("a", [])
    assert (
        index.find(
            parse_search("DocumentReference", [("infer-rxnorm-entity-concept-code", "723")]).nlp
        )
        == set()
    )
    index.remove("b")
    assert index.state("b") is None


def test_standard_search_and_includes(store: SqliteFhirStore) -> None:
    store.apply(EnrichmentWrite(document=doc("d1"), generated=[condition("c1")], rows=ROWS))
    store.apply(EnrichmentWrite(document=doc("d2", patient="p2"), generated=[], rows=[]))
    bundle = store.search(
        "DocumentReference", [("patient", "p1"), ("_include", "DocumentReference:nlp-generated")]
    )
    modes = [(e["resource"]["id"], e["search"]["mode"]) for e in bundle["entry"]]
    assert modes == [("d1", "match"), ("c1", "include")]
    bundle = store.search(
        "Condition", [("derived-from", "DocumentReference/d1"), ("code", "J02.0")]
    )
    assert bundle["total"] == 1
    assert store.ids(parse_search("DocumentReference", [("status", "current")])) == ["d1", "d2"]


def test_threads_share_one_database(tmp_path: Path) -> None:
    db = Database(tmp_path / "t.sqlite")
    store = SqliteFhirStore(db)
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            for i in range(20):
                store.apply(
                    EnrichmentWrite(
                        document=doc(f"d{n}-{i}"), generated=[condition(f"c{n}-{i}")], rows=ROWS
                    )
                )
                store.search("DocumentReference", [("infer-icd10cm-entity-concept-code", "J02.0")])
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert store.search("DocumentReference", [("_summary", "count")])["total"] == 120
    with db.read() as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    db.close()
    # another process/connection sees the same file
    other = sqlite3.connect(tmp_path / "t.sqlite")
    assert (
        other.execute("SELECT COUNT(*) FROM resources WHERE type = 'Condition'").fetchone()[0]
        == 120
    )
    other.close()


def test_nested_transactions_are_savepoints() -> None:
    db = Database(":memory:")
    db.executescript("CREATE TABLE IF NOT EXISTS t (x INTEGER)")
    with db.transaction() as conn:
        conn.execute("INSERT INTO t VALUES (1)")
        with pytest.raises(RuntimeError), db.transaction() as inner:  # noqa: PT012
            inner.execute("INSERT INTO t VALUES (2)")
            raise RuntimeError("inner fails")
        conn.execute("INSERT INTO t VALUES (3)")
    with db.read() as conn:
        assert [r[0] for r in conn.execute("SELECT x FROM t ORDER BY x")] == [1, 3]
