"""SqliteSearch: FHIR search over the SQLite store (standard + NLP criteria, paging, includes)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from api.search import SearchQuery, parse_search
from api.search_params import SEARCHABLE_TYPES
from api.store.base import Resource, StoreError
from api.store.database import Database
from api.store.sql import where_sql

MAX_VARS = 500  # bound variables per statement (SQLite allows 32,766)


@dataclass
class SearchResult:
    """Matches of one page, the total, and the resources added by ``_include``/``_revinclude``."""

    total: int
    matches: list[Resource]
    included: list[Resource]


def _chunks(items: Sequence[str]) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), MAX_VARS):
        yield items[start : start + MAX_VARS]


# --------------------------------------------------------------------------- the store


class SqliteSearch:
    """Search methods of ``SqliteFhirStore`` (needs ``self.db`` and ``self.base_url``)."""

    db: Database
    base_url: str

    def search(self, resource_type: str, params: Sequence[tuple[str, str]]) -> Resource:
        """A ``searchset`` Bundle (links relative to ``base_url``)."""
        from api.bundles import searchset

        query = parse_search(resource_type, params)
        return searchset(query, self.execute(query), self.base_url, default_count=50)

    def execute(self, query: SearchQuery, *, default_count: int = 50) -> SearchResult:
        """Run a parsed query: one page of matches, the total and the included resources."""
        if query.resource_type not in SEARCHABLE_TYPES:
            raise StoreError(f"type {query.resource_type} is not searchable", code="NLP404")
        clause, args = where_sql(query)
        count = default_count if query.count is None else query.count
        order = self._order(query)
        with self.db.read() as conn:
            total = conn.execute(
                f"SELECT COUNT(*) FROM resources r WHERE {clause}", args
            ).fetchone()[0]
            matches: list[Resource] = []
            if count > 0 and not query.summary_count:
                rows = conn.execute(
                    f"SELECT r.json FROM resources r WHERE {clause} ORDER BY {order} "
                    "LIMIT ? OFFSET ?",
                    [*args, count, query.offset],
                ).fetchall()
                matches = [json.loads(r[0]) for r in rows]
            included = self._includes(conn, query, matches)
        return SearchResult(total, matches, included)

    def ids(self, query: SearchQuery) -> list[str]:
        """Every matching id (no paging) — for conditional interactions."""
        result = self.execute(
            SearchQuery(query.resource_type, query.standard, query.nlp, count=10_000)
        )
        return [str(r["id"]) for r in result.matches]

    @staticmethod
    def _order(query: SearchQuery) -> str:
        parts: list[str] = []
        for key in query.sort:
            direction = "DESC" if key.descending else "ASC"
            if key.name == "_id":
                parts.append(f"r.id {direction}")
            elif key.name == "_lastUpdated":
                parts.append(f"r.last_updated {direction}")
            else:
                safe = key.name.replace("'", "")
                parts.append(
                    "(SELECT MIN(d.low) FROM search_date d WHERE d.type = r.type AND d.id = r.id "
                    f"AND d.param = '{safe}') {direction}"
                )
        if not parts:
            parts.append("r.last_updated ASC")
        parts.append("r.id ASC")
        return ", ".join(parts)

    def _includes(
        self, conn: sqlite3.Connection, query: SearchQuery, matches: list[Resource]
    ) -> list[Resource]:
        if not matches or not (query.include or query.revinclude):
            return []
        seen = {(r["resourceType"], r["id"]) for r in matches}
        ids = [str(r["id"]) for r in matches]
        wanted: list[tuple[str, str]] = []
        for inc in query.include:
            if inc.source_type != query.resource_type:
                continue
            for chunk in _chunks(ids):
                marks = ",".join("?" * len(chunk))
                sql = (
                    "SELECT ref_type, ref_id FROM search_ref WHERE type = ? AND param = ? "
                    f"AND id IN ({marks})"
                )
                params: list[Any] = [inc.source_type, inc.param, *chunk]
                if inc.target_type:
                    sql += " AND ref_type = ?"
                    params.append(inc.target_type)
                wanted.extend((r[0], r[1]) for r in conn.execute(sql, params))
        for inc in query.revinclude:
            for chunk in _chunks(ids):
                marks = ",".join("?" * len(chunk))
                sql = (
                    "SELECT type, id FROM search_ref WHERE type = ? AND param = ? "
                    f"AND ref_type = ? AND ref_id IN ({marks})"
                )
                rows = conn.execute(sql, [inc.source_type, inc.param, query.resource_type, *chunk])
                wanted.extend((r[0], r[1]) for r in rows)
        included: list[Resource] = []
        for key in dict.fromkeys(wanted):
            if key in seen:
                continue
            seen.add(key)
            row = conn.execute(
                "SELECT json FROM resources WHERE type = ? AND id = ?", key
            ).fetchone()
            if row is not None:
                included.append(json.loads(row[0]))
        return included
