"""SqliteFhirStore (json1, versioned, helper search tables) + SqliteNlpIndex in one SQLite file.

Tables: ``resources`` (current versions), ``history`` (every version and deletion),
``search_token`` / ``search_ref`` / ``search_date`` (values of the standard search parameters,
filled at write time), ``nlp_index`` (one row per operation x entity x concept) and
``nlp_documents`` (NLP status, text hash, engine and full result per DocumentReference). An
enrichment (document + generated + deletions + index rows + state) is one transaction.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from api.search import (
    DateValue,
    NlpCriterion,
    Predicate,
    RefValue,
    SearchQuery,
    StandardCriterion,
    TokenValue,
    format_instant,
    normalize_text,
    parse_search,
)
from api.search_params import SEARCHABLE_TYPES
from api.store.base import (
    EnrichmentWrite,
    NlpState,
    Resource,
    ResourceGone,
    StoreError,
    VersionConflict,
)
from api.store.extract import extract
from enrich.index import IndexRow

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
CREATE TABLE IF NOT EXISTS nlp_index (
    doc_id TEXT NOT NULL, operation TEXT NOT NULL, entity_index INTEGER NOT NULL,
    entity_id INTEGER, text TEXT, text_norm TEXT, category TEXT, type TEXT, score REAL,
    concept_index INTEGER, concept_code TEXT, concept_description TEXT,
    concept_description_norm TEXT, concept_score REAL
);
CREATE INDEX IF NOT EXISTS nlp_index_doc ON nlp_index(doc_id);
CREATE INDEX IF NOT EXISTS nlp_index_code ON nlp_index(operation, concept_code);
CREATE INDEX IF NOT EXISTS nlp_index_text ON nlp_index(operation, text_norm);
CREATE TABLE IF NOT EXISTS nlp_documents (
    doc_id TEXT PRIMARY KEY, status TEXT NOT NULL, text_hash TEXT, engine_name TEXT,
    engine_version TEXT, result_json TEXT, updated TEXT NOT NULL
);
"""

_COMPUTED = ("derived-from", "nlp-generated")
_MAX_VARS = 500


class Database:
    """One SQLite file (WAL), one connection serialised by a re-entrant lock.

    Args:
        path: file path (parents created) or ``":memory:"``.
        busy_timeout_ms: wait for other processes' locks (default 10,000).
    """

    def __init__(self, path: str | Path, *, busy_timeout_ms: int = 10_000) -> None:
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).expanduser().parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(
            str(Path(self.path).expanduser()) if self.path != ":memory:" else self.path,
            check_same_thread=False,
            isolation_level=None,
        )
        self._conn.row_factory = sqlite3.Row
        self._lock = threading.RLock()
        self._depth = 0
        self._conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
        if self.path != ":memory:":
            self._conn.execute("PRAGMA journal_mode = WAL")
        self._conn.execute("PRAGMA synchronous = NORMAL")

    def executescript(self, script: str) -> None:
        """Run DDL (idempotent scripts only); outside any transaction."""
        with self._lock:
            self._conn.executescript(script)

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """``BEGIN IMMEDIATE`` ... ``COMMIT`` (``ROLLBACK`` on exception); nested = savepoint."""
        with self._lock:
            depth = self._depth
            self._conn.execute("BEGIN IMMEDIATE" if depth == 0 else f"SAVEPOINT s{depth}")
            self._depth += 1
            try:
                yield self._conn
            except BaseException:
                self._depth -= 1
                if depth == 0:
                    self._conn.execute("ROLLBACK")
                else:
                    self._conn.execute(f"ROLLBACK TO s{depth}")
                    self._conn.execute(f"RELEASE s{depth}")
                raise
            self._depth -= 1
            self._conn.execute("COMMIT" if depth == 0 else f"RELEASE s{depth}")

    @contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        """A consistent read under the same lock."""
        with self._lock:
            yield self._conn

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self._conn.close()


@dataclass(frozen=True)
class VersionInfo:
    """One entry of a resource's history."""

    version_id: str
    last_updated: str
    method: str
    resource: Resource | None


