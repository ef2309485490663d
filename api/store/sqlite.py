"""SqliteFhirStore: versioned resources, history and search values in one SQLite file.

Tables (``api.store.sqlite_schema``, docs/performance.md): ``resources`` (current versions,
keyed by ``rid``), ``history`` (past versions and deletions; the body of the current version
lives only in ``resources`` and moves to its history row when superseded or deleted, so a
write stores each body once; generated resources keep no history rows, see
``api.store.sql``), the search values (``search_terms``, ``search_date``,
filled at write time) and the NLP index (``api.store.sqlite_index``), so an enrichment
(document + generated + deletions + index rows + state) is one transaction.
``Database`` (``api.store.database``) and ``SqliteNlpIndex`` are re-exported here.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from api.search import format_instant
from api.store.base import (
    EnrichmentWrite,
    NlpIndex,
    Resource,
    VersionConflict,
    VersionInfo,
)
from api.store.bodies import Bodies, Stored, bundle, forget
from api.store.codec import encode_body
from api.store.database import Database as Database
from api.store.deferred import buffer_of, write_terms
from api.store.sql import (
    Key,
    content_of,
    history_sql,
    latest_version,
    ref_key,
    resource_key,
    stamped,
)
from api.store.sqlite_index import SqliteNlpIndex as SqliteNlpIndex
from api.store.sqlite_index import remove_document, replace_rows
from api.store.sqlite_schema import Values, ensure_schema, search_values, write_values
from api.store.sqlite_search import KEYED, MAX_VARS, SqliteSearch, keyed_rows
from api.store.terms import id_term

_KEEP_BODY = (
    "UPDATE history SET json = ? WHERE type = ? AND id = ? AND version_id = ? AND json IS NULL"
)


class SqliteFhirStore(SqliteSearch):
    """The ``ServiceStore`` on one SQLite file (constructor: ``api.store.sql.SqlStore``)."""

    def prepare_schema(self) -> None:
        """Create or upgrade the schema (``api.store.sqlite_schema``)."""
        with self.db.read() as conn:
            ensure_schema(conn)

    def new_index(self) -> NlpIndex:
        """The NLP index in the same file."""
        return SqliteNlpIndex(self.db, clock=self.clock)

    @contextmanager
    def deferred_terms(self) -> Iterator[None]:
        """Inside a ``transaction``: the term-index writes of the writes nested in it are
        written at its end, one FTS5 segment for them all (``Database.deferred_terms``; the
        batch store sink's groups)."""
        with self.db.deferred_terms():
            yield

    # ----- reads

    def read(self, resource_type: str, resource_id: str) -> Resource | None:
        """The current version, or ``None`` when absent or deleted."""
        with self.db.read() as conn:
            rows = keyed_rows(
                conn,
                "SELECT t.type, t.id, t.json, t.bid, t.part",
                [(resource_type, resource_id)],
                [None],
            )
            found: Resource | None = Bodies(conn).load(tuple(rows[0])[2:]) if rows else None
        return found

    def current_version(self, resource_type: str, resource_id: str) -> tuple[str, bool] | None:
        """``(versionId, deleted)`` of the latest version, ``None`` if it never existed."""
        with self.db.read() as conn:
            return _latest(conn, resource_type, resource_id)

    def history_rows(
        self, resource_type: str, resource_id: str, version: int | None = None
    ) -> list[VersionInfo]:
        """Every version newest first, or only ``version`` (bodies parsed)."""
        keyed = (
            f"(SELECT * FROM resources WHERE rid IN ({KEYED}))",
            [id_term(resource_type, resource_id)],
        )
        sql, args = history_sql(resource_type, resource_id, version, bundled=True, resources=keyed)
        with self.db.read() as conn:
            bodies = Bodies(conn)
            return [
                VersionInfo(
                    str(r[0]),
                    r[1],
                    r[2],
                    bodies.load((r[3], r[4], r[5])) if r[3] is not None or r[4] else None,
                )
                for r in conn.execute(sql, args).fetchall()
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
            # the NLP terms first: their rows (-dkey) are below the resources' in the term
            # index, which is written in ascending rowid order (``write_values``)
            replace_rows(conn, doc_id, write.rows, write.state, now)
            items: list[tuple[Resource, str | None]] = [(doc, None)]
            items += [(resource, doc_id) for resource in write.generated]
            stored = self._put_many(conn, items, now)
            keep = {f"{r['resourceType']}/{r['id']}" for r in stored[1:]}
            stale = conn.execute(
                "SELECT type, id FROM resources WHERE source_doc = ?", (doc_id,)
            ).fetchall()
            retired = set(write.retired) | {f"{t}/{i}" for t, i in stale}
            for ref in sorted(retired - keep):
                self._delete(conn, *ref_key(ref), now, source=doc_id)
        return stored

    def _keeps_history(self, source_doc: str | None) -> bool:
        return source_doc is None or self.generated_history

    def _put_many(
        self, conn: sqlite3.Connection, items: Sequence[tuple[Resource, str | None]], now: str
    ) -> list[Resource]:
        """Upsert ``(resource, source_doc)`` pairs with a handful of statements in total.

        An unchanged resource (same content and source) keeps its version; the others get
        ``current + 1`` (or ``last deleted + 1``, or 1), a history row (unless generated) and
        fresh search values. A resource keeps its ``rid`` across versions; new ones are
        appended. The generated bodies of one call are stored as one bundle.
        """
        keys = [resource_key(resource) for resource, _ in items]
        if len(set(keys)) != len(keys):  # the same resource twice: one at a time, in order
            return [self._put_many(conn, [item], now)[0] for item in items]
        current = {
            (r[0], r[1]): r
            for r in keyed_rows(
                conn,
                "SELECT t.type, t.id, t.source_doc, t.version_id, t.rid, t.json, t.bid, t.part",
                keys,
                [source_doc for _, source_doc in items],
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
        next_rid = int(conn.execute("SELECT COALESCE(MAX(rid), 0) FROM resources").fetchone()[0])
        bodies = Bodies(conn)
        stored_all: list[Resource] = []
        written: list[_Written] = []
        superseded: list[tuple[Any, ...]] = []
        replaced: dict[int, Values] = {}  # search values of the versions replaced, by rid
        old_bundles: set[tuple[int, str | None]] = set()
        for (resource, source_doc), key in zip(items, keys, strict=True):
            row = current.get(key)
            if row is not None:
                body: Stored = (row[5], row[6], row[7])
                old: Resource = bodies.load(body)
                if row[2] == source_doc and content_of(old) == content_of(resource):
                    stored_all.append(old)
                    continue
                version, method, rid = int(row[3]) + 1, "PUT", int(row[4])
                superseded.append((key, int(row[3]), body))
                replaced[rid] = search_values(rid, key[0], old)
                if row[6] is not None:
                    old_bundles.add((int(row[6]), row[2]))
            else:
                previous = last.get(key)
                version = previous + 1 if previous else 1
                method = "PUT" if previous else "POST"
                next_rid += 1
                rid = next_rid
            stored = stamped(resource, key, version, now)
            written.append(_Written(rid, key, stored, source_doc, row is not None, method))
            stored_all.append(stored)
        # search values: those of a new version that equal its replaced version's stay
        fresh = [(w.rid, search_values(w.rid, w.key[0], w.stored)) for w in written]
        fresh = [(rid, v) for rid, v in fresh if replaced.get(rid) != v]
        forgotten = [(rid, replaced[rid][0]) for rid, _ in fresh if rid in replaced]
        if forgotten:  # their terms go in ``write_values``, in rowid order with the new ones
            conn.executemany("DELETE FROM search_date WHERE rid = ?", [(r,) for r, _ in forgotten])
        if superseded:  # a superseded body moves to its history row (when it has one)
            _keep_bodies(conn, bodies, superseded)
        self._write_rows(conn, written, now)
        if old_bundles:
            forget(conn, old_bundles)
        write_values(conn, fresh, forgotten)
        return stored_all

    def _write_rows(self, conn: sqlite3.Connection, written: list[_Written], now: str) -> None:
        """The ``resources`` and ``history`` rows of the versions written."""
        generated = [w for w in written if w.source_doc is not None]
        parts: dict[int, tuple[int, int]] = {}
        if len(generated) > 1:
            new_bid = bundle(conn, [w.stored for w in generated])
            parts = {w.rid: (new_bid, n) for n, w in enumerate(generated)}
        inserted: list[tuple[Any, ...]] = []
        updated: list[tuple[Any, ...]] = []
        history_rows: list[tuple[Any, ...]] = []
        for w in written:
            bid: int | None = None
            part: int | None = None
            body = None
            if w.rid in parts:
                bid, part = parts[w.rid]
            else:
                body = encode_body(w.stored)
            version = int(w.stored["meta"]["versionId"])
            if w.existed:
                updated.append((version, now, w.source_doc, body, bid, part, w.rid))
            else:
                inserted.append((w.rid, *w.key, version, now, w.source_doc, body, bid, part))
            if self._keeps_history(w.source_doc):
                history_rows.append((*w.key, version, now, w.method))
        if updated:
            conn.executemany(
                "UPDATE resources SET version_id = ?, last_updated = ?, source_doc = ?, json = ?, "
                "bid = ?, part = ? WHERE rid = ?",
                updated,
            )
        if inserted:
            conn.executemany("INSERT INTO resources VALUES (?,?,?,?,?,?,?,?,?)", inserted)
            buffer = buffer_of(conn)
            if buffer is not None:  # their key terms are kept to the group's end
                buffer.note_inserted([((r[1], r[2]), r[0]) for r in inserted])
        if history_rows:
            conn.executemany("INSERT INTO history VALUES (?,?,?,?,?,NULL)", history_rows)

    def _delete(
        self,
        conn: sqlite3.Connection,
        resource_type: str,
        resource_id: str,
        now: str,
        *,
        source: str | None = None,
    ) -> str | None:
        """Delete one resource (``source``: the document it was likely generated from, where
        it is looked up first, ``keyed_rows``)."""
        key = (resource_type, resource_id)
        found = keyed_rows(
            conn,
            "SELECT t.type, t.id, t.rid, t.version_id, t.json, t.bid, t.part, t.source_doc",
            [key],
            [source],
        )
        if not found:
            return None
        row = tuple(found[0])[2:]
        rid, version = int(row[0]), int(row[1]) + 1
        bodies = Bodies(conn)
        body: Stored = (row[2], row[3], row[4])
        old = bodies.load(body)
        _forget_values(conn, [(rid, search_values(rid, key[0], old)[0])])
        _keep_bodies(conn, bodies, [(key, int(row[1]), body)])
        conn.execute("DELETE FROM resources WHERE rid = ?", (rid,))
        if row[3] is not None:
            forget(conn, {(int(row[3]), row[5])})
        conn.execute("INSERT INTO history VALUES (?,?,?,?,?,NULL)", (*key, version, now, "DELETE"))
        if resource_type == "DocumentReference":
            children = conn.execute(
                "SELECT type, id FROM resources WHERE source_doc = ?", (resource_id,)
            ).fetchall()
            for child_type, child_id in children:
                self._delete(conn, child_type, child_id, now, source=resource_id)
            remove_document(conn, resource_id)
        return str(version)


@dataclass(frozen=True)
class _Written:
    """A version ``_put_many`` writes."""

    rid: int
    key: tuple[str, str]
    stored: Resource
    source_doc: str | None
    existed: bool
    method: str


def _keep_bodies(
    conn: sqlite3.Connection, bodies: Bodies, superseded: Sequence[tuple[Key, int, Stored]]
) -> None:
    """Move the bodies of superseded versions ``(key, version, body)`` to their history rows,
    for the versions that have one (a generated resource has none unless the store keeps
    their history): a bundled body is encoded on its own only for those."""
    waiting = {
        (r[0], r[1], int(r[2]))
        for r in _select_keys(
            conn,
            "SELECT t.type, t.id, t.version_id",
            "history",
            list(dict.fromkeys(key for key, _, _ in superseded)),
            "WHERE t.json IS NULL",
        )
    }
    moved = [(bodies.text(b), *key, v) for key, v, b in superseded if (*key, v) in waiting]
    if moved:
        conn.executemany(_KEEP_BODY, moved)


def _forget_values(conn: sqlite3.Connection, forgotten: list[tuple[int, str]]) -> None:
    """Remove the search values of ``(rid, terms)`` (their terms as written)."""
    write_terms(conn, [(rid, 0, terms) for rid, terms in forgotten if terms])
    conn.executemany("DELETE FROM search_date WHERE rid = ?", [(rid,) for rid, _ in forgotten])


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


_LAST_HISTORY = (
    "SELECT version_id, CASE WHEN method = 'DELETE' THEN 1 ELSE 0 END FROM history "
    "WHERE type = ? AND id = ? ORDER BY version_id DESC LIMIT 1"
)


def _latest(
    conn: sqlite3.Connection, resource_type: str, resource_id: str
) -> tuple[str, bool] | None:
    """``(versionId, deleted)``: the current row (``keyed_rows``), else history's."""
    key = (resource_type, resource_id)
    current = keyed_rows(conn, "SELECT t.type, t.id, t.version_id", [key], [None])
    if current:
        return latest_version([(current[0][2], 0)])
    return latest_version(conn.execute(_LAST_HISTORY, key).fetchall())
