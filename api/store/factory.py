"""open_store(db_path): the service database, store and NLP index for a SQLite path or a URL."""

from __future__ import annotations

from api.clock import Clock, utc_now
from api.store.base import Database, NlpIndex, ServiceStore
from api.store.dsn import is_postgres_url

#: The service database handle, the store on it, and the NLP index in the same database.
OpenStore = tuple[Database, ServiceStore, NlpIndex]


def open_store(
    db_path: str,
    *,
    clock: Clock = utc_now,
    base_url: str = "",
    generated_history: bool = False,
    page_size: int | None = None,
    secure_delete: str | None = None,
) -> OpenStore:
    """PostgreSQL for a ``postgresql://`` URL (D10), else the SQLite file (or ``:memory:``).

    Both backends answer the same Protocols (``Database``, ``ServiceStore``, ``NlpIndex``).
    ``generated_history``: keep every version of generated resources (``api.store.sql``);
    ``page_size``: of a new SQLite file, ``secure_delete``: its ``PRAGMA secure_delete``
    (``api.store.database``; PostgreSQL has neither).
    """
    if is_postgres_url(db_path):
        from api.store.postgres import Database as PgDatabase
        from api.store.postgres import PgFhirStore, PgNlpIndex

        pg = PgDatabase(db_path)
        pg_index = PgNlpIndex(pg, clock=clock)
        store = PgFhirStore(
            pg, index=pg_index, clock=clock, base_url=base_url, generated_history=generated_history
        )
        return pg, store, pg_index
    from api.store.database import SECURE_DELETE
    from api.store.sqlite import Database, SqliteFhirStore, SqliteNlpIndex

    db = Database(db_path, page_size=page_size, secure_delete=secure_delete or SECURE_DELETE)
    index = SqliteNlpIndex(db, clock=clock)
    sqlite_store = SqliteFhirStore(
        db, index=index, clock=clock, base_url=base_url, generated_history=generated_history
    )
    return db, sqlite_store, index
