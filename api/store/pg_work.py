"""The writes of one PostgreSQL store call: row-locked heads, cached reads, pipelined writes."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import psycopg

from api.store.base import Resource
from api.store.extract import extract
from api.store.pg_database import StoreUnavailable
from api.store.pg_index import remove_document
from api.store.sql import Key, content_of, dump_json, resource_key, stamped

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
# the search-value DELETEs only see the old rows). A body is stored once: the current version's
# history row has no body (it is the ``resources`` row), as in the SQLite store; a generated
# resource gets no history row (``%(hist)s`` false) unless the store keeps its history. A
# resource keeps its ``rid`` across versions (the upsert), so its old values are found by it.
# A new version and a deletion begin alike: the head, and the superseded body kept.
_VERSION = """
WITH h AS (
    UPDATE heads SET version_id = %(v)s, deleted = {deleted} WHERE type = %(t)s AND id = %(i)s
), kept AS (
    UPDATE history h SET json = r.json FROM resources r
    WHERE r.type = %(t)s AND r.id = %(i)s AND h.type = r.type AND h.id = r.id
    AND h.version_id = r.version_id AND h.json IS NULL
)"""
_PUT = (
    _VERSION.format(deleted="FALSE")
    + """, hist AS (
    INSERT INTO history SELECT %(t)s, %(i)s, %(v)s, %(now)s, %(method)s, NULL WHERE %(hist)s
), up AS (
    INSERT INTO resources (type, id, version_id, last_updated, source_doc, json)
    VALUES (%(t)s, %(i)s, %(v)s, %(now)s, %(src)s, %(json)s::json)
    ON CONFLICT (type, id) DO UPDATE SET version_id = EXCLUDED.version_id,
        last_updated = EXCLUDED.last_updated, source_doc = EXCLUDED.source_doc,
        json = EXCLUDED.json
    RETURNING rid
), dt AS (
    DELETE FROM search_token WHERE rid = (SELECT rid FROM up)
), dr AS (
    DELETE FROM search_ref WHERE rid = (SELECT rid FROM up)
), dd AS (
    DELETE FROM search_date WHERE rid = (SELECT rid FROM up)
), it AS (
    INSERT INTO search_token SELECT up.rid, %(t)s, v.* FROM up,
        unnest(%(tp)b::text[], %(ts)b::text[], %(tc)b::text[]) v
), ir AS (
    INSERT INTO search_ref SELECT up.rid, %(t)s, v.* FROM up,
        unnest(%(rp)b::text[], %(rt)b::text[], %(ri)b::text[]) v
)
INSERT INTO search_date SELECT up.rid, %(t)s, v.* FROM up,
    unnest(%(dp)b::text[], %(dl)b::text[], %(dh)b::text[]) v
"""
)
_DELETE = (
    _VERSION.format(deleted="TRUE")
    + """, hist AS (
    INSERT INTO history VALUES (%(t)s, %(i)s, %(v)s, %(now)s, 'DELETE', NULL)
), gone AS (
    DELETE FROM resources WHERE type = %(t)s AND id = %(i)s RETURNING rid
), dt AS (
    DELETE FROM search_token WHERE rid = (SELECT rid FROM gone)
), dr AS (
    DELETE FROM search_ref WHERE rid = (SELECT rid FROM gone)
)
DELETE FROM search_date WHERE rid = (SELECT rid FROM gone)
"""
)


def _columns(rows: Sequence[tuple[str, str, str]]) -> tuple[list[str], list[str], list[str]]:
    return [r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows]


class Work:
    """The writes of one store call: locks heads, caches what it read, queues the writes.

    Invariant: every key in ``heads`` is locked by this transaction, and ``live`` holds its
    current row as this transaction sees it (``None``: absent or deleted).
    """

    def __init__(
        self, conn: psycopg.Connection[Any], now: str, *, generated_history: bool = False
    ) -> None:
        self.conn = conn
        self.now = now
        self.generated_history = generated_history
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
            "hist": source_doc is None or self.generated_history,
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
            remove_document(self.conn, resource_id)
        return str(version)

    def children(self, document_id: str) -> list[Key]:
        """Live resources generated from a document (locked)."""
        found = self.lock([], children_of=document_id)
        return sorted(
            k for k in found if (live := self.live[k]) is not None and live[1] == document_id
        )
