"""A database written by the release before schema version 1 opens, is upgraded, and answers
as that release did (``tests/fixtures/store_v0``: made by that release, see make_fixture.py).

Both backends: the SQLite file as written, the PostgreSQL dump restored into a fresh schema.
"""

from __future__ import annotations

import gzip
import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from api.store.base import EnrichmentWrite, NlpState, StoreError
from api.store.factory import open_store
from api.store.sqlite_schema import SCHEMA_VERSION
from tests.fakes import FixedClock
from tests.fixtures.store_v0.make_fixture import QUERIES, answers, digest
from tests.pg.conftest import pg_server, pg_url

__all__ = ["pg_server", "pg_url"]

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "store_v0"
EXPECTED: dict[str, Any] = json.loads((FIXTURE / "expected.json").read_text("utf-8"))


def _sqlite(tmp_path: Path) -> str:
    path = tmp_path / "service.sqlite"
    path.write_bytes(gzip.decompress((FIXTURE / "service.sqlite.gz").read_bytes()))
    return str(path)


def _postgres(url: str) -> str:
    script = gzip.decompress((FIXTURE / "postgres.sql.gz").read_bytes()).decode()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(script)  # type: ignore[call-overload]
    return url


@pytest.fixture(params=["sqlite", "postgres"])
def old_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of a database of schema version 0 (written by the release before)."""
    if request.param == "postgres":
        yield _postgres(str(request.getfixturevalue("pg_url")))
    else:
        yield _sqlite(tmp_path)


def test_the_fixture_is_of_version_0(tmp_path: Path) -> None:
    conn = sqlite3.connect(_sqlite(tmp_path))
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert conn.execute("PRAGMA user_version").fetchone() == (0,)
    conn.close()
    assert {"nlp_index", "search_token", "resources", "history"} <= tables
    assert len(EXPECTED["search"]) == len(QUERIES)


def test_an_old_database_answers_as_before_after_the_upgrade(old_database: str) -> None:
    db, store, index = open_store(old_database, clock=FixedClock())
    try:
        found = answers(store, index)
        for n, (query, want) in enumerate(zip(QUERIES, EXPECTED["search"], strict=True)):
            assert found["search"][n] == want, query
        for key in ("read", "history", "state", "generated", "conditions"):
            assert found[key] == EXPECTED[key], key
        postgres = old_database.startswith("postgresql")
        with db.read() as conn:  # version 1, its tables, none of version 0
            version = "SELECT version FROM docref_version" if postgres else "PRAGMA user_version"
            assert tuple(conn.execute(version).fetchone()) == (SCHEMA_VERSION,)
            assert conn.execute("SELECT COUNT(*) FROM nlp_rows").fetchone()[0] > 0
            for table in ("nlp_index", "search_token_v0", "nlp_index_v0"):
                exists = (
                    "SELECT to_regclass(?)"
                    if postgres
                    else "SELECT (SELECT name FROM sqlite_master WHERE name = ?)"
                )
                assert tuple(conn.execute(exists, (table,)).fetchone()) == (None,), table
    finally:
        db.close()


def test_the_upgrade_runs_once_and_the_store_keeps_working(old_database: str) -> None:
    db, store, index = open_store(old_database, clock=FixedClock())
    db.close()
    db, store, index = open_store(old_database, clock=FixedClock())  # already upgraded
    try:
        assert store.read("DocumentReference", "d1") is not None
        store.delete("DocumentReference", "d1")  # a document with its generated resources
        assert store.generated_from("d1") == []
        assert index.state("d1") is None
        params = [("infer-icd10cm-entity-concept-code", "H66.90")]
        assert store.search("DocumentReference", params)["total"] == 0
        d3 = store.read("DocumentReference", "d3")
        assert d3 is not None
        state = NlpState("SUCCESS", text_hash="h", engine_name="e", engine_version="1")
        store.apply(EnrichmentWrite(document={**d3, "status": "superseded"}, state=state))
        assert store.generated_from("d3") == []  # no longer generated: retired
        assert store.current_version("DocumentReference", "d3") == ("2", False)
        assert [h.version_id for h in store.history("DocumentReference", "d3")] == ["2", "1"]
        old = store.vread("DocumentReference", "d3", "1")
        assert old is not None
        assert digest(old) == EXPECTED["read"]["DocumentReference/d3"]
    finally:
        db.close()


def test_a_database_of_a_newer_version_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "new.sqlite"
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(StoreError, match=r"\[NLP530\] .*schema version 2"):
        open_store(str(path))
