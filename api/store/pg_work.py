"""The writes of one PostgreSQL store call: row-locked heads, cached reads, pipelined writes."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import psycopg

from api.store.base import Resource
from api.store.extract import extract
from api.store.pg_database import StoreUnavailable
from api.store.sql import COMPUTED_PARAMS, Key, content_of, dump_json, resource_key, stamped

_LOCK_HEADS = """
INSERT INTO heads (type, id) SELECT * FROM unnest(%(types)b::text[], %(ids)b::text[])
ON CONFLICT (type, id) DO NOTHING
"""
# the heads of ``keys`` and of the live resources generated from document ``doc``
_KEYS = """
    SELECT * FROM unnest(%(types)b::text[], %(ids)b::text[])
    UNION SELECT type, id FROM resources WHERE source_doc = %(doc)s
"""
_SELECT_HEADS = f"""
SELECT h.type, h.id, h.version_id FROM heads h WHERE (h.type, h.id) IN ({_KEYS})
ORDER BY h.type, h.id FOR UPDATE OF h
"""
SELECT_LIVE = f"""
SELECT r.type, r.id, r.json, r.source_doc FROM resources r WHERE (r.type, r.id) IN ({_KEYS})
"""
# One statement per stored version: head, history, current row, and its search values (the
# sub-statements share one snapshot: ``kept`` moves the superseded body into its history row,
# the helper-table DELETEs only see the old rows). A body is stored once: the current version's
# history row has no body (it is the ``resources`` row), as in the SQLite store. A new version
# and a deletion begin alike (``_VERSION``: head, superseded body kept, history row, old search
# values; computed references survive a PUT: they come from the enrichment, not the resource).
_VERSION = """
WITH h AS (
    UPDATE heads SET version_id = %(v)s, deleted = {deleted} WHERE type = %(t)s AND id = %(i)s
), kept AS (
    UPDATE history h SET json = r.json FROM resources r
    WHERE r.type = %(t)s AND r.id = %(i)s AND h.type = r.type AND h.id = r.id
    AND h.version_id = r.version_id AND h.json IS NULL
), hist AS (
    INSERT INTO history VALUES (%(t)s, %(i)s, %(v)s, %(now)s, {method}, NULL)
), dt AS (
    DELETE FROM search_token WHERE type = %(t)s AND id = %(i)s
), dr AS (
    DELETE FROM search_ref WHERE type = %(t)s AND id = %(i)s{computed}
), dd AS (
    DELETE FROM search_date WHERE type = %(t)s AND id = %(i)s
)"""
_PUT = (
    _VERSION.format(
        deleted="FALSE",
        method="%(method)s",
        computed=" AND param <> ALL(%(computed)b::text[])",
    )[:-1]
    + """), it AS (
    INSERT INTO search_token
    SELECT %(t)s, %(i)s, * FROM unnest(%(tp)b::text[], %(ts)b::text[], %(tc)b::text[])
), ir AS (
    INSERT INTO search_ref
    SELECT %(t)s, %(i)s, * FROM unnest(%(rp)b::text[], %(rt)b::text[], %(ri)b::text[])
), idt AS (
    INSERT INTO search_date
    SELECT %(t)s, %(i)s, * FROM unnest(%(dp)b::text[], %(dl)b::text[], %(dh)b::text[])
)
INSERT INTO resources VALUES (%(t)s, %(i)s, %(v)s, %(now)s, %(src)s, %(json)s::json)
ON CONFLICT (type, id) DO UPDATE SET version_id = EXCLUDED.version_id,
    last_updated = EXCLUDED.last_updated, source_doc = EXCLUDED.source_doc, json = EXCLUDED.json
"""
)
_DELETE = (
    _VERSION.format(deleted="TRUE", method="'DELETE'", computed="")
    + """