@dataclass
class SearchResult:
    """Matches of one page, the total, and the resources added by ``_include``/``_revinclude``."""

    total: int
    matches: list[Resource]
    included: list[Resource]


def _now() -> datetime:
    return datetime.now(UTC)


def _dump(resource: Resource) -> str:
    return json.dumps(resource, separators=(",", ":"), ensure_ascii=False)


def _content(resource: Resource) -> Resource:
    """The resource without the server-assigned meta fields (for no-op detection)."""
    body = dict(resource)
    meta = body.get("meta")
    if isinstance(meta, dict):
        meta = {k: v for k, v in meta.items() if k not in ("versionId", "lastUpdated")}
        if meta:
            body["meta"] = meta
        else:
            body.pop("meta")
    return body


def _chunks(items: Sequence[str]) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), _MAX_VARS):
        yield items[start : start + _MAX_VARS]


class SqliteNlpIndex:
    """NlpIndex on the service database (``nlp_index`` + ``nlp_documents``)."""

    def __init__(self, db: Database, *, clock: Callable[[], datetime] = _now) -> None:
        self.db = db
        self.clock = clock
        db.executescript(SCHEMA)

    def replace(
        self, document_id: str, rows: Sequence[IndexRow], *, state: NlpState | None = None
    ) -> None:
        """Replace the rows (and the state, when given) of one document."""
        with self.db.transaction() as conn:
            replace_rows(conn, document_id, rows, state, format_instant(self.clock()))

    def find(self, criteria: Sequence[NlpCriterion]) -> set[str]:
        """Ids of the documents matching every criterion (all indexed documents if none)."""
        where: list[str] = []
        args: list[Any] = []
        for criterion in criteria:
            sql, values = nlp_sql(criterion, "d.doc_id")
            where.append(sql)
            args.extend(values)
        query = "SELECT d.doc_id FROM nlp_documents d"
        if where:
            query += " WHERE " + " AND ".join(where)
        with self.db.read() as conn:
            return {row[0] for row in conn.execute(query, args)}

    def state(self, document_id: str) -> NlpState | None:
        """The remembered NLP state of one document."""
        with self.db.read() as conn:
            return read_state(conn, document_id)

    def remove(self, document_id: str) -> None:
        """Forget one document."""
        with self.db.transaction() as conn:
            conn.execute("DELETE FROM nlp_index WHERE doc_id = ?", (document_id,))
            conn.execute("DELETE FROM nlp_documents WHERE doc_id = ?", (document_id,))


def read_state(conn: sqlite3.Connection, document_id: str) -> NlpState | None:
    """The ``nlp_documents`` row of one document."""
    row = conn.execute("SELECT * FROM nlp_documents WHERE doc_id = ?", (document_id,)).fetchone()
    if row is None:
        return None
    return NlpState(
        status=row["status"],
        text_hash=row["text_hash"],
        engine_name=row["engine_name"],
        engine_version=row["engine_version"],
        result=json.loads(row["result_json"]) if row["result_json"] else None,
        updated=row["updated"],
    )


def replace_rows(
    conn: sqlite3.Connection,
    document_id: str,
    rows: Sequence[IndexRow],
    state: NlpState | None,
    now: str,
) -> None:
    """Replace the index rows (and state) of one document inside the caller's transaction."""
    conn.execute("DELETE FROM nlp_index WHERE doc_id = ?", (document_id,))
    conn.executemany(
        "INSERT INTO nlp_index VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        [
            (
                document_id,
                r.operation,
                r.entity_index,
                r.entity_id,
                r.text,
                normalize_text(r.text) if r.text is not None else None,
                r.category,
                r.type,
                r.score,
                r.concept_index,
                r.concept_code,
                r.concept_description,
                normalize_text(r.concept_description) if r.concept_description else None,
                r.concept_score,
            )
            for r in rows
        ],
    )
    if state is not None:
        conn.execute(
            "INSERT OR REPLACE INTO nlp_documents VALUES (?,?,?,?,?,?,?)",
            (
                document_id,
                state.status,
                state.text_hash,
                state.engine_name,
                state.engine_version,
                _dump(state.result) if state.result is not None else None,
                state.updated or now,
            ),
        )


