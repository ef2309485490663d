"""What one SQLite commit writes: the term index (FTS5) gets one segment per enrichment, its
NLP rows and its resources written in ascending rowid order; freed pages are not zeroed into
the WAL (``secure_delete = FAST``) unless asked."""

from __future__ import annotations

import random
import sqlite3
from pathlib import Path

import pytest

from api.settings import Settings
from api.store.base import EnrichmentWrite, NlpState, StoreError
from api.store.database import PAGE_SIZE, SECURE_DELETE
from api.store.sqlite import Database, SqliteFhirStore
from api.store.sqlite_schema import reindex
from tests.adapters.test_sqlite_store import ROWS, condition, doc
from tests.fakes import FixedClock


def _segments(conn: sqlite3.Connection) -> int:
    """Segments of the term index (``search_terms_data`` rows above 10 are segment pages,
    their id's high bits the segment's id)."""
    found: int = conn.execute(
        "SELECT COUNT(DISTINCT id >> 37) FROM search_terms_data WHERE id > 10"
    ).fetchone()[0]
    return found


def _codes(store: SqliteFhirStore, resource_type: str, code: str) -> list[str]:
    bundle = store.search(resource_type, [("code", code)])
    return sorted(e["resource"]["id"] for e in bundle.get("entry", []))


def _write(doc_id: str, *codes: str) -> EnrichmentWrite:
    return EnrichmentWrite(
        doc(doc_id),
        generated=[condition(f"{doc_id}-{n}", code) for n, code in enumerate(codes)],
        rows=ROWS,
        state=NlpState(status="SUCCESS", result={"Entities": []}),
    )


def test_an_enrichment_writes_one_segment_of_terms(tmp_path: Path) -> None:
    store = SqliteFhirStore(Database(tmp_path / "s.sqlite"), clock=FixedClock())
    try:
        store.apply(_write("d1", "R51", "R52"))
        with store.db.read() as conn:
            assert _segments(conn) == 1  # NLP terms (-dkey) and resources' (rid): one run
        # a re-enrichment removes and writes terms of the same rows: still one more segment
        store.apply(_write("d1", "R53", "R52"))
        with store.db.read() as conn:
            assert _segments(conn) == 2
        assert _codes(store, "Condition", "R53") == ["d1-0"]
        assert _codes(store, "Condition", "R51") == []
        assert store.index.find([]) == {"d1"}
    finally:
        store.db.close()


def test_reindex_writes_one_segment_and_finds_the_same(tmp_path: Path) -> None:
    store = SqliteFhirStore(Database(tmp_path / "s.sqlite"), clock=FixedClock())
    try:
        for n in range(5):
            store.apply(_write(f"d{n}", f"R5{n}"))
        before = [_codes(store, "Condition", f"R5{n}") for n in range(5)]
        found = store.index.find([])
        with store.db.transaction() as conn:
            reindex(conn)
        with store.db.read() as conn:
            assert _segments(conn) == 1
        assert [_codes(store, "Condition", f"R5{n}") for n in range(5)] == before
        assert before == [[f"d{n}-0"] for n in range(5)]
        assert store.index.find([]) == found == {f"d{n}" for n in range(5)}
    finally:
        store.db.close()


def _wal_after_freeing(tmp_path: Path, name: str, secure_delete: str) -> tuple[int, int]:
    """WAL pages of the commits that replace a large body, delete it and free its pages (its
    history row's), and the connection's ``secure_delete``."""
    db = Database(tmp_path / name, checkpoint_interval_s=0, secure_delete=secure_delete)
    store = SqliteFhirStore(db, clock=FixedClock())
    try:
        db.pause_checkpoints()
        noise = random.Random(0).randbytes(100_000).hex()  # ~100 KB compressed: 25 pages
        big = doc("d1") | {"text": {"div": noise}}
        store.save_all([big])
        wal = Path(f"{tmp_path / name}-wal")
        before = wal.stat().st_size
        store.save_all([doc("d1")])  # the old body moves to history (its pages stay)
        store.delete("DocumentReference", "d1")
        with db.transaction() as conn:
            conn.execute("DELETE FROM history")  # frees the big body's overflow pages
        with db.read() as conn:
            mode: int = conn.execute("PRAGMA secure_delete").fetchone()[0]
            size = conn.execute("PRAGMA page_size").fetchone()[0]
            pages = (wal.stat().st_size - before) // size
        return pages, mode
    finally:
        db.close()


def test_freed_pages_are_not_written_zeroed_unless_asked(tmp_path: Path) -> None:
    fast, fast_mode = _wal_after_freeing(tmp_path, "fast.sqlite", SECURE_DELETE)
    on, on_mode = _wal_after_freeing(tmp_path, "on.sqlite", "on")
    assert (fast_mode, on_mode) == (2, 1)  # FAST, ON: whatever SQLite's build chose
    assert on - fast > 40  # ON wrote the freed overflow pages (~50 of 2 KB), zeroed


def test_an_unknown_secure_delete_is_a_coded_error() -> None:
    with pytest.raises(StoreError, match="NLP530"):
        Database(":memory:", secure_delete="sometimes")


def test_a_new_file_has_pages_of_2_kb_as_the_settings_say(tmp_path: Path) -> None:
    assert PAGE_SIZE == Settings().sqlite_page_size == 2048
    db = Database(tmp_path / "new.sqlite")
    try:
        SqliteFhirStore(db, clock=FixedClock()).save_all([doc("d1")])
        with db.read() as conn:
            assert conn.execute("PRAGMA page_size").fetchone()[0] == 2048
    finally:
        db.close()


@pytest.mark.parametrize(("setting", "mode"), [(None, 2), ("ON", 1), ("OFF", 0)])
def test_the_service_store_takes_secure_delete_from_its_settings(
    tmp_path: Path, setting: str | None, mode: int
) -> None:
    from api.bootstrap import open_service_store

    environ = {"DOCREF_NLP_DB_PATH": str(tmp_path / "s.sqlite")}
    if setting is not None:
        environ["DOCREF_NLP_SQLITE_SECURE_DELETE"] = setting
    settings = Settings.from_env(environ=environ)
    db, _, _ = open_service_store(settings)
    try:
        with db.read() as conn:
            assert conn.execute("PRAGMA secure_delete").fetchone()[0] == mode
    finally:
        db.close()
