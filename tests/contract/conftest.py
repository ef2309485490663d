"""Store contract fixtures: every test runs on the embedded SQLite store and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from api.store.dsn import is_postgres_url
from api.store.factory import open_store
from tests.fakes import FixedClock
from tests.pg.conftest import pg_server, pg_url

__all__ = ["pg_server", "pg_url"]

BACKENDS = ["sqlite", "postgres"]


@dataclass
class Backend:
    name: str
    url: str
    db: Any
    store: Any
    index: Any
    clock: FixedClock


def open_backend(url: str, clock: FixedClock | None = None) -> Backend:
    """A store on ``url`` (a PostgreSQL URL or a SQLite path); also used in child processes."""
    clock = clock or FixedClock()
    db, store, index = open_store(url, clock=clock)
    return Backend("postgres" if is_postgres_url(url) else "sqlite", url, db, store, index, clock)


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    if request.param == "postgres":
        url = str(request.getfixturevalue("pg_url"))
    else:
        url = str(tmp_path / "svc.sqlite")  # a file: other processes can share it
    opened = open_backend(url)
    yield opened
    opened.db.close()
