"""SqliteSearch: FHIR search over the SQLite store (one page, the total, includes, one snapshot)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from typing import Any

from api.store.base import Resource, SearchResult
from api.store.database import Database
from api.store.sql import Key, SearchPlan, SqlStore

MAX_VARS = 500  # bound variables per statement (SQLite allows 32,766)


def _keys(
    conn: sqlite3.Connection,
    head: str,
    head_args: list[Any],
    ids: Sequence[str],
    tail: str = "",
    tail_args: Sequence[Any] = (),
) -> list[Key]:
    """``(type, id)`` rows of ``<head> (<ids>)<tail>``, run for ``MAX_VARS`` ids at a time."""
    found: list[Key] = []
    for start in range(0, len(ids), MAX_VARS):
        chunk = ids[start : start + MAX_VARS]
        sql = f"{head} ({','.join('?' * len(chunk))}){tail}"
        found.extend((r[0], r[1]) for r in conn.execute(sql, [*head_args, *chunk, *tail_args]))
    return found


class SqliteSearch(SqlStore[Database]):
    """The search of ``SqliteFhirStore``: runs a ``SearchPlan`` under the database's lock."""

    def run_search(self, plan: SearchPlan) -> SearchResult:
        """Count, page and includes in one consistent read."""
        with self.db.read() as conn:
            total = conn.execute(plan.count_sql, plan.args).fetchone()[0]
            matches: list[Resource] = []
            if plan.page_sql is not None:
                rows = conn.execute(plan.page_sql, plan.page_args).fetchall()
                matches = [json.loads(r[0]) for r in rows]
            included = self.included(conn, plan.query, matches)
        return SearchResult(total, matches, included)

    def ref_targets(
        self,
        conn: sqlite3.Connection,
        source_type: str,
        param: str,
        ids: list[str],
        target_type: str | None,
    ) -> list[Key]:
        """``(type, id)`` that ``source_type/ids`` reference through ``param``."""
        sql = "SELECT ref_type, ref_id FROM search_ref WHERE type = ? AND param = ? AND id IN"
        if target_type:
            return _keys(conn, sql, [source_type, param], ids, " AND ref_type = ?", [target_type])
        return _keys(conn, sql, [source_type, param], ids)

    def ref_sources(
        self,
        conn: sqlite3.Connection,
        source_type: str,
        param: str,
        target_type: str,
        ids: list[str],
    ) -> list[Key]:
        """``(type, id)`` of the ``source_type`` resources whose ``param`` names ``ids``."""
        sql = "SELECT type, id FROM search_ref WHERE type = ? AND param = ? AND ref_type = ?"
        return _keys(conn, sql + " AND ref_id IN", [source_type, param, target_type], ids)

    def live_bodies(self, conn: sqlite3.Connection, keys: list[Key]) -> list[Resource]:
        """The current bodies of ``keys``, in order (one primary-key lookup each)."""
        bodies: list[Resource] = []
        for key in keys:
            row = conn.execute(
                "SELECT json FROM resources WHERE type = ? AND id = ?", key
            ).fetchone()
            if row is not None:
                bodies.append(json.loads(row[0]))
        return bodies