# --------------------------------------------------------------------------- SQL builders

_NLP_COLUMNS = {
    "text": ("text", "text_norm"),
    "concept_description": ("concept_description", "concept_description_norm"),
}


def _like_escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _predicate_sql(pred: Predicate, alias: str) -> tuple[str, list[Any]]:
    if pred.kind == "string":
        raw, norm = _NLP_COLUMNS[pred.field]
        value = pred.value or ""
        if pred.op == "exact":
            return f"{alias}.{raw} = ?", [value]
        if pred.op == "contains":
            return f"instr({alias}.{norm}, ?) > 0", [value]
        return f"{alias}.{norm} LIKE ? ESCAPE '\\'", [_like_escape(value) + "%"]
    column = f"{alias}.{pred.field}"
    if pred.kind == "token":
        return f"{column} = ?", [pred.value]
    between = f"({column} >= ? AND {column} < ?)"
    ops = {
        "eq": (between, [pred.low, pred.high]),
        "ap": (f"({column} >= ? AND {column} <= ?)", [pred.low, pred.high]),
        "ne": (f"({column} IS NOT NULL AND NOT {between})", [pred.low, pred.high]),
        "gt": (f"{column} > ?", [pred.low]),
        "ge": (f"{column} >= ?", [pred.low]),
        "lt": (f"{column} < ?", [pred.low]),
        "le": (f"{column} <= ?", [pred.low]),
    }  # fmt: skip
    return ops[pred.op]


def nlp_sql(criterion: NlpCriterion, doc_id_expr: str) -> tuple[str, list[Any]]:
    """An ``EXISTS`` clause: some index row (or the status) of the document satisfies it."""
    args: list[Any] = []
    if criterion.operation is None:  # cm-decoration-status
        values = [p.value for alt in criterion.alternatives for p in alt]
        marks = ",".join("?" * len(values))
        sql = (
            f"EXISTS (SELECT 1 FROM nlp_documents s WHERE s.doc_id = {doc_id_expr} "
            f"AND s.status IN ({marks}))"
        )
        return sql, values
    alternatives: list[str] = []
    for alternative in criterion.alternatives:
        parts: list[str] = []
        for pred in alternative:
            sql, values = _predicate_sql(pred, "n")
            parts.append(sql)
            args.extend(values)
        alternatives.append("(" + " AND ".join(parts) + ")")
    sql = (
        f"EXISTS (SELECT 1 FROM nlp_index n WHERE n.doc_id = {doc_id_expr} "
        f"AND n.operation = ? AND ({' OR '.join(alternatives)}))"
    )
    return sql, [criterion.operation, *args]


def _date_point_sql(column: str, value: DateValue) -> tuple[str, list[Any]]:
    low, high = value.low, value.high
    return {
        "eq": (f"({column} >= ? AND {column} < ?)", [low, high]),
        "ap": (f"({column} >= ? AND {column} < ?)", [low, high]),
        "ne": (f"NOT ({column} >= ? AND {column} < ?)", [low, high]),
        "gt": (f"{column} >= ?", [high]),
        "sa": (f"{column} >= ?", [high]),
        "lt": (f"{column} < ?", [low]),
        "eb": (f"{column} < ?", [low]),
        "ge": (f"{column} >= ?", [low]),
        "le": (f"{column} < ?", [high]),
    }[value.prefix]


def _date_range_sql(value: DateValue) -> tuple[str, list[Any]]:
    low, high = value.low, value.high
    return {
        "eq": ("(d.low >= ? AND d.high <= ?)", [low, high]),
        "ne": ("NOT (d.low >= ? AND d.high <= ?)", [low, high]),
        "gt": ("d.high > ?", [high]),
        "lt": ("d.low < ?", [low]),
        "ge": ("d.high > ?", [low]),
        "le": ("d.low < ?", [high]),
        "sa": ("d.low >= ?", [high]),
        "eb": ("d.high <= ?", [low]),
        "ap": ("(d.low < ? AND d.high > ?)", [high, low]),
    }[value.prefix]


