"""A group of SQLite writes with its term-index writes kept to its end
(``SqliteFhirStore.deferred_terms``, the batch store sink's groups): one FTS5 segment for the
group, the same rows, terms and answers as the same writes one transaction each; a savepoint
rolled back leaves no terms; the group finds the rows it inserted by key."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from api.store.base import EnrichmentWrite, NlpState, StoreError, VersionConflict
from api.store.deferred import buffer_of
from api.store.sqlite import Database, SqliteFhirStore
from tests.adapters.test_sqlite_store import ROWS, condition, doc
from tests.adapters.test_store_wal import _codes, _segments
from tests.fakes import FixedClock

Step = Callable[[SqliteFhirStore], object]


def _write(
    doc_id: str, *conditions: tuple[str, str], if_match: str | None = None, broken: bool = False
) -> Step:
    def step(store: SqliteFhirStore) -> object:
        generated = [condition(cid, code) for cid, code in conditions]
        if broken:  # a generated resource without id: refused after the NLP rows are written
            generated.append({"resourceType": "Condition"})
        write = EnrichmentWrite(
            doc(doc_id),
            generated=generated,
            rows=ROWS,
            state=NlpState(status="SUCCESS", result={"Entities": [doc_id]}),
        )
        write.if_match = if_match
        try:
            return store.apply(write)
        except (VersionConflict, StoreError):  # its savepoint is rolled back; the group goes on
            return None

    return step


def _read(resource_type: str, resource_id: str, into: list[object]) -> Step:
    def step(store: SqliteFhirStore) -> object:
        found = store.read(resource_type, resource_id)
        into.append(None if found is None else (found["id"], found["meta"]["versionId"]))
        return found

    return step


def _content(conn: sqlite3.Connection) -> list[str]:
    """Every row of every table, and the term index's content (through ``fts5vocab``)."""
    tables = [
        r[0]
        for r in conn.execute(
            "SELECT name FROM sqlite_schema WHERE type = 'table' "
            "AND name NOT LIKE 'search_terms%' ORDER BY name"
        )
    ]
    found = [
        f"{t} {r}" for t in tables for r in sorted(map(tuple, conn.execute(f"SELECT * FROM {t}")))
    ]
    conn.execute(
        "CREATE VIRTUAL TABLE IF NOT EXISTS temp.v USING fts5vocab(main, search_terms, instance)"
    )
    found += [
        f"term {tuple(r)}" for r in conn.execute("SELECT term, doc FROM temp.v ORDER BY 1, 2")
    ]
    return found


def _run(path: Path, steps: Sequence[Step], *, grouped: bool) -> tuple[list[str], int, list[str]]:
    """Run ``steps`` in one deferred group (or one transaction each): the store's content,
    the term-index segments the steps added, the Condition ids found by code R51."""
    store = SqliteFhirStore(Database(path), clock=FixedClock())
    try:
        _write("before", ("c-old", "R51"))(store)
        with store.db.read() as conn:
            segments = _segments(conn)
        if grouped:
            with store.transaction(), store.deferred_terms():
                for step in steps:
                    step(store)
        else:
            for step in steps:
                step(store)
        with store.db.read() as conn:
            assert buffer_of(conn) is None
            return _content(conn), _segments(conn) - segments, _codes(store, "Condition", "R51")
    finally:
        store.db.close()


def _both(
    tmp_path: Path, steps: Sequence[Step], segments: int = 1
) -> tuple[list[str], int, list[str]]:
    alone = _run(tmp_path / "alone.sqlite", steps, grouped=False)
    grouped = _run(tmp_path / "grouped.sqlite", steps, grouped=True)
    assert grouped[0] == alone[0]  # every row and every term
    assert grouped[2] == alone[2]
    assert grouped[1] == segments < alone[1]
    return grouped


def test_a_group_writes_one_segment_and_the_same_rows_and_terms(tmp_path: Path) -> None:
    steps = [_write(f"d{n}", (f"d{n}-c", "R51"), (f"d{n}-k", "R52")) for n in range(5)]
    content, _, found = _both(tmp_path, steps)
    assert found == ["c-old", "d0-c", "d1-c", "d2-c", "d3-c", "d4-c"]
    assert any(line.startswith("term ") for line in content)


def test_a_document_rolled_back_in_a_group_leaves_no_terms(tmp_path: Path) -> None:
    steps = [
        _write("d1", ("d1-c", "R51")),
        _write("d2", ("d2-c", "R51"), broken=True),  # fails after its NLP rows: rolled back
        _write("d3", ("d3-c", "R51"), if_match="7"),  # not at version 7: rolled back
        _write("d4", ("d4-c", "R51")),
    ]
    content, _, found = _both(tmp_path, steps)  # the same terms as SQLite's own rollback left
    assert found == ["c-old", "d1-c", "d4-c"]
    assert not [line for line in content if "'d2" in line or "'d3" in line]


def test_a_group_finds_by_key_what_it_inserted_moved_or_deleted(tmp_path: Path) -> None:
    seen: list[object] = []
    steps = [
        _write("d1", ("shared", "R51"), ("last", "R52")),
        _read("Condition", "shared", seen),
        _write("d2", ("shared", "R51")),  # the row d1 inserted, found by key: version 2
        _read("Condition", "shared", seen),
        _write("d1", ("other", "R51")),  # retires d1's "last" (the highest rid)...
        _write("d3", ("fresh", "R52")),  # ...which a new row may take
        _read("Condition", "last", seen),
        _read("Condition", "fresh", seen),
        _write("before", ("c-old", "R51"), ("last", "R51")),  # "last" again, elsewhere
        _read("Condition", "last", seen),
    ]
    # rows the group wrote and then removed: FTS5 ends a segment at a removal of a row it
    # holds in memory (terms kept in rowid order, the group's own removals after its additions)
    _both(tmp_path, steps, segments=2)
    half = len(seen) // 2
    assert seen[:half] == seen[half:]  # the same answers alone and grouped
    assert seen[:half] == [("shared", "1"), ("shared", "2"), None, ("fresh", "1"), ("last", "3")]


def test_an_error_out_of_the_group_rolls_it_all_back(tmp_path: Path) -> None:
    store = SqliteFhirStore(Database(tmp_path / "s.sqlite"), clock=FixedClock())
    try:

        def failing() -> None:
            with store.transaction(), store.deferred_terms():
                _write("d1", ("d1-c", "R51"))(store)
                raise StoreError("disk full")

        with pytest.raises(StoreError, match="disk"):
            failing()
        with store.db.read() as conn:
            assert buffer_of(conn) is None
            assert _segments(conn) == 0
        assert store.read("DocumentReference", "d1") is None
        _write("d2", ("d2-c", "R51"))(store)  # written at once again
        with store.db.read() as conn:
            assert _segments(conn) == 1
        assert _codes(store, "Condition", "R51") == ["d2-c"]
    finally:
        store.db.close()


def test_deferred_terms_need_a_transaction(tmp_path: Path) -> None:
    db = Database(tmp_path / "s.sqlite")
    try:
        with pytest.raises(StoreError, match="transaction"), db.deferred_terms():
            pass
    finally:
        db.close()
