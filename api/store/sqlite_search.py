"""SqliteSearch: FHIR search over the SQLite store (one page, the total, includes, one snapshot)."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any

from api.store.base import Resource, SearchResult
from api.store.bodies import Bodies
from api.store.database import Database
from api.store.deferred import buffer_of
from api.store.search_sql import SearchPlan, TermLookups
from api.store.sql import Key, SqlStore
from api.store.terms import ids_query

MAX_VARS = 500  # bound variables per statement (SQLite allows 32,766)
MAX_TERMS = 200  # key terms per MATCH expression
#: The rows of one MATCH expression of key terms (``terms.ids_query``).
KEYED = "SELECT rowid FROM search_terms WHERE search_terms MATCH ?"


def by_keys(
    conn: sqlite3.Connection, select: str, keys: Sequence[Key], tail: str = ""
) -> list[sqlite3.Row]:
    """``<select> FROM resources t`` of the rows of ``keys`` (``(type, id)``), found by their
    key terms, ``MAX_TERMS`` keys at a time."""
    rows: list[sqlite3.Row] = []
    for start in range(0, len(keys), MAX_TERMS):
        chunk = keys[start : start + MAX_TERMS]
        sql = f"{select} FROM resources t WHERE t.rid IN ({KEYED}){tail}"
        rows += conn.execute(sql, [ids_query(chunk)]).fetchall()
    return rows


def keyed_rows(
    conn: sqlite3.Connection,
    select: str,
    keys: Sequence[Key],
    sources: Sequence[str | None],
) -> list[sqlite3.Row]:
    """``by_keys`` of ``keys`` (``select`` starts with ``t.type, t.id``), each key looked up
    first where it is expected, by B-tree: a key whose ``sources[i]`` is a document among the
    rows generated from that document (``resources_source``), a key whose source is ``None``
    among the rows of no source (``resources_key``). Only the keys not found there go
    through their key terms (an id may exist under another document or none), so a
    re-enrichment or an update finds its rows without reading the term index."""
    found: dict[Key, sqlite3.Row] = {}
    wanted = set(keys)
    for doc in dict.fromkeys(s for s in sources if s is not None):
        for row in conn.execute(f"{select} FROM resources t WHERE t.source_doc = ?", (doc,)):
            key = (row[0], row[1])
            if key in wanted:
                found[key] = row
    plain = [k for k, s in zip(keys, sources, strict=True) if s is None and k not in found]
    for start in range(0, len(plain), MAX_VARS // 2):
        chunk = plain[start : start + MAX_VARS // 2]
        values = ",".join("(?,?)" for _ in chunk)
        sql = (
            f"{select} FROM (VALUES {values}) AS k CROSS JOIN resources AS t "
            "ON t.type = k.column1 AND t.id = k.column2 WHERE t.source_doc IS NULL"
        )
        for row in conn.execute(sql, [part for key in chunk for part in key]):
            found[(row[0], row[1])] = row
    rest = [k for k in dict.fromkeys(keys) if k not in found]
    if not rest:
        return list(found.values())
    buffer = buffer_of(conn)
    if buffer is None:
        return [*found.values(), *by_keys(conn, select, rest)]
    # in a group whose term writes are kept (``api.store.deferred``): the term index finds
    # the rows written before it, the buffer those the group inserted; a row of either may
    # have gone since and its rid been taken by another key, so each row's key is checked
    wanted = set(rest)
    rows = by_keys(conn, select, rest)
    rids = buffer.inserted(rest)
    for start in range(0, len(rids), MAX_VARS):
        part = rids[start : start + MAX_VARS]
        sql = f"{select} FROM resources t WHERE t.rid IN ({','.join('?' * len(part))})"
        rows += conn.execute(sql, part).fetchall()
    for row in rows:
        key = (row[0], row[1])
        if key in wanted:
            found.setdefault(key, row)
    return list(found.values())


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

    lookups = TermLookups()

    def run_search(self, plan: SearchPlan) -> SearchResult:
        """Count, page and includes in one consistent read."""
        with self.db.read() as conn:
            if (
                plan.guard_sql is not None
                and not conn.execute(plan.guard_sql, plan.guard_args).fetchone()[0]
            ):
                return SearchResult(0, [], self.included(conn, plan.query, []))
            matches: list[Resource] = []
            if plan.rids_sql is not None and plan.page_sql is not None:
                rids = [r[0] for r in conn.execute(plan.rids_sql, plan.args)]
                total = len(rids)
                matches = self.by_rids(conn, plan.page_of(rids))
            else:
                total = conn.execute(plan.count_sql, plan.args).fetchone()[0]
                if plan.page_sql is not None:
                    bodies = Bodies(conn)
                    rows = conn.execute(plan.page_sql, plan.page_args).fetchall()
                    matches = [bodies.lazy((r[0], r[1], r[2]), r[3], r[4]) for r in rows]
            included = self.included(conn, plan.query, matches)
        return SearchResult(total, matches, included)

    def by_rids(self, conn: sqlite3.Connection, rids: Sequence[int]) -> list[Resource]:
        """The bodies of the rows ``rids``, in that order (unparsed until used)."""
        bodies = Bodies(conn)
        found: dict[int, Resource] = {}
        for start in range(0, len(rids), MAX_VARS):
            chunk = rids[start : start + MAX_VARS]
            sql = (
                "SELECT rid, json, bid, part, type, id FROM resources "
                f"WHERE rid IN ({','.join('?' * len(chunk))})"
            )
            for r in conn.execute(sql, chunk):
                found[r[0]] = bodies.lazy((r[1], r[2], r[3]), r[4], r[5])
        return [found[rid] for rid in rids]

    def ref_targets(
        self,
        conn: sqlite3.Connection,
        source_type: str,
        param: str,
        ids: list[str],
        target_type: str | None,
    ) -> list[Key]:
        """``(type, id)`` that ``source_type/ids`` reference through a computed ``param``
        (from ``source_doc``), in write order."""
        if param == "nlp-generated":
            tail, tail_args = (" AND t.type = ?", [target_type]) if target_type else ("", [])
            sql = "SELECT t.type, t.id FROM resources t WHERE t.source_doc IN"
            return _keys(conn, sql, [], ids, tail + " ORDER BY t.rid", tail_args)
        if target_type not in (None, "DocumentReference"):
            return []
        rows = by_keys(
            conn,
            "SELECT 'DocumentReference', t.source_doc",
            [(source_type, i) for i in ids],
            " AND t.source_doc IS NOT NULL ORDER BY t.rid",
        )
        return [(r[0], r[1]) for r in rows]

    def ref_sources(
        self,
        conn: sqlite3.Connection,
        source_type: str,
        param: str,
        target_type: str,
        ids: list[str],
    ) -> list[Key]:
        """``(type, id)`` of the ``source_type`` resources whose ``param`` names ``ids``."""
        if param == "derived-from":
            if target_type != "DocumentReference":
                return []
            sql = "SELECT t.type, t.id FROM resources t WHERE t.type = ? AND t.source_doc IN"
            return _keys(conn, sql, [source_type], ids, " ORDER BY t.rid")
        if param == "nlp-generated":
            if source_type != "DocumentReference":
                return []
            rows = by_keys(
                conn,
                "SELECT 'DocumentReference', t.source_doc",
                [(target_type, i) for i in ids],
                " AND t.source_doc IS NOT NULL GROUP BY t.source_doc ORDER BY MIN(t.rid)",
            )
            return [(r[0], r[1]) for r in rows]
        found: list[Key] = []
        for start in range(0, len(ids), MAX_VARS):
            chunk = ids[start : start + MAX_VARS]
            sql, args = self.lookups.ref_sources_sql(source_type, param, target_type, chunk)
            found.extend((r[0], r[1]) for r in conn.execute(sql, args))
        return found

    def live_bodies(self, conn: sqlite3.Connection, keys: list[Key]) -> list[Resource]:
        """The current bodies of ``keys``, in order (found by their key terms; unparsed
        until used, ``api.store.codec``)."""
        bodies = Bodies(conn)
        rows = by_keys(conn, "SELECT t.type, t.id, t.json, t.bid, t.part", keys)
        stored = {(r[0], r[1]): (r[2], r[3], r[4]) for r in rows}
        return [bodies.lazy(stored[key], *key) for key in keys if key in stored]