def _standard_sql(c: StandardCriterion) -> tuple[str, list[Any]]:
    args: list[Any] = []
    alternatives: list[str] = []
    if c.name == "_id":
        ids = [v.code for v in c.values if isinstance(v, TokenValue) and v.code is not None]
        marks = ",".join("?" * len(ids)) or "NULL"
        negate = "NOT " if c.modifier == "not" else ""
        return f"r.id {negate}IN ({marks})", ids
    if c.name == "_lastUpdated":
        for v in c.values:
            if isinstance(v, DateValue):
                sql, values = _date_point_sql("r.last_updated", v)
                alternatives.append(sql)
                args.extend(values)
        return "(" + " OR ".join(alternatives) + ")", args
    for v in c.values:
        if isinstance(v, TokenValue):
            if v.system is None:
                alternatives.append("t.code = ?")
                args.append(v.code)
            elif v.code is None:
                alternatives.append("t.system = ?")
                args.append(v.system)
            else:
                alternatives.append("(t.system = ? AND t.code = ?)")
                args.extend([v.system, v.code])
        elif isinstance(v, RefValue):
            if v.type is None:
                alternatives.append("s.ref_id = ?")
                args.append(v.id)
            else:
                alternatives.append("(s.ref_type = ? AND s.ref_id = ?)")
                args.extend([v.type, v.id])
        else:
            sql, values = _date_range_sql(v)
            alternatives.append(sql)
            args.extend(values)
    table, alias = {
        "token": ("search_token", "t"),
        "reference": ("search_ref", "s"),
        "date": ("search_date", "d"),
    }[c.kind]
    exists = (
        f"EXISTS (SELECT 1 FROM {table} {alias} WHERE {alias}.type = r.type "
        f"AND {alias}.id = r.id AND {alias}.param = ? AND ({' OR '.join(alternatives)}))"
    )
    if c.modifier == "not":
        exists = "NOT " + exists
    return exists, [c.name, *args]


# --------------------------------------------------------------------------- the store