DELETE FROM resources WHERE type = %(t)s AND id = %(i)s
"""
)


def _columns(rows: Sequence[tuple[str, str, str]]) -> tuple[list[str], list[str], list[str]]:
    return [r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows]


class Work:
    """The writes of one store call: locks heads, caches what it read, queues the writes.

    Invariant: every key in ``heads`` is locked by this transaction, and ``live`` holds its
    current row as this transaction sees it (``None``: absent or deleted).
    """

    def __init__(self, conn: psycopg.Connection[Any], now: str) -> None:
        self.conn = conn
        self.now = now
        self.heads: dict[Key, int] = {}
        self.live: dict[Key, tuple[Resource, str | None] | None] = {}
        self.wrote = False

    def lock(
        self, keys: Iterable[Key], *, first: Key | None = None, children_of: str | None = None
    ) -> set[Key]:
        """Lock and read heads: ``first`` alone first, then ``keys`` and the resources generated
        from ``children_of``, in ``(type, id)`` order. One round trip however many keys.

        Returns the live resources generated from ``children_of`` (before this work's writes).

        Raises:
            StoreUnavailable: ``reconnect`` when the connection was lost before any write.
        """
        steps: list[tuple[list[Key], str | None]] = []
        if first is not None and first not in self.heads:
            steps.append(([first], None))
        rest = sorted(set(keys) - self.heads.keys() - {first})
        if rest or children_of is not None:
            steps.append((rest, children_of))
        cursors = []
        for step_keys, doc in steps:
            arrays = {"types": [k[0] for k in step_keys], "ids": [k[1] for k in step_keys]}
            self.conn.execute(_LOCK_HEADS, arrays)
            args = {**arrays, "doc": doc}
            cursors.append(
                (self.conn.execute(_SELECT_HEADS, args), self.conn.execute(SELECT_LIVE, args))
            )
        children: set[Key] = set()
        for number, (heads_cursor, live_cursor) in enumerate(cursors):
            try:
                heads, live = heads_cursor.fetchall(), live_cursor.fetchall()
            except psycopg.OperationalError as exc:
                if number == 0 and not self.wrote and self.conn.broken:
                    raise StoreUnavailable("connection lost", reason="reconnect") from exc
                raise
            for resource_type, resource_id, version in heads:
                key = (resource_type, resource_id)
                if key not in self.heads:
                    self.heads[key] = int(version)
                    self.live[key] = None
            for resource_type, resource_id, body, source_doc in live:
                key = (resource_type, resource_id)
                if source_doc is not None and source_doc == children_of:
                    children.add(key)
                if self.live.get(key) is None and self.heads.get(key) is not None:
                    self.live[key] = (body, source_doc)
        return children

    def latest(self, key: Key) -> tuple[str, bool] | None:
        """``(versionId, deleted)`` like SQLite's history lookup (key must be locked)."""
        version = self.heads[key]
        return None if version == 0 else (str(version), self.live[key] is None)

    def put(self, resource: Resource, *, source_doc: str | None = None) -> Resource:
        """Store a new version unless the content and origin are unchanged."""
        key = resource_key(resource)
        self.lock([key])
        current = self.live[key]
        if current is not None:
            old, old_source = current
            if content_of(old) == content_of(resource) and old_source == source_doc:
                return old
        previous = self.heads[key]
        version = previous + 1
        stored = stamped(resource, key, version, self.now)
        params: dict[str, Any] = {
            "t": key[0],
            "i": key[1],
            "v": version,
            "now": self.now,
            "method": "PUT" if previous else "POST",
            "json": dump_json(stored),
            "src": source_doc,
            "computed": list(COMPUTED_PARAMS),
        }
        values = extract(stored)
        for names, rows in (
            (("tp", "ts", "tc"), values.tokens),
            (("rp", "rt", "ri"), values.refs),
            (("dp", "dl", "dh"), values.dates),
        ):
            params.update(zip(names, _columns(rows), strict=True))
        self.conn.execute(_PUT, params)
        self.wrote = True
        self.heads[key] = version
        self.live[key] = (stored, source_doc)
        return stored

    def delete(self, resource_type: str, resource_id: str) -> str | None:
        """Delete (a document: with what was generated from it and its index); ``None``: absent."""
        key = (resource_type, resource_id)
        self.lock([key])
        if self.live[key] is None:
            if self.heads[key] == 0:  # locking created the head of a resource never written
                self.conn.execute(
                    "DELETE FROM heads WHERE type = %s AND id = %s AND version_id = 0", key
                )
                del self.heads[key], self.live[key]
            return None
        version = self.heads[key] + 1
        self.conn.execute(
            _DELETE, {"t": resource_type, "i": resource_id, "v": version, "now": self.now}
        )
        self.wrote = True
        self.heads[key] = version
        self.live[key] = None
        if resource_type == "DocumentReference":
            for child_type, child_id in self.children(resource_id):
                self.delete(child_type, child_id)
            self.conn.execute("DELETE FROM nlp_index WHERE doc_id = %s", (resource_id,))
            self.conn.execute("DELETE FROM nlp_documents WHERE doc_id = %s", (resource_id,))
        return str(version)

    def children(self, document_id: str) -> list[Key]:
        """Live resources generated from a document (locked)."""
        found = self.lock([], children_of=document_id)
        return sorted(
            k for k in found if (live := self.live[k]) is not None and live[1] == document_id
        )

    def relink(self, doc_id: str, generated: list[Resource]) -> None:
        """The computed references ``nlp-generated`` (document -> generated) and back."""
        gen_types = [str(r["resourceType"]) for r in generated]
        gen_ids = [str(r["id"]) for r in generated]
        self.conn.execute(
            "DELETE FROM search_ref WHERE type = 'DocumentReference' AND id = %s "
            "AND param = 'nlp-generated'",
            (doc_id,),
        )
        if not generated:
            return
        self.conn.execute(
            """
            WITH d AS (
                DELETE FROM search_ref s USING unnest(%(types)b::text[], %(ids)b::text[]) k(t, i)
                WHERE s.type = k.t AND s.id = k.i AND s.param = 'derived-from'
            ), f AS (
                INSERT INTO search_ref SELECT 'DocumentReference', %(doc)s, 'nlp-generated', t, i
                FROM unnest(%(types)b::text[], %(ids)b::text[]) k(t, i)
            )
            INSERT INTO search_ref SELECT t, i, 'derived-from', 'DocumentReference', %(doc)s
            FROM unnest(%(types)b::text[], %(ids)b::text[]) k(t, i)
            """,
            {"types": gen_types, "ids": gen_ids, "doc": doc_id},
        )
