"""Store contract fixtures: every test runs on the embedded SQLite store and on PostgreSQL."""

from __future__ import annotations

from tests.pg.conftest import pg_server, pg_url

__all__ = ["pg_server", "pg_url"]