class SqliteFhirStore:
    """FhirStore + AtomicEnrichmentStore on the service database.

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
        index: SqliteNlpIndex | None = None,
        clock: Callable[[], datetime] = _now,
        base_url: str = "",
    ) -> None:
        self.db = db
        self.clock = clock
        self.base_url = base_url
        db.executescript(SCHEMA)
        self.index = index or SqliteNlpIndex(db, clock=clock)

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

    def vread(self, resource_type: str, resource_id: str, version_id: str) -> Resource | None:
        """One version; ``None`` if it does not exist.

        Raises:
            ResourceGone: that version is a deletion.
        """
        try:
            number = int(version_id)
        except ValueError:
            return None
        with self.db.read() as conn:
            row = conn.execute(
                "SELECT json FROM history WHERE type = ? AND id = ? AND version_id = ?",
                (resource_type, resource_id, number),
            ).fetchone()
        if row is None:
            return None
        if row[0] is None:
            raise ResourceGone(f"{resource_type}/{resource_id} version {version_id} is a deletion")
        loaded: Resource = json.loads(row[0])
        return loaded

    def history(self, resource_type: str, resource_id: str) -> list[VersionInfo]:
        """All versions, newest first."""
        with self.db.read() as conn:
            rows = conn.execute(
                "SELECT version_id, last_updated, method, json FROM history "
                "WHERE type = ? AND id = ? ORDER BY version_id DESC",
                (resource_type, resource_id),
            ).fetchall()
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
            stored = [self._put(conn, r, now) for r in resources]
            for ref in delete:
                resource_type, _, resource_id = ref.partition("/")
                self._delete(conn, resource_type, resource_id, now)
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
            stored = [self._put(conn, doc, now)]
            for resource in write.generated:
                stored.append(self._put(conn, resource, now, source_doc=doc_id))
            keep = {f"{r['resourceType']}/{r['id']}" for r in stored[1:]}
            stale = conn.execute(
                "SELECT type, id FROM resources WHERE source_doc = ?", (doc_id,)
            ).fetchall()
            retired = set(write.retired) | {f"{t}/{i}" for t, i in stale}
            for ref in sorted(retired - keep):
                resource_type, _, resource_id = ref.partition("/")
                self._delete(conn, resource_type, resource_id, now)
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

    def _put(
        self,
        conn: sqlite3.Connection,
        resource: Resource,
        now: str,
        *,
        source_doc: str | None = None,
    ) -> Resource:
        resource_type = resource.get("resourceType")
        resource_id = resource.get("id")
        if not isinstance(resource_type, str) or not isinstance(resource_id, str):
            raise StoreError("resource without resourceType or id", code="NLP422")
        current = conn.execute(
            "SELECT json, source_doc, version_id FROM resources WHERE type = ? AND id = ?",
            (resource_type, resource_id),
        ).fetchone()
        if current is not None:
            old: Resource = json.loads(current[0])
            if _content(old) == _content(resource) and current[1] == source_doc:
                return old
            latest: tuple[str, bool] | None = (str(current[2]), False)
        else:
            latest = _latest(conn, resource_type, resource_id)
        version = int(latest[0]) + 1 if latest else 1
        meta = dict(resource.get("meta") or {})
        meta["versionId"] = str(version)
        meta["lastUpdated"] = now
        stored: Resource = {"resourceType": resource_type, "id": resource_id, "meta": meta}
        stored.update((k, v) for k, v in resource.items() if k not in stored)
        text = _dump(stored)
        conn.execute(
            "INSERT OR REPLACE INTO resources VALUES (?,?,?,?,?,?)",
            (resource_type, resource_id, version, now, source_doc, text),
        )
        method = "PUT" if latest else "POST"
        conn.execute(
            "INSERT INTO history VALUES (?,?,?,?,?,?)",
            (resource_type, resource_id, version, now, method, text),
        )
        self._reindex(conn, stored, fresh=current is None)
        return stored

    def _reindex(self, conn: sqlite3.Connection, resource: Resource, *, fresh: bool) -> None:
        key = (resource["resourceType"], resource["id"])
        if not fresh:  # a resource without a current version has no helper rows
            conn.execute("DELETE FROM search_token WHERE type = ? AND id = ?", key)
            conn.execute(
                "DELETE FROM search_ref WHERE type = ? AND id = ? AND param NOT IN (?, ?)",
                (*key, *_COMPUTED),
            )
            conn.execute("DELETE FROM search_date WHERE type = ? AND id = ?", key)
        values = extract(resource)
        conn.executemany(
            "INSERT INTO search_token VALUES (?,?,?,?,?)", [(*key, *t) for t in values.tokens]
        )
        conn.executemany(
            "INSERT INTO search_ref VALUES (?,?,?,?,?)", [(*key, *r) for r in values.refs]
        )
        conn.executemany(
            "INSERT INTO search_date VALUES (?,?,?,?,?)", [(*key, *d) for d in values.dates]
        )

    def _delete(
        self, conn: sqlite3.Connection, resource_type: str, resource_id: str, now: str
    ) -> str | None:
        row = conn.execute(
            "SELECT version_id FROM resources WHERE type = ? AND id = ?",
            (resource_type, resource_id),
        ).fetchone()
        if row is None:
            return None
        version = int(row[0]) + 1
        key = (resource_type, resource_id)
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
        where = ["r.type = ?"]
        args: list[Any] = [query.resource_type]
        for criterion in query.standard:
            sql, values = _standard_sql(criterion)
            where.append(sql)
            args.extend(values)
        for nlp in query.nlp:
            sql, values = nlp_sql(nlp, "r.id")
            where.append(sql)
            args.extend(values)
        clause = " AND ".join(where)
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
