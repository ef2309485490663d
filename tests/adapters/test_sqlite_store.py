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
from api.store.factory import open_store
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


# --------------------------------------------------------------------------- storage (issue 10)


def _statements(db: Any) -> Any:
    """Record the SQL statements the connection runs (``sqlite3`` trace callback)."""
    seen: list[str] = []
    with db.read() as conn:
        conn.set_trace_callback(seen.append)
    return seen


def test_an_unchanged_result_and_index_are_not_written_again(tmp_path: Path) -> None:
    db, store, index = open_store(str(tmp_path / "s.sqlite"), clock=FixedClock())
    try:
        state = NlpState(status="SUCCESS", text_hash="h", result={"Entities": ["x" * 5000]})
        row = IndexRow(operation="infer-icd10", entity_index=0, text="headache",
                       concept_index=0, concept_code="R51")  # fmt: skip
        base = {"resourceType": "DocumentReference", "id": "d1", "status": "current"}
        store.apply(EnrichmentWrite(base, rows=[row], state=state))
        seen = _statements(db)
        store.apply(EnrichmentWrite({**base, "status": "superseded"}, rows=[row], state=state))
        assert any(s.startswith("UPDATE nlp_documents SET status") for s in seen)
        assert not [s for s in seen if "result = " in s or "INTO nlp_rows" in s]
        kept = index.state("d1")
        assert kept is not None
        assert (kept.status, kept.text_hash, kept.result) == ("SUCCESS", "h", state.result)
        changed = NlpState(status="SUCCESS", text_hash="h2", result={"Entities": []})
        store.apply(EnrichmentWrite(base, rows=[], state=changed))
        found = index.state("d1")
        assert found is not None
        assert found.result == {"Entities": []}
        params = [("infer-icd10cm-entity-concept-code", "R51")]
        assert store.search("DocumentReference", params)["total"] == 0
    finally:
        db.close()


def test_generated_bodies_share_one_bundle_until_the_last_goes(tmp_path: Path) -> None:
    db, store, _ = open_store(str(tmp_path / "s.sqlite"), clock=FixedClock())
    try:
        doc = {"resourceType": "DocumentReference", "id": "d1", "status": "current"}
        generated = [
            {"resourceType": "Condition", "id": f"c{n}", "code": {"text": f"c{n}"}}
            for n in range(3)
        ]
        store.apply(EnrichmentWrite(doc, generated))
        with db.read() as conn:
            parts = conn.execute("SELECT bid, part, json FROM resources WHERE type = 'Condition'")
            assert {(r[1], r[2]) for r in parts} == {(0, None), (1, None), (2, None)}
            assert conn.execute("SELECT COUNT(*) FROM bodies").fetchone()[0] == 1
        assert store.read("Condition", "c2")["code"] == {"text": "c2"}  # type: ignore[index]
        store.apply(EnrichmentWrite(doc, [generated[0], {**generated[1], "code": {"text": "x"}}]))
        with db.read() as conn:  # c1 changed (alone: its own body), c2 retired, c0 kept
            assert conn.execute("SELECT COUNT(*) FROM bodies").fetchone()[0] == 1
        assert store.read("Condition", "c0")["code"] == {"text": "c0"}  # type: ignore[index]
        assert store.read("Condition", "c1")["code"] == {"text": "x"}  # type: ignore[index]
        store.delete("DocumentReference", "d1")
        with db.read() as conn:  # the last part gone: the bundle goes
            assert conn.execute("SELECT COUNT(*) FROM bodies").fetchone()[0] == 0
    finally:
        db.close()


def test_the_page_size_of_a_new_database(tmp_path: Path) -> None:
    path = tmp_path / "small.sqlite"
    db, _, _ = open_store(str(path), page_size=1024)
    db.close()
    db, _, _ = open_store(str(path), page_size=4096)  # an existing file keeps its own
    try:
        with db.read() as conn:
            assert conn.execute("PRAGMA page_size").fetchone()[0] == 1024
    finally:
        db.close()
