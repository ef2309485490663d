"""PgFhirStore + PgNlpIndex on PostgreSQL (several replicas and workers), same behaviour as SQLite.

Same semantics as ``api.store.sqlite``; tables ``api.store.pg_schema`` (``resources``,
``history``, ``search_token`` / ``search_ref`` / ``search_date``, ``nlp_documents`` /
``nlp_rows``) plus ``heads``: one row per logical resource ever written, holding its latest
version. Writers lock the heads they touch
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

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg.adapt import Loader

from api.search import format_instant
from api.store.base import (
    EnrichmentWrite,
    NlpIndex,
    Resource,
    SearchResult,
    VersionConflict,
    VersionInfo,
)
from api.store.codec import LazyResource
from api.store.pg_database import Database, StoreUnavailable, retrying
from api.store.pg_dialect import to_pg
from api.store.pg_index import PgNlpIndex, replace_rows
from api.store.pg_schema import SCHEMA, ensure_schema
from api.store.pg_work import SELECT_LIVE, Work
from api.store.search_sql import Lookups, SearchPlan
from api.store.sql import Key, SqlStore, history_sql, ref_key

__all__ = [
    "SCHEMA",
    "Database",
    "PgFhirStore",
    "PgNlpIndex",
    "StoreUnavailable",
    "to_pg",
]


class _JsonBytes(Loader):
    """A ``json`` value as its bytes (the text the store wrote), not parsed."""

    def load(self, data: Any) -> bytes:
        return bytes(data)


def _raw_rows(conn: psycopg.Connection[Any], sql: str, args: Sequence[Any]) -> list[Any]:
    """The rows of ``sql``, its ``json`` values as their bytes (``LazyResource`` parses them
    when used)."""
    with conn.cursor() as cursor:
        cursor.adapters.register_loader("json", _JsonBytes)
        return cursor.execute(sql, args).fetchall()


def _by_rids(conn: psycopg.Connection[Any], rids: list[int]) -> list[Resource]:
    """The bodies of the rows ``rids``, in that order (unparsed until used)."""
    if not rids:
        return []
    sql = "SELECT rid, json, type, id FROM resources WHERE rid = ANY(%s)"
    rows = _raw_rows(conn, sql, [rids])
    found = {r[0]: LazyResource(r[1], r[2], r[3]) for r in rows}
    return [found[rid] for rid in rids]


class PgFhirStore(SqlStore[Database]):
    """The ``ServiceStore`` on PostgreSQL (constructor: ``api.store.sql.SqlStore``)."""

    lookups = Lookups()

    def prepare_schema(self) -> None:
        """Create or upgrade the service database's schema (``api.store.pg_schema``)."""
        ensure_schema(self.db)

    def new_index(self) -> NlpIndex:
        """The NLP index in the same database."""
        return PgNlpIndex(self.db, clock=self.clock)

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

    def history_rows(
        self, resource_type: str, resource_id: str, version: int | None = None
    ) -> list[VersionInfo]:
        """Every version newest first, or only ``version`` (``json`` columns come parsed)."""
        sql, args = history_sql(resource_type, resource_id, version)
        return [VersionInfo(str(r[0]), r[1], r[2], r[3]) for r in self.db.query(to_pg(sql), args)]

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
            yield Work(conn, now, generated_history=self.generated_history)

    def save_all(
        self, resources: Sequence[Resource], *, delete: Sequence[str] = ()
    ) -> list[Resource]:
        """Upsert ``resources`` and delete ``"Type/id"`` refs in one transaction."""

        def run() -> list[Resource]:
            with self._work() as work:
                keys = [(str(r.get("resourceType")), str(r.get("id"))) for r in resources]
                work.lock(keys + [ref_key(ref) for ref in delete])
                stored = [work.put(r) for r in resources]
                for ref in delete:
                    work.delete(*ref_key(ref))
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
                    + [ref_key(ref) for ref in write.retired],
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
                    work.delete(*ref_key(ref))
                replace_rows(work.conn, doc_id, write.rows, write.state, work.now)
            return stored

        return retrying(self.db, run)

    # ----- search

    def run_search(self, plan: SearchPlan) -> SearchResult:
        """Count, page and includes from one snapshot (repeatable read, read only)."""
        nested = self.db.in_transaction()
        with self.db.connection() as conn:
            if not nested:  # count, page and includes from one snapshot
                conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            if plan.guard_sql is not None:
                guard = conn.execute(to_pg(plan.guard_sql), plan.guard_args).fetchone()
                if not (guard and guard[0]):
                    return SearchResult(0, [], self.included(conn, plan.query, []))
            matches: list[Resource] = []
            if plan.rids_sql is not None and plan.page_sql is not None:  # matches found once
                rids = [r[0] for r in conn.execute(to_pg(plan.rids_sql), plan.args)]
                total = len(rids)
                matches = _by_rids(conn, plan.page_of(rids))
            else:
                total_row = conn.execute(to_pg(plan.count_sql), plan.args).fetchone()
                total = int(total_row[0]) if total_row else 0
                if plan.page_sql is not None:
                    rows = _raw_rows(conn, to_pg(plan.page_sql), plan.page_args)
                    matches = [LazyResource(r[0], r[1], r[2]) for r in rows]
            included = self.included(conn, plan.query, matches)
        return SearchResult(total, matches, included)

    def ref_targets(
        self,
        conn: psycopg.Connection[Any],
        source_type: str,
        param: str,
        ids: list[str],
        target_type: str | None,
    ) -> list[Key]:
        """``(type, id)`` that ``source_type/ids`` reference through a computed ``param``
        (from ``source_doc``), in write order."""
        if param == "nlp-generated":
            sql = "SELECT t.type, t.id FROM resources t WHERE t.source_doc = ANY(%s::text[])"
            if target_type:
                return _keys(conn, f"{sql} AND t.type = %s ORDER BY t.rid", [ids, target_type])
            return _keys(conn, f"{sql} ORDER BY t.rid", [ids])
        if target_type not in (None, "DocumentReference"):
            return []
        sql = (
            "SELECT 'DocumentReference', t.source_doc FROM resources t "
            "WHERE t.source_doc IS NOT NULL AND t.type = %s AND t.id = ANY(%s::text[]) "
            "ORDER BY t.rid"
        )
        return _keys(conn, sql, [source_type, ids])

    def ref_sources(
        self,
        conn: psycopg.Connection[Any],
        source_type: str,
        param: str,
        target_type: str,
        ids: list[str],
    ) -> list[Key]:
        """``(type, id)`` of the ``source_type`` resources whose ``param`` names ``ids``."""
        if param == "derived-from":
            if target_type != "DocumentReference":
                return []
            sql = (
                "SELECT t.type, t.id FROM resources t WHERE t.type = %s "
                "AND t.source_doc = ANY(%s::text[]) ORDER BY t.rid"
            )
            return _keys(conn, sql, [source_type, ids])
        if param == "nlp-generated":
            if source_type != "DocumentReference":
                return []
            sql = (
                "SELECT 'DocumentReference', t.source_doc FROM resources t "
                "WHERE t.source_doc IS NOT NULL AND t.type = %s AND t.id = ANY(%s::text[]) "
                "GROUP BY t.source_doc ORDER BY MIN(t.rid)"
            )
            return _keys(conn, sql, [target_type, ids])
        sql = (
            "SELECT r.type, r.id FROM resources r WHERE r.type = %s AND r.rid IN (SELECT s.rid "
            "FROM search_ref s WHERE s.type = %s AND s.param = %s AND s.ref_type = %s "
            "AND s.ref_id = ANY(%s::text[])) ORDER BY r.rid"
        )
        return _keys(conn, sql, [source_type, source_type, param, target_type, ids])

    def live_bodies(self, conn: psycopg.Connection[Any], keys: list[Key]) -> list[Resource]:
        """The current bodies of ``keys``, in order (one statement)."""
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


def _keys(conn: psycopg.Connection[Any], sql: str, args: list[Any]) -> list[Key]:
    return [(r[0], r[1]) for r in conn.execute(sql, args)]
