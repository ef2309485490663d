"""The store tests of ``tests/adapters/test_sqlite_store.py``, on the PostgreSQL store."""

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from api.store import postgres as pg
from api.store.base import EnrichmentWrite
from tests.adapters import test_sqlite_store
from tests.adapters.test_sqlite_store import *  # noqa: F403
from tests.adapters.test_sqlite_store import ROWS, condition, doc
from tests.fakes import FixedClock

# SQLite files, WAL and sqlite3 connections: replaced by the PostgreSQL versions below
del test_threads_share_one_database  # noqa: F821
del test_nested_transactions_are_savepoints  # noqa: F821


@pytest.fixture
def store(pg_url: str) -> Iterator[pg.PgFhirStore]:
    db = pg.Database(pg_url)
    yield pg.PgFhirStore(db, clock=FixedClock())
    db.close()


def test_threads_share_the_pool(pg_url: str) -> None:
    """6 threads, 4 pooled connections: writers wait for a connection, none fails."""
    db = pg.Database(pg_url, pool_size=4)
    store = pg.PgFhirStore(db)

    def enrich(n: int) -> int:
        write = EnrichmentWrite(document=doc(f"d{n}"), generated=[condition(f"c{n}")], rows=ROWS)
        store.apply(write)
        query = [("infer-icd10cm-entity-concept-code", "J02.0"), ("_summary", "count")]
        return int(store.search("DocumentReference", query)["total"])

    with ThreadPoolExecutor(max_workers=6) as pool:
        totals = list(pool.map(enrich, range(60)))
    assert max(totals) == 60
    db.close()
    other = pg.Database(pg_url)  # another handle (another process) sees the same rows
    with other.read() as conn:
        row = conn.execute("SELECT COUNT(*) FROM resources WHERE type = ?", ("Condition",))
        assert row.fetchone() == (60,)
    other.close()


def test_nested_transactions_are_savepoints_on_postgres(
    monkeypatch: pytest.MonkeyPatch, pg_url: str
) -> None:
    """The SQLite test itself, its ``Database(":memory:")`` being a PostgreSQL handle."""
    handles: list[pg.Database] = []

    def database(*_args: object, **_kwargs: object) -> pg.Database:
        handles.append(pg.Database(pg_url))
        return handles[-1]

    monkeypatch.setattr(test_sqlite_store, "Database", database)
    test_sqlite_store.test_nested_transactions_are_savepoints()
    assert len(handles) == 1
    handles[0].close()
