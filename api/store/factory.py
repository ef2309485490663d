"""open_store(db_path): the service database, store and NLP index for a SQLite path or a URL."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

from api.store.sqlite_index import utc_now


def is_postgres_url(db_path: str) -> bool:
    """Whether ``db_path`` (``DOCREF_NLP_DB_PATH``) names a PostgreSQL database.

    >>> is_postgres_url("postgresql://docref@db/docref"), is_postgres_url("/var/lib/x.sqlite")
    (True, False)
    """
    return db_path.startswith(("postgresql://", "postgres://"))


def redact_url(db_path: str) -> str:
    """``db_path`` without a URL's password (for logs and errors).

    >>> redact_url("postgresql://u:secret@h:5432/db"), redact_url("/var/lib/x.sqlite")
    ('postgresql://u:***@h:5432/db', '/var/lib/x.sqlite')
    """
    return re.sub(r"^(\w+://[^:/@]+):[^@]*@", r"\1:***@", db_path)


def open_store(
    db_path: str, *, clock: Callable[[], datetime] = utc_now, base_url: str = ""
) -> tuple[Any, Any, Any]:
    """``(db, store, index)``: PostgreSQL for a ``postgresql://`` URL, else the SQLite file.

    Both stores have the same API (``SqliteFhirStore`` / ``PgFhirStore``); ``db`` has
    ``transaction()``, ``read()``, ``executescript()`` and ``close()`` on both.
    """
    if is_postgres_url(db_path):
        from api.store.postgres import Database as PgDatabase
        from api.store.postgres import PgFhirStore, PgNlpIndex

        pg = PgDatabase(db_path)
        pg_index = PgNlpIndex(pg, clock=clock)
        return pg, PgFhirStore(pg, index=pg_index, clock=clock, base_url=base_url), pg_index
    from api.store.sqlite import Database, SqliteFhirStore, SqliteNlpIndex

    db = Database(db_path)
    index = SqliteNlpIndex(db, clock=clock)
    return db, SqliteFhirStore(db, index=index, clock=clock, base_url=base_url), index
