"""``bench-e2e --floor``: the write path's SQL is recorded and replayed as it ran, and the
floors add up; ``--again``: stored notes are processed once more under a new engine version."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from api.store.database import Database
from cli.bench.e2e import again
from cli.bench.floor import floor, recording, replay_cpu_s, sql_floor_ms
from cli.bench.notes import document
from cli.bench.services import open_services
from tests.fakes import FakeEngine

NOTES = ["Patient has a headache.", "Takes aspirin daily.", "No complaints today."]
TABLES = ("resources", "history", "nlp_documents", "nlp_rows", "bodies", "search_date")


def _contents(path: Path) -> dict[str, list[tuple[object, ...]]]:
    conn = sqlite3.connect(path)
    try:
        return {t: conn.execute(f"SELECT * FROM {t} ORDER BY 1, 2").fetchall() for t in TABLES}
    finally:
        conn.close()


def test_recorded_statements_replayed_on_a_new_database_write_the_same_rows(
    tmp_path: Path,
) -> None:
    services = open_services(str(tmp_path / "a.sqlite"), engine=FakeEngine())
    try:
        documents = services.documents()
        with recording(services.db) as recorded:
            for i, text in enumerate(NOTES):
                documents.process(document(text, f"d-{i}"), skip_unchanged=False)
    finally:
        services.close()
    kinds = [sql.split()[0] for _, sql, _ in recorded.statements]
    assert kinds.count("COMMIT") == len(NOTES)
    assert any(many for many, _, _ in recorded.statements)  # executemany kept its rows

    replay = open_services(str(tmp_path / "b.sqlite"), engine=FakeEngine())
    try:
        with replay.db.read() as conn:
            assert replay_cpu_s(conn, recorded.statements) > 0
    finally:
        replay.close()
    written = _contents(tmp_path / "a.sqlite")
    assert written["resources"]  # the notes were written, and the replay wrote the same
    assert _contents(tmp_path / "b.sqlite") == written


def test_recording_gives_the_connection_back(tmp_path: Path) -> None:
    db = Database(tmp_path / "c.sqlite", checkpoint_interval_s=0)
    try:
        with recording(db) as recorded, db.read() as conn:
            conn.execute("SELECT 1").fetchall()
        assert recorded.statements == [(False, "SELECT 1", ())]
        with db.read() as conn:
            assert isinstance(conn, sqlite3.Connection)
    finally:
        db.close()


def test_the_floors_add_up_and_bound_the_share_of_the_nlp_rate(tmp_path: Path) -> None:
    assert sql_floor_ms(FakeEngine(), NOTES, tmp_path)["statements_per_note"] > 3
    report = floor(FakeEngine(), NOTES, tmp_path, nlp_ms=2.0)
    parts = report["sql_ms"] + report["tree_ms"] + report["encode_ms"]
    assert report["floor_ms"] == parts
    assert all(report[k] > 0 for k in ("sql_ms", "tree_ms", "encode_ms"))
    assert report["best_share_of_nlp_rate"] == 2.0 / (2.0 + parts)
    assert report["best_docs_per_cpu_s"] == 1000 / (2.0 + parts)


def test_stored_notes_are_processed_again_under_a_new_engine_version(tmp_path: Path) -> None:
    engine = FakeEngine()
    figures = again(engine, NOTES, tmp_path / "again.sqlite")
    assert figures["cpu_ms"] >= figures["non_nlp_cpu_ms"] > 0
    services = open_services(str(tmp_path / "again.sqlite"), engine=engine)
    try:
        stored = services.store.read("DocumentReference", "a-00000")
        assert stored is not None
        assert stored["meta"]["versionId"] == "2"  # written over the first enrichment
    finally:
        services.close()
