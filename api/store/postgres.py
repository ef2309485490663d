"""PgFhirStore + PgNlpIndex on PostgreSQL (several replicas and workers), same behaviour as SQLite.

Same tables and semantics as ``api.store.sqlite`` (``resources``, ``history``, ``search_token`` /
``search_ref`` / ``search_date``, ``nlp_index``, ``nlp_documents``) plus ``heads``: one row per
logical resource ever written, holding its latest version. Writers lock the heads they touch
(``SELECT ... FOR UPDATE``, in ``(type, id)`` order) before reading the current version, so
replicas and workers in other processes never hand out the same ``versionId`` twice and never
lose an update. An enrichment is one transaction, sent in pipeline mode (one round trip per
read, none per write). Resource bodies are stored as ``json`` (the exact text, keys in order, as
SQLite returns them; ``jsonb`` would reorder keys). The search SQL is the SQLite store's own,
rewritten to PostgreSQL placeholders, so both backends match the same documents.

``Database`` mirrors ``api.store.sqlite.Database`` (``transaction()``, ``read()``,
``executescript()``) for code written against SQLite, such as the intake queue: those handles
accept ``?`` placeholders, SQLite DDL (``INTEGER PRIMARY KEY AUTOINCREMENT``, ``REAL``) and
``cursor.lastrowid``, and ``transaction()`` takes one database-wide lock like SQLite's
``BEGIN IMMEDIATE``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import psycopg

from api.search import SearchQuery, format_instant, parse_search
from api.search_params import SEARCHABLE_TYPES
from api.store.base import EnrichmentWrite, Resource, ResourceGone, StoreError, VersionConflict
from api.store.pg_database import Database, StoreUnavailable, is_postgres_url, retrying
from api.store.pg_dialect import to_pg
from api.store.pg_index import SCHEMA, PgNlpIndex, replace_rows
from api.store.pg_work import SELECT_LIVE, Work, key_of
from api.store.sql import where_sql
from api.store.sqlite import SearchResult, SqliteFhirStore, VersionInfo
from api.store.sqlite_index import utc_now

# a version's body: in its history row, or (the current version) in ``resources``
_HISTORY_SELECT = (
    "SELECT h.version_id, h.last_updated, h.method, COALESCE(h.json, r.json) FROM history h "
    "LEFT JOIN resources r ON h.json IS NULL AND h.method <> 'DELETE' AND r.type = h.type "
    "AND r.id = h.id AND r.version_id = h.version_id WHERE h.type = %s AND h.id = %s"
)

__all__ = [
    "SCHEMA",
    "Database",
    "PgFhirStore",
    "PgNlpIndex",
    "StoreUnavailable",
    "is_postgres_url",
    "to_pg",
]


class PgFhirStore:
    """FhirStore + AtomicEnrichmentStore on PostgreSQL (the API of ``SqliteFhirStore``).

    Args:
        db: the shared ``Database``.
        index: the NLP index in the same database (built when not given).
        clock: UTC ``now`` for ``meta.lastUpdated`` (default: the system clock).
        base_url: prefix of ``fullUrl`` and links in bundles from ``search()`` (default ``""``).
    """

    def __init__(
        self,
        db: Database,
        *,
        index: PgNlpIndex | None = None,
        clock: Callable[[], datetime] = utc_now,
        base_url: str = "",
    ) -> None:
        self.db = db
        self.clock = clock
        self.base_url = base_url
        db.execute_ddl(SCHEMA)
        self.index = index or PgNlpIndex(db, clock=clock)

    # ----- reads

    def read(self, resource_type: str, resource_id: str) -> Resource | None:
        """The current version, or ``None`` when absent or deleted."""
        rows = self.db.query(
            "SELECT json FROM resources WHERE type = %s AND id = %s", (resource_type, resource_id)
        )
        return rows[0][0] if rows else None

    def current_version(self, resource_type: str, resource_id: str) -> tuple[str, bool] | None:
        """``(versionId, deleted)`` of the latest history entry, ``None`` if it never existed."""
        rows = self.db.query(
            "SELECT version_id, deleted FROM heads WHERE type = %s AND id = %s AND version_id > 0",
            (resource_type, resource_id),
        )
        return (str(rows[0][0]), bool(rows[0][1])) if rows else None

    def vread(self, resource_type: str, resource_id: str, version_id: str) -> Resource | None:
        """One version; ``None`` if it does not exist.

        Raises:
            ResourceGone: that version is a deletion.
        """
        try:
            number = int(version_id)
        except ValueError:
            return None
        if not -(2**31) <= number < 2**31:
            return None
        rows = self.db.query(
            f"{_HISTORY_SELECT} AND h.version_id = %s", (resource_type, resource_id, number)
        )
        if not rows:
            return None
        if rows[0][3] is None:
            raise ResourceGone(f"{resource_type}/{resource_id} version {version_id} is a deletion")
        loaded: Resource = rows[0][3]
        return loaded

    def history(self, resource_type: str, resource_id: str) -> list[VersionInfo]:
        """All versions, newest first."""
        rows = self.db.query(
            f"{_HISTORY_SELECT} ORDER BY h.version_id DESC", (resource_type, resource_id)
        )
        return [VersionInfo(str(r[0]), r[1], r[2], r[3]) for r in rows]

    def generated_from(self, document_id: str) -> list[str]:
        """``Type/id`` of the live resources generated from one document."""
        rows = self.db.query(
            "SELECT type, id FROM resources WHERE source_doc = %s ORDER BY type, id",
            (document_id,),
        )
        return [f"{r[0]}/{r[1]}" for r in rows]

    # ----- writes

    @contextmanager
    def _work(self) -> Iterator[Work]:
        now = format_instant(self.clock())
        with self.db.connection(pipeline=True) as conn:
            yield Work(conn, now)

    def save_all(
        self, resources: Sequence[Resource], *, delete: Sequence[str] = ()
    ) -> list[Resource]:
        """Upsert ``resources`` and delete ``"Type/id"`` refs in one transaction."""

        def run() -> list[Resource]:
            with self._work() as work:
                keys = [(str(r.get("resourceType")), str(r.get("id"))) for r in resources]
                work.lock(keys + [key_of(ref) for ref in delete])
                stored = [work.put(r) for r in resources]
                for ref in delete:
                    work.delete(*key_of(ref))
            return stored

        return retrying(self.db, run)

    def delete(self, resource_type: str, resource_id: str) -> str | None:
        """Delete a resource (and, for a document, what was generated from it and its index).

        Returns the versionId of the deletion, or ``None`` when there was nothing to delete.
        """

        def run() -> str | None:
            with self._work() as work:
                return work.delete(resource_type, resource_id)

        return retrying(self.db, run)

    def apply(self, write: EnrichmentWrite) -> list[Resource]:
        """Write one enrichment atomically: document, generated, deletions, index, state.

        Raises:
            VersionConflict: ``write.if_match`` is not the document's current version.
        """
        doc = write.document
        doc_id = str(doc["id"])
        doc_key = ("DocumentReference", doc_id)

        def run() -> list[Resource]:
            with self._work() as work:
                children = work.lock(  # the document first: its enrichments queue up there
                    [(str(r.get("resourceType")), str(r.get("id"))) for r in write.generated]
                    + [key_of(ref) for ref in write.retired],
                    first=doc_key,
                    children_of=doc_id,
                )
                if write.if_match is not None:
                    latest = work.latest(doc_key)
                    if latest is None or latest[1] or latest[0] != write.if_match:
                        raise VersionConflict(
                            f"DocumentReference/{doc_id} is not at version {write.if_match}"
                        )
                stored = [work.put(doc)]
                for resource in write.generated:
                    stored.append(work.put(resource, source_doc=doc_id))
                keep = {f"{r['resourceType']}/{r['id']}" for r in stored[1:]}
                stale = {f"{t}/{i}" for t, i in children}  # the others are kept
                for ref in sorted((set(write.retired) | stale) - keep):
                    work.delete(*key_of(ref))
                work.relink(doc_id, stored[1:])
                replace_rows(work.conn, doc_id, write.rows, write.state, work.now)
            return stored

        return retrying(self.db, run)

    # ----- search

    def search(self, resource_type: str, params: Sequence[tuple[str, str]]) -> Resource:
        """A ``searchset`` Bundle (links relative to ``base_url``)."""
        from api.bundles import searchset

        query = parse_search(resource_type, params)
        return searchset(query, self.execute(query), self.base_url, default_count=50)

    def execute(self, query: SearchQuery, *, default_count: int = 50) -> SearchResult:
        """Run a parsed query: one page of matches, the total and the included resources."""
        if query.resource_type not in SEARCHABLE_TYPES:
            raise StoreError(f"type {query.resource_type} is not searchable", code="NLP404")
        where, args = where_sql(query)
        clause = to_pg(where)
        count = default_count if query.count is None else query.count
        order = to_pg(SqliteFhirStore._order(query))
        nested = self.db.in_transaction()
        with self.db.connection() as conn:
            if not nested:  # count, page and includes from one snapshot
                conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            total_row = conn.execute(
                f"SELECT COUNT(*) FROM resources r WHERE {clause}",
                args,
            ).fetchone()
            total = int(total_row[0]) if total_row else 0
            matches: list[Resource] = []
            if count > 0 and not query.summary_count:
                rows = conn.execute(
                    f"SELECT r.json FROM resources r WHERE {clause} ORDER BY {order} "
                    "LIMIT %s OFFSET %s",
                    [*args, count, query.offset],
                ).fetchall()
                matches = [r[0] for r in rows]
            included = self._includes(conn, query, matches)
        return SearchResult(total, matches, included)

    def ids(self, query: SearchQuery) -> list[str]:
        """Every matching id (no paging) — for conditional interactions."""
        result = self.execute(
            SearchQuery(query.resource_type, query.standard, query.nlp, count=10_000)
        )
        return [str(r["id"]) for r in result.matches]

    def _includes(
        self, conn: psycopg.Connection[Any], query: SearchQuery, matches: list[Resource]
    ) -> list[Resource]:
        if not matches or not (query.include or query.revinclude):
            return []
        seen = {(r["resourceType"], r["id"]) for r in matches}
        ids = [str(r["id"]) for r in matches]
        wanted: list[tuple[str, str]] = []
        for inc in query.include:
            if inc.source_type != query.resource_type:
                continue
            sql = (
                "SELECT ref_type, ref_id FROM search_ref WHERE type = %s AND param = %s "
                "AND id = ANY(%s::text[])"
            )
            params: list[Any] = [inc.source_type, inc.param, ids]
            if inc.target_type:
                sql += " AND ref_type = %s"
                params.append(inc.target_type)
            wanted.extend((r[0], r[1]) for r in conn.execute(sql, params))
        for inc in query.revinclude:
            rows = conn.execute(
                "SELECT type, id FROM search_ref WHERE type = %s AND param = %s "
                "AND ref_type = %s AND ref_id = ANY(%s::text[])",
                [inc.source_type, inc.param, query.resource_type, ids],
            )
            wanted.extend((r[0], r[1]) for r in rows)
        keys = [k for k in dict.fromkeys(wanted) if k not in seen]
        if not keys:
            return []
        found = {
            (r[0], r[1]): r[2]
            for r in conn.execute(
                SELECT_LIVE,
                {"types": [k[0] for k in keys], "ids": [k[1] for k in keys], "doc": None},
            )
        }
        return [found[k] for k in keys if k in found]
