"""A real PostgreSQL for the tests (initdb in a temp dir); the API fixtures on top of it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.store.postgres import PgFhirStore
from cli.bench.pgserver import (
    ServerUnavailable,
    TempServer,
    fresh_schema,
    shared_server,
    stop_shared,
)
from tests.api.conftest import clock, corpus, engine, make_settings
from tests.fakes import FakeEngine, FixedClock

__all__ = ["clock", "corpus", "engine"]


@pytest.fixture(scope="session")
def pg_server() -> Iterator[TempServer]:
    """The session's server, stopped at the end (skips when PostgreSQL is not installed)."""
    try:
        server = shared_server()
    except ServerUnavailable as exc:
        pytest.skip(f"PostgreSQL not available: {exc}")
    yield server
    stop_shared()


@pytest.fixture
def pg_url(pg_server: TempServer) -> Iterator[str]:
    """A URL whose ``search_path`` is a fresh, empty schema (dropped afterwards)."""
    with fresh_schema(pg_server) as url:
        yield url


@pytest.fixture(scope="module")
def pg_module_url(pg_server: TempServer) -> Iterator[str]:
    """Like ``pg_url``, one schema for a whole module."""
    with fresh_schema(pg_server) as url:
        yield url


@pytest.fixture
def client(engine: FakeEngine, clock: FixedClock, pg_url: str) -> Iterator[TestClient]:
    """The service on PostgreSQL (``db_path`` is the URL)."""
    app = create_app(make_settings(db_path=pg_url), engine=engine, clock=clock)
    with TestClient(app, raise_server_exceptions=False) as test_client:
        assert isinstance(app.state.store, PgFhirStore)
        yield test_client
