"""SqliteFhirStore: versioned resources, history and helper search tables in one SQLite file.

Tables: ``resources`` (current versions), ``history`` (every version and deletion; the body of
the current version lives only in ``resources`` -- its history row has ``json`` NULL -- and moves
to ``history`` when superseded or deleted, so a write stores each body once),
``search_token`` / ``search_ref`` / ``search_date`` (values of the standard search parameters,
filled at write time). The NLP index (``api.store.sqlite_index``) lives in the same file, so an
enrichment (document + generated + deletions + index rows + state) is one transaction.
``Database`` (``api.store.database``) and ``SqliteNlpIndex`` are re-exported here.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from typing import Any

from api.search import format_instant
from api.store.base import (
    EnrichmentWrite,
    NlpIndex,
    Resource,
    VersionConflict,
    VersionInfo,
)
from api.store.database import Database as Database
from api.store.extract import extract
from api.store.sql import (
    COMPUTED_PARAMS,
    content_of,
    dump_json,
    history_sql,
    ref_key,
    resource_key,
    stamped,
)
from api.store.sqlite_index import SqliteNlpIndex as SqliteNlpIndex
from api.store.sqlite_index import replace_rows
from api.store.sqlite_search import MAX_VARS, SqliteSearch

SCHEMA = """
CREATE TABLE IF NOT EXISTS resources (
    type TEXT NOT NULL, id TEXT NOT NULL, version_id INTEGER NOT NULL,
    last_updated TEXT NOT NULL, source_doc TEXT, json TEXT NOT NULL,
    PRIMARY KEY (type, id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS resources_updated ON resources(type, last_updated);
CREATE INDEX IF NOT EXISTS resources_source ON resources(source_doc);
CREATE TABLE IF NOT EXISTS history (
    type TEXT NOT NULL, id TEXT NOT NULL, version_id INTEGER NOT NULL,
    last_updated TEXT NOT NULL, method TEXT NOT NULL, json TEXT,
    PRIMARY KEY (type, id, version_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS search_token (
    type TEXT NOT NULL, id TEXT NOT NULL, param TEXT NOT NULL, system TEXT NOT NULL,
    code TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS search_token_value ON search_token(type, param, code);
CREATE INDEX IF NOT EXISTS search_token_res ON search_token(type, id);
CREATE TABLE IF NOT EXISTS search_ref (
    type TEXT NOT NULL, id TEXT NOT NULL, param TEXT NOT NULL, ref_type TEXT NOT NULL,
    ref_id TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS search_ref_value ON search_ref(type, param, ref_id);
CREATE INDEX IF NOT EXISTS search_ref_res ON search_ref(type, id);
CREATE TABLE IF NOT EXISTS search_date (
    type TEXT NOT NULL, id TEXT NOT NULL, param TEXT NOT NULL, low TEXT NOT NULL,
    high TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS search_date_res ON search_date(type, id);
CREATE INDEX IF NOT EXISTS search_date_value ON search_date(type, param, low);
"""

_KEEP_BODY = (
    "UPDATE history SET json = ? WHERE type = ? AND id = ? AND version_id = ? AND json IS NULL"
)


class SqliteFhirStore(SqliteSearch):
    """The ``ServiceStore`` on one SQLite file (constructor: ``api.store.sql.SqlStore``)."""

    schema = SCHEMA

    def new_index(self) -> NlpIndex:
        """The NLP index in the same file."""
        return SqliteNlpIndex(self.db, clock=self.clock)

    # ----- reads

    def read(self, resource_type: str, resource_id: str) -> Resource | None:
        """The current version, or ``None`` when absent or deleted."""
        with self.db.read() as conn:
            row = conn.execute(
                "SELECT json FROM resources WHERE type = ? AND id = ?",
                (resource_type, resource_id),
            ).fetchone()
        return json.loads(row[0]) if row else None

    def current_version(self, resource_type: str, resource_id: str) -> tuple[str, bool] | None:
        """``(versionId, deleted)`` of the latest history entry, ``None`` if it never existed."""
        with self.db.read() as conn:
            return _latest(conn, resource_type, resource_id)

    def history_rows(
        self, resource_type: str, resource_id: str, version: int | None = None
    ) -> list[VersionInfo]:
        """Every version newest first, or only ``version`` (bodies parsed)."""
        sql, args = history_sql(resource_type, resource_id, version)
        with self.db.read() as conn:
            rows = conn.execute(sql, args).fetchall()
        return [
            VersionInfo(str(r[0]), r[1], r[2], json.loads(r[3]) if r[3] else None) for r in rows
        ]

    def generated_from(self, document_id: str) -> list[str]:
        """``Type/id`` of the live resources generated from one document."""
        with self.db.read() as conn:
            rows = conn.execute(
                "SELECT type, id FROM resources WHERE source_doc = ? ORDER BY type, id",
                (document_id,),
            ).fetchall()
        return [f"{r[0]}/{r[1]}" for r in rows]

    # ----- writes

    def save_all(
        self, resources: Sequence[Resource], *, delete: Sequence[str] = ()
    ) -> list[Resource]:
        """Upsert ``resources`` and delete ``"Type/id"`` refs in one transaction."""
        now = format_instant(self.clock())
        with self.db.transaction() as conn:
            stored = self._put_many(conn, [(r, None) for r in resources], now)
            for ref in delete:
                self._delete(conn, *ref_key(ref), now)
        return stored

    def delete(self, resource_type: str, resource_id: str) -> str | None:
        """Delete a resource (and, for a document, what was generated from it and its index).

        Returns the versionId of the deletion, or ``None`` when there was nothing to delete.
        """
        now = format_instant(self.clock())
        with self.db.transaction() as conn:
            return self._delete(conn, resource_type, resource_id, now)

    def apply(self, write: EnrichmentWrite) -> list[Resource]:
        """Write one enrichment atomically: document, generated, deletions, index, state.

        Raises:
            VersionConflict: ``write.if_match`` is not the document's current version.
        """
        now = format_instant(self.clock())
        doc = write.document
        doc_id = str(doc["id"])
        with self.db.transaction() as conn:
            if write.if_match is not None:
                latest = _latest(conn, "DocumentReference", doc_id)
                if latest is None or latest[1] or latest[0] != write.if_match:
                    raise VersionConflict(
                        f"DocumentReference/{doc_id} is not at version {write.if_match}"
                    )
            items: list[tuple[Resource, str | None]] = [(doc, None)]
            items += [(resource, doc_id) for resource in write.generated]
            stored = self._put_many(conn, items, now)
            keep = {f"{r['resourceType']}/{r['id']}" for r in stored[1:]}
            stale = conn.execute(
                "SELECT type, id FROM resources WHERE source_doc = ?", (doc_id,)
            ).fetchall()
            retired = set(write.retired) | {f"{t}/{i}" for t, i in stale}
            for ref in sorted(retired - keep):
                self._delete(conn, *ref_key(ref), now)
            self._relink(conn, doc_id, stored[1:])
            replace_rows(conn, doc_id, write.rows, write.state, now)
        return stored

    def _relink(self, conn: sqlite3.Connection, doc_id: str, generated: list[Resource]) -> None:
        conn.execute(
            "DELETE FROM search_ref WHERE type = 'DocumentReference' AND id = ? "
            "AND param = 'nlp-generated'",
            (doc_id,),
        )
        keys = [(r["resourceType"], r["id"]) for r in generated]
        conn.executemany(
            "DELETE FROM search_ref WHERE type = ? AND id = ? AND param = 'derived-from'", keys
        )
        rows = [("DocumentReference", doc_id, "nlp-generated", t, i) for t, i in keys]
        rows += [(t, i, "derived-from", "DocumentReference", doc_id) for t, i in keys]
        conn.executemany("INSERT INTO search_ref VALUES (?,?,?,?,?)", rows)

    def _put_many(
        self, conn: sqlite3.Connection, items: Sequence[tuple[Resource, str | None]], now: str
    ) -> list[Resource]:
        """Upsert ``(resource, source_doc)`` pairs with a handful of statements in total.

        An unchanged resource (same content and source) keeps its version; the others get
        ``current + 1`` (or ``last deleted + 1``, or 1), a history row and fresh helper rows.
        """
        keys = [resource_key(resource) for resource, _ in items]
        if len(set(keys)) != len(keys):  # the same resource twice: one at a time, in order
            return [self._put_many(conn, [item], now)[0] for item in items]
        current = {
            (r[0], r[1]): r
            for r in _select_keys(
                conn, "SELECT t.type, t.id, t.json, t.source_doc, t.version_id", "resources", keys
            )
        }
        missing = [k for k in keys if k not in current]
        last = {
            (r[0], r[1]): int(r[2])
            for r in _select_keys(
                conn,
                "SELECT t.type, t.id, MAX(t.version_id)",
                "history",
                missing,
                "GROUP BY t.type, t.id",
            )
        }
        stored_all: list[Resource] = []
        resource_rows: list[tuple[Any, ...]] = []
        history_rows: list[tuple[Any, ...]] = []
        superseded: list[tuple[Any, ...]] = []
        helper_rows: dict[str, list[tuple[str, ...]]] = {"token": [], "ref": [], "date": []}
        reindexed: list[tuple[str, str]] = []
        for (resource, source_doc), key in zip(items, keys, strict=True):
            row = current.get(key)
            if row is not None:
                old: Resource = json.loads(row[2])
                if row[3] == source_doc and content_of(old) == content_of(resource):
                    stored_all.append(old)
                    continue
                version, method = int(row[4]) + 1, "PUT"
                reindexed.append(key)
            else:
                previous = last.get(key)
                version = previous + 1 if previous else 1
                method = "PUT" if previous else "POST"
            stored = stamped(resource, key, version, now)
            text = dump_json(stored)
            resource_rows.append((*key, version, now, source_doc, text))
            history_rows.append((*key, version, now, method))
            if row is not None:  # the superseded body moves to its history row
                superseded.append((row[2], *key, int(row[4])))
            values = extract(stored)
            helper_rows["token"] += [(*key, *t) for t in values.tokens]
            helper_rows["ref"] += [(*key, *r) for r in values.refs]
            helper_rows["date"] += [(*key, *d) for d in values.dates]
            stored_all.append(stored)
        if reindexed:  # resources that had a current version also have helper rows
            conn.executemany("DELETE FROM search_token WHERE type = ? AND id = ?", reindexed)
            conn.executemany(
                "DELETE FROM search_ref WHERE type = ? AND id = ? AND param NOT IN (?, ?)",
                [(*k, *COMPUTED_PARAMS) for k in reindexed],
            )
            conn.executemany("DELETE FROM search_date WHERE type = ? AND id = ?", reindexed)
        if resource_rows:
            conn.executemany("INSERT OR REPLACE INTO resources VALUES (?,?,?,?,?,?)", resource_rows)
            conn.executemany("INSERT INTO history VALUES (?,?,?,?,?,NULL)", history_rows)
        if superseded:
            conn.executemany(_KEEP_BODY, superseded)
        for table, rows in helper_rows.items():
            if rows:
                conn.executemany(f"INSERT INTO search_{table} VALUES (?,?,?,?,?)", rows)
        return stored_all

    def _delete(
        self, conn: sqlite3.Connection, resource_type: str, resource_id: str, now: str
    ) -> str | None:
        row = conn.execute(
            "SELECT version_id, json FROM resources WHERE type = ? AND id = ?",
            (resource_type, resource_id),
        ).fetchone()
        if row is None:
            return None
        version = int(row[0]) + 1
        key = (resource_type, resource_id)
        conn.execute(_KEEP_BODY, (row[1], *key, int(row[0])))
        conn.execute("DELETE FROM resources WHERE type = ? AND id = ?", key)
        conn.execute("INSERT INTO history VALUES (?,?,?,?,?,NULL)", (*key, version, now, "DELETE"))
        for table in ("search_token", "search_ref", "search_date"):
            conn.execute(f"DELETE FROM {table} WHERE type = ? AND id = ?", key)
        if resource_type == "DocumentReference":
            children = conn.execute(
                "SELECT type, id FROM resources WHERE source_doc = ?", (resource_id,)
            ).fetchall()
            for child_type, child_id in children:
                self._delete(conn, child_type, child_id, now)
            conn.execute("DELETE FROM nlp_index WHERE doc_id = ?", (resource_id,))
            conn.execute("DELETE FROM nlp_documents WHERE doc_id = ?", (resource_id,))
        return str(version)


def _select_keys(
    conn: sqlite3.Connection,
    select: str,
    table: str,
    keys: Sequence[tuple[str, str]],
    tail: str = "",
) -> list[sqlite3.Row]:
    """``select`` (columns of ``t``) from ``table t`` for ``keys``, by primary key lookups.

    A join on a VALUES list (chunks of ``MAX_VARS // 2`` keys): SQLite plans
    ``(type, id) IN (VALUES ...)`` as a scan of the whole table, the join as one primary-key
    search per key.
    """
    rows: list[sqlite3.Row] = []
    step = MAX_VARS // 2
    for start in range(0, len(keys), step):
        chunk = keys[start : start + step]
        values = ",".join("(?,?)" for _ in chunk)
        sql = (
            f"{select} FROM (VALUES {values}) AS k CROSS JOIN {table} AS t "
            f"ON t.type = k.column1 AND t.id = k.column2 {tail}"
        )
        rows += conn.execute(sql, [part for key in chunk for part in key]).fetchall()
    return rows


def _latest(
    conn: sqlite3.Connection, resource_type: str, resource_id: str
) -> tuple[str, bool] | None:
    row = conn.execute(
        "SELECT version_id, method FROM history WHERE type = ? AND id = ? "
        "ORDER BY version_id DESC LIMIT 1",
        (resource_type, resource_id),
    ).fetchone()
    if row is None:
        return None
    return str(row[0]), row[1] == "DELETE"
