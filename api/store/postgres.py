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

import hashlib
import logging
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from datetime import datetime
from typing import Any, TypeVar

import psycopg
from psycopg import errors as pg_errors

from api.search import NlpCriterion, SearchQuery, format_instant, normalize_text, parse_search
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
from api.store.sql import nlp_sql, standard_sql
from api.store.sqlite import (
    _COMPUTED,
    SearchResult,
    SqliteFhirStore,
    VersionInfo,
    _content,
    _dump,
)
from api.store.sqlite_index import utc_now
from enrich.index import IndexRow

log = logging.getLogger(__name__)

_T = 'TEXT COLLATE "C"'  # byte order, as SQLite compares TEXT

SCHEMA = f"""
CREATE TABLE IF NOT EXISTS heads (
    type {_T} NOT NULL, id {_T} NOT NULL, version_id INTEGER NOT NULL DEFAULT 0,
    deleted BOOLEAN NOT NULL DEFAULT FALSE,
    PRIMARY KEY (type, id)
);
CREATE TABLE IF NOT EXISTS resources (
    type {_T} NOT NULL, id {_T} NOT NULL, version_id INTEGER NOT NULL,
    last_updated {_T} NOT NULL, source_doc {_T}, json JSON NOT NULL,
    PRIMARY KEY (type, id)
);
CREATE INDEX IF NOT EXISTS resources_updated ON resources(type, last_updated);
CREATE INDEX IF NOT EXISTS resources_source ON resources(source_doc);
CREATE TABLE IF NOT EXISTS history (
    type {_T} NOT NULL, id {_T} NOT NULL, version_id INTEGER NOT NULL,
    last_updated {_T} NOT NULL, method {_T} NOT NULL, json JSON,
    PRIMARY KEY (type, id, version_id)
);
CREATE TABLE IF NOT EXISTS search_token (
    type {_T} NOT NULL, id {_T} NOT NULL, param {_T} NOT NULL, system {_T} NOT NULL,
    code {_T} NOT NULL
);
CREATE INDEX IF NOT EXISTS search_token_value ON search_token(type, param, code);
CREATE INDEX IF NOT EXISTS search_token_res ON search_token(type, id);
CREATE TABLE IF NOT EXISTS search_ref (
    type {_T} NOT NULL, id {_T} NOT NULL, param {_T} NOT NULL, ref_type {_T} NOT NULL,
    ref_id {_T} NOT NULL
);
CREATE INDEX IF NOT EXISTS search_ref_value ON search_ref(type, param, ref_id);
CREATE INDEX IF NOT EXISTS search_ref_res ON search_ref(type, id);
CREATE TABLE IF NOT EXISTS search_date (
    type {_T} NOT NULL, id {_T} NOT NULL, param {_T} NOT NULL, low {_T} NOT NULL,
    high {_T} NOT NULL
);
CREATE INDEX IF NOT EXISTS search_date_res ON search_date(type, id);
CREATE TABLE IF NOT EXISTS nlp_index (
    doc_id {_T} NOT NULL, operation {_T} NOT NULL, entity_index INTEGER NOT NULL,
    entity_id INTEGER, text {_T}, text_norm {_T}, category {_T}, type {_T},
    score DOUBLE PRECISION, concept_index INTEGER, concept_code {_T},
    concept_description {_T}, concept_description_norm {_T}, concept_score DOUBLE PRECISION
);
CREATE INDEX IF NOT EXISTS nlp_index_doc ON nlp_index(doc_id);
CREATE INDEX IF NOT EXISTS nlp_index_code ON nlp_index(operation, concept_code);
CREATE INDEX IF NOT EXISTS nlp_index_text ON nlp_index(operation, text_norm);
CREATE INDEX IF NOT EXISTS nlp_index_desc ON nlp_index(operation, concept_description_norm);
CREATE TABLE IF NOT EXISTS nlp_documents (
    doc_id {_T} PRIMARY KEY, status {_T} NOT NULL, text_hash {_T}, engine_name {_T},
    engine_version {_T}, result JSON, updated {_T} NOT NULL
);
CREATE INDEX IF NOT EXISTS nlp_documents_status ON nlp_documents(status);
"""

_SCHEMA_LOCK = (0x646F6372, 1)  # pg_advisory_xact_lock keys: schema set-up
_WRITE_LOCK = (0x646F6372, 2)  # the SQLite-dialect transaction() ("BEGIN IMMEDIATE")
_RETRIES = 4

_R = TypeVar("_R")
Key = tuple[str, str]


class StoreUnavailable(StoreError):  # noqa: N818
    """The database cannot be reached, or a lock wait timed out / deadlocked: retry later.

    ``reason``: ``connection`` | ``timeout`` | ``conflict`` (deadlock, serialization failure) |
    ``reconnect`` (the connection was lost before anything was written: safe to run again).
    """

    code = "NLP503"
    status = 503

    def __init__(self, message: str, *, reason: str = "connection") -> None:
        super().__init__(message)
        self.reason = reason


def _mapped(exc: psycopg.Error) -> StoreError:
    """A database error as a coded store error (no SQL, no values: they may hold PHI)."""
    name = type(exc).__name__
    if isinstance(exc, pg_errors.DeadlockDetected | pg_errors.SerializationFailure):
        return StoreUnavailable(f"concurrent write conflict ({name})", reason="conflict")
    if isinstance(exc, pg_errors.LockNotAvailable | pg_errors.QueryCanceled):
        return StoreUnavailable(f"lock wait timed out ({name})", reason="timeout")
    if isinstance(exc, psycopg.OperationalError):
        return StoreUnavailable(f"database unavailable ({name})")
    return StoreError(f"database error ({name})", code="NLP500")


def is_postgres_url(url: str) -> bool:
    """Whether a ``db_path`` setting names a PostgreSQL database.

    >>> is_postgres_url("postgresql://docref@db/docref"), is_postgres_url("/var/lib/x.sqlite")
    (True, False)
    """
    return url.startswith(("postgresql://", "postgres://"))


def redact_url(url: str) -> str:
    """The URL without its password (for logs and errors).

    >>> redact_url("postgresql://u:secret@h:5432/db")
    'postgresql://u:***@h:5432/db'
    """
    return re.sub(r"^(\w+://[^:/@]+):[^@]*@", r"\1:***@", url)


# --------------------------------------------------------------------------- SQLite dialect

_QUOTED = re.compile(r"('(?:[^']|'')*'|\"(?:[^\"]|\"\")*\")")
_DDL = (
    (re.compile(r"\bINTEGER\s+PRIMARY\s+KEY\s+AUTOINCREMENT\b", re.I),
     "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY"),
    (re.compile(r"\bREAL\b", re.I), "DOUBLE PRECISION"),
    (re.compile(r"\bWITHOUT\s+ROWID\b", re.I), ""),
    (re.compile(r"\binstr\(", re.I), "strpos("),
)  # fmt: skip
_UPSERT_TARGET = re.compile(r"^\s*INSERT\s+INTO\s+(\w+).*\bDO\s+UPDATE\s+SET\b", re.I | re.S)
_UPSERT_SELF = re.compile(r"(?<=[\s,])(\w+)\s*=\s*\1\b(?!\s*\.)")
_PRAGMA = re.compile(r"^\s*PRAGMA\s+(\w+)\s*(=\s*\S+)?\s*;?\s*$", re.I)


def to_pg(sql: str) -> str:
    """SQLite SQL -> PostgreSQL: ``?`` -> ``%s`` (``%`` doubled), DDL types, ``instr``, upserts.

    Quoted strings and identifiers are left alone.

    >>> to_pg("SELECT '?%', x FROM t WHERE a = ? AND instr(b, ?) > 0")
    "SELECT '?%', x FROM t WHERE a = %s AND strpos(b, %s) > 0"
    >>> to_pg("INSERT INTO c(k, n) VALUES (?, ?) ON CONFLICT(k) DO UPDATE SET n = n + excluded.n")
    'INSERT INTO c(k, n) VALUES (%s, %s) ON CONFLICT(k) DO UPDATE SET n = c.n + excluded.n'
    >>> to_pg("CREATE TABLE q (seq INTEGER PRIMARY KEY AUTOINCREMENT, t REAL)")
    'CREATE TABLE q (seq BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, t DOUBLE PRECISION)'
    """
    parts = _QUOTED.split(sql)
    for i in range(0, len(parts), 2):  # even parts are outside quotes
        text = parts[i].replace("%", "%%").replace("?", "%s")
        for pattern, replacement in _DDL:
            text = pattern.sub(replacement, text)
        parts[i] = text
    translated = "".join(parts)
    target = _UPSERT_TARGET.search(translated)
    if target is not None:  # SQLite reads ``SET n = n + 1`` as the existing row; PG: ambiguous
        head, tail = translated[: target.end()], translated[target.end() :]
        translated = head + _UPSERT_SELF.sub(rf"\1 = {target.group(1)}.\1", tail)
    return translated


class _StaticCursor:
    """The answer to a PRAGMA (PostgreSQL commits are durable: ``synchronous`` is FULL)."""

    rowcount = -1
    lastrowid = None
    description = None

    def __init__(self, rows: list[tuple[Any, ...]]) -> None:
        self._rows = rows

    def fetchone(self) -> tuple[Any, ...] | None:
        return self._rows.pop(0) if self._rows else None

    def fetchall(self) -> list[tuple[Any, ...]]:
        rows, self._rows = self._rows, []
        return rows

    def __iter__(self) -> Iterator[tuple[Any, ...]]:
        return iter(self.fetchall())


class SqliteCursor:
    """A psycopg cursor seen as a ``sqlite3.Cursor`` (``fetchone`` is ``None`` without rows)."""

    def __init__(self, cursor: psycopg.Cursor[Any], conn: psycopg.Connection[Any]) -> None:
        self._cursor = cursor
        self._conn = conn

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def description(self) -> list[tuple[Any, ...]] | None:
        columns = self._cursor.description
        return (
            None
            if columns is None
            else [(c.name, None, None, None, None, None, None) for c in columns]
        )

    @property
    def lastrowid(self) -> int | None:
        """``lastval()``: the identity value of the last INSERT of this session."""
        try:
            with self._conn.transaction():
                row = self._conn.execute("SELECT lastval()").fetchone()
        except psycopg.errors.ObjectNotInPrerequisiteState:
            return None
        return int(row[0]) if row else None

    def fetchone(self) -> tuple[Any, ...] | None:
        return self._cursor.fetchone() if self._cursor.description is not None else None

    def fetchall(self) -> list[tuple[Any, ...]]:
        return self._cursor.fetchall() if self._cursor.description is not None else []

    def __iter__(self) -> Iterator[tuple[Any, ...]]:
        return iter(self.fetchall())


class SqliteConnection:
    """A psycopg connection with the ``sqlite3.Connection`` calls the service code uses."""

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self.raw = conn

    def execute(self, sql: str, params: Sequence[Any] = ()) -> SqliteCursor | _StaticCursor:
        """``?`` placeholders; ``PRAGMA x`` answers like a durable SQLite, ``PRAGMA x=y`` no-op."""
        pragma = _PRAGMA.match(sql)
        if pragma is not None:
            value = 2 if pragma.group(1).lower() == "synchronous" else 0
            return _StaticCursor([] if pragma.group(2) else [(value,)])
        if params:
            cursor = self.raw.execute(to_pg(sql), tuple(params))
        else:
            cursor = self.raw.execute(to_pg(sql).replace("%%", "%"))
        return SqliteCursor(cursor, self.raw)

    def executemany(self, sql: str, seq: Iterable[Sequence[Any]]) -> None:
        """``executemany`` with ``?`` placeholders."""
        with self.raw.cursor() as cursor:
            cursor.executemany(to_pg(sql), [tuple(p) for p in seq])


# --------------------------------------------------------------------------- the database


class _Local(threading.local):
    conn: psycopg.Connection[Any] | None = None
    depth: int = 0
    exclusive: bool = False


class Database:
    """A PostgreSQL database seen like ``api.store.sqlite.Database``; a small connection pool.

    Each thread uses one pooled connection for its outermost transaction; nested
    ``transaction()`` calls on the same thread are savepoints of it.

    Args:
        url: ``postgresql://user:password@host:port/dbname?...`` (libpq URL).
        pool_size: connections kept open at most (threads beyond that wait).
        lock_timeout_ms: wait for other writers' row locks (default 10,000, like SQLite's
            ``busy_timeout``); beyond it the write fails with ``[NLP503]``.
        connect_timeout_s: connection timeout (default 10).
    """

    def __init__(
        self,
        url: str,
        *,
        pool_size: int = 16,
        lock_timeout_ms: int = 10_000,
        connect_timeout_s: int = 10,
    ) -> None:
        self.path = url  # like sqlite.Database.path
        self.url = url
        self.pool_size = pool_size
        self.lock_timeout_ms = lock_timeout_ms
        self.connect_timeout_s = connect_timeout_s
        self._idle: list[psycopg.Connection[Any]] = []
        self._open = 0
        self._closed = False
        self._cond = threading.Condition()
        self._local = _Local()
        self._checkin(self._connect())  # fail fast

    # ----- pool

    def _connect(self) -> psycopg.Connection[Any]:
        try:
            conn = psycopg.connect(
                self.url,
                autocommit=True,
                connect_timeout=self.connect_timeout_s,
                application_name="docref-nlp",
            )
            conn.execute(f"SET lock_timeout = {int(self.lock_timeout_ms)}")
        except psycopg.Error as exc:
            raise StoreUnavailable(
                f"cannot connect to {redact_url(self.url)}: {type(exc).__name__}"
            ) from None
        with self._cond:
            self._open += 1
        return conn

    def _checkout(self) -> psycopg.Connection[Any]:
        deadline = time.monotonic() + 30.0
        with self._cond:
            while True:
                if self._closed:
                    raise StoreUnavailable("the database handle is closed")
                if self._idle:
                    return self._idle.pop()
                if self._open < self.pool_size:
                    break
                if not self._cond.wait(timeout=max(0.0, deadline - time.monotonic())):
                    raise StoreUnavailable("no database connection free within 30 s")
        return self._connect()

    def _checkin(self, conn: psycopg.Connection[Any]) -> None:
        healthy = (
            not conn.closed and conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
        )
        with self._cond:
            if healthy and not self._closed:
                self._idle.append(conn)
            else:
                self._open -= 1
            self._cond.notify()
        if not healthy or self._closed:
            conn.close()

    # ----- transactions

    def in_transaction(self) -> bool:
        """Whether this thread is inside a transaction of this handle."""
        return self._local.conn is not None

    @contextmanager
    def connection(self, *, pipeline: bool = False) -> Iterator[psycopg.Connection[Any]]:
        """A native psycopg connection in a transaction (``%s`` placeholders); nested = savepoint.

        ``pipeline``: pipeline mode (``BEGIN``, writes and ``COMMIT`` are sent without waiting;
        only reads wait for the server).

        Raises:
            StoreUnavailable: connection lost, lock timeout, deadlock (retryable).
            StoreError: ``[NLP500]`` other database errors.
        """
        local = self._local
        if local.conn is not None:
            local.depth += 1
            try:
                with ExitStack() as stack:
                    if pipeline:
                        stack.enter_context(local.conn.pipeline())
                    stack.enter_context(local.conn.transaction())
                    yield local.conn
            finally:
                local.depth -= 1
            return
        conn, transaction = self._begin(pipeline=pipeline)
        local.conn, local.depth, local.exclusive = conn, 1, False
        try:
            with transaction:
                yield conn
        except psycopg.Error as exc:
            raise _mapped(exc) from exc
        finally:
            local.conn, local.depth, local.exclusive = None, 0, False
            self._checkin(conn)

    def _begin(self, *, pipeline: bool = False) -> tuple[psycopg.Connection[Any], ExitStack]:
        """A pooled connection with its transaction begun; a lost connection is replaced once
        (nothing was sent yet, so a server restart costs no failed request). In pipeline mode
        ``BEGIN`` is only queued: the first read finds a lost connection (see ``_Work.lock``).
        """
        for attempt in (1, 2):
            conn = self._checkout()
            transaction = ExitStack()
            try:
                if pipeline:
                    transaction.enter_context(conn.pipeline())
                transaction.enter_context(conn.transaction())
                return conn, transaction
            except psycopg.OperationalError as exc:
                self._checkin(conn)
                if attempt == 2 or not conn.broken:
                    raise _mapped(exc) from exc
                log.info("database connection lost: reconnecting")
            except psycopg.Error as exc:
                self._checkin(conn)
                raise _mapped(exc) from exc
        raise AssertionError("unreachable")

    def query(self, sql: str, params: Sequence[Any] | None = None) -> list[tuple[Any, ...]]:
        """The rows of one read statement (``%s`` placeholders).

        Inside this thread's transaction it runs there; otherwise on a pooled connection in
        autocommit (no ``BEGIN``/``COMMIT`` round trips), retried once on a fresh connection
        when the pooled one was lost (server restart, idle timeout).

        Raises:
            StoreUnavailable, StoreError: as ``connection()``.
        """
        if self._local.conn is not None:
            return self._local.conn.execute(sql, params).fetchall()
        for attempt in (1, 2):
            conn = self._checkout()
            try:
                return conn.execute(sql, params).fetchall()
            except psycopg.OperationalError as exc:
                if attempt == 2 or not conn.broken:
                    raise _mapped(exc) from exc
                log.info("database connection lost: reconnecting")
            except psycopg.Error as exc:
                raise _mapped(exc) from exc
            finally:
                self._checkin(conn)
        raise AssertionError("unreachable")

    @contextmanager
    def transaction(self) -> Iterator[SqliteConnection]:
        """Like SQLite's ``BEGIN IMMEDIATE``: one writer at a time across every process.

        Yields a SQLite-dialect handle (``?`` placeholders). Nested = savepoint. The store's
        own writes do not take this lock (they lock rows); code written for SQLite does.
        """
        with self.connection() as conn:
            local = self._local
            took = False
            if not local.exclusive:
                conn.execute("SELECT pg_advisory_xact_lock(%s, %s)", _WRITE_LOCK)
                local.exclusive = took = True
            try:
                yield SqliteConnection(conn)
            except BaseException:
                if took and local.depth > 1:
                    local.exclusive = False  # released with the savepoint
                raise

    @contextmanager
    def read(self) -> Iterator[SqliteConnection]:
        """A read in one transaction (read committed), SQLite-dialect handle."""
        with self.connection() as conn:
            yield SqliteConnection(conn)

    def executescript(self, script: str) -> None:
        """Run idempotent SQLite DDL (translated), serialised across processes."""
        self.execute_ddl(to_pg(script).replace("%%", "%"))

    def execute_ddl(self, script: str) -> None:
        """Run idempotent PostgreSQL DDL once per database (its digest is remembered).

        Replicas may start while others already write: DDL that merely re-checks existing
        tables would still lock them (``CREATE INDEX IF NOT EXISTS`` takes a share lock) and can
        deadlock with writers, so a script already applied is not run again.
        """
        digest = hashlib.sha256(script.encode()).hexdigest()
        if self._applied(digest):
            return
        with self.connection() as conn:
            conn.execute("SELECT pg_advisory_xact_lock(%s, %s)", _SCHEMA_LOCK)
            conn.execute("CREATE TABLE IF NOT EXISTS docref_schema (digest TEXT PRIMARY KEY)")
            if conn.execute("SELECT 1 FROM docref_schema WHERE digest = %s", (digest,)).fetchone():
                return
            conn.execute(script)
            conn.execute("INSERT INTO docref_schema VALUES (%s)", (digest,))

    def _applied(self, digest: str) -> bool:
        with self.connection() as conn:
            if conn.execute("SELECT to_regclass('docref_schema')").fetchone() == (None,):
                return False
            row = conn.execute("SELECT 1 FROM docref_schema WHERE digest = %s", (digest,))
            return row.fetchone() is not None

    def close(self) -> None:
        """Close every pooled connection."""
        with self._cond:
            self._closed = True
            idle, self._idle = self._idle, []
            self._open -= len(idle)
            self._cond.notify_all()
        for conn in idle:
            conn.close()


def _retrying(db: Database, action: Callable[[], _R]) -> _R:
    """Run a whole write again after a deadlock (only when not inside a caller's transaction)."""
    attempts = 1 if db.in_transaction() else _RETRIES
    for attempt in range(1, attempts + 1):
        try:
            return action()
        except StoreUnavailable as exc:
            if attempt == attempts or exc.reason not in ("conflict", "reconnect"):
                raise
            log.info("write conflict, attempt %d of %d: retrying", attempt, attempts)
            time.sleep(0.01 * attempt)
    raise AssertionError("unreachable")


# --------------------------------------------------------------------------- NLP index


_NLP_INSERT = """
INSERT INTO nlp_index
SELECT %(doc)s, * FROM unnest(
    %(operation)s::text[], %(entity_index)s::int[], %(entity_id)s::int[], %(text)s::text[],
    %(text_norm)s::text[], %(category)s::text[], %(type)s::text[], %(score)s::float8[],
    %(concept_index)s::int[], %(concept_code)s::text[], %(concept_description)s::text[],
    %(concept_description_norm)s::text[], %(concept_score)s::float8[])
"""

_STATE_UPSERT = """
INSERT INTO nlp_documents VALUES (%s, %s, %s, %s, %s, %s::json, %s)
ON CONFLICT (doc_id) DO UPDATE SET status = EXCLUDED.status, text_hash = EXCLUDED.text_hash,
    engine_name = EXCLUDED.engine_name, engine_version = EXCLUDED.engine_version,
    result = EXCLUDED.result, updated = EXCLUDED.updated
"""


def replace_rows(
    conn: psycopg.Connection[Any],
    document_id: str,
    rows: Sequence[IndexRow],
    state: NlpState | None,
    now: str,
) -> None:
    """Replace the index rows (and state) of one document inside the caller's transaction."""
    conn.execute("DELETE FROM nlp_index WHERE doc_id = %s", (document_id,))
    if rows:
        columns: dict[str, Any] = {
            "doc": document_id,
            "operation": [r.operation for r in rows],
            "entity_index": [r.entity_index for r in rows],
            "entity_id": [r.entity_id for r in rows],
            "text": [r.text for r in rows],
            "text_norm": [normalize_text(r.text) if r.text is not None else None for r in rows],
            "category": [r.category for r in rows],
            "type": [r.type for r in rows],
            "score": [r.score for r in rows],
            "concept_index": [r.concept_index for r in rows],
            "concept_code": [r.concept_code for r in rows],
            "concept_description": [r.concept_description for r in rows],
            "concept_description_norm": [
                normalize_text(r.concept_description) if r.concept_description else None
                for r in rows
            ],
            "concept_score": [r.concept_score for r in rows],
        }
        conn.execute(_NLP_INSERT, columns)
    if state is not None:
        conn.execute(
            _STATE_UPSERT,
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


class PgNlpIndex:
    """NlpIndex on the service database (``nlp_index`` + ``nlp_documents``)."""

    def __init__(self, db: Database, *, clock: Callable[[], datetime] = utc_now) -> None:
        self.db = db
        self.clock = clock
        db.execute_ddl(SCHEMA)

    def replace(
        self, document_id: str, rows: Sequence[IndexRow], *, state: NlpState | None = None
    ) -> None:
        """Replace the rows (and the state, when given) of one document."""
        now = format_instant(self.clock())

        def run() -> None:
            with self.db.connection() as conn:
                conn.execute(
                    "SELECT 1 FROM heads WHERE type = 'DocumentReference' AND id = %s FOR UPDATE",
                    (document_id,),
                )
                replace_rows(conn, document_id, rows, state, now)

        _retrying(self.db, run)

    def find(self, criteria: Sequence[NlpCriterion]) -> set[str]:
        """Ids of the documents matching every criterion (all indexed documents if none)."""
        where: list[str] = []
        args: list[Any] = []
        for criterion in criteria:
            sql, values = nlp_sql(criterion, "d.doc_id")
            where.append(to_pg(sql))
            args.extend(values)
        query = "SELECT d.doc_id FROM nlp_documents d"
        if where:
            query += " WHERE " + " AND ".join(where)
        return {row[0] for row in self.db.query(query, args)}

    def state(self, document_id: str) -> NlpState | None:
        """The remembered NLP state of one document."""
        rows = self.db.query(
            "SELECT status, text_hash, engine_name, engine_version, result, updated "
            "FROM nlp_documents WHERE doc_id = %s",
            (document_id,),
        )
        return NlpState(*rows[0]) if rows else None

    def remove(self, document_id: str) -> None:
        """Forget one document."""
        with self.db.connection() as conn:
            conn.execute("DELETE FROM nlp_index WHERE doc_id = %s", (document_id,))
            conn.execute("DELETE FROM nlp_documents WHERE doc_id = %s", (document_id,))


# --------------------------------------------------------------------------- the unit of work

_LOCK_HEADS = """
INSERT INTO heads (type, id) SELECT * FROM unnest(%(types)s::text[], %(ids)s::text[])
ON CONFLICT (type, id) DO NOTHING
"""
# the heads of ``keys`` and of the live resources generated from document ``doc``
_KEYS = """
    SELECT * FROM unnest(%(types)s::text[], %(ids)s::text[])
    UNION SELECT type, id FROM resources WHERE source_doc = %(doc)s
"""
_SELECT_HEADS = f"""
SELECT h.type, h.id, h.version_id FROM heads h WHERE (h.type, h.id) IN ({_KEYS})
ORDER BY h.type, h.id FOR UPDATE OF h
"""
_SELECT_LIVE = f"""
SELECT r.type, r.id, r.json, r.source_doc FROM resources r WHERE (r.type, r.id) IN ({_KEYS})
"""
# One statement per stored version: head, history, current row, and its search values (the
# DELETEs and INSERTs of the helper tables share one snapshot, so only old rows are deleted).
_PUT = """
WITH h AS (
    UPDATE heads SET version_id = %(v)s, deleted = FALSE WHERE type = %(t)s AND id = %(i)s
), hist AS (
    INSERT INTO history VALUES (%(t)s, %(i)s, %(v)s, %(now)s, %(method)s, %(json)s::json)
), dt AS (
    DELETE FROM search_token WHERE type = %(t)s AND id = %(i)s
), dr AS (
    DELETE FROM search_ref WHERE type = %(t)s AND id = %(i)s AND param <> ALL(%(computed)s::text[])
), dd AS (
    DELETE FROM search_date WHERE type = %(t)s AND id = %(i)s
), it AS (
    INSERT INTO search_token
    SELECT %(t)s, %(i)s, * FROM unnest(%(tp)s::text[], %(ts)s::text[], %(tc)s::text[])
), ir AS (
    INSERT INTO search_ref
    SELECT %(t)s, %(i)s, * FROM unnest(%(rp)s::text[], %(rt)s::text[], %(ri)s::text[])
), idt AS (
    INSERT INTO search_date
    SELECT %(t)s, %(i)s, * FROM unnest(%(dp)s::text[], %(dl)s::text[], %(dh)s::text[])
)
INSERT INTO resources VALUES (%(t)s, %(i)s, %(v)s, %(now)s, %(src)s, %(json)s::json)
ON CONFLICT (type, id) DO UPDATE SET version_id = EXCLUDED.version_id,
    last_updated = EXCLUDED.last_updated, source_doc = EXCLUDED.source_doc, json = EXCLUDED.json
"""
_DELETE = """
WITH h AS (
    UPDATE heads SET version_id = %(v)s, deleted = TRUE WHERE type = %(t)s AND id = %(i)s
), hist AS (
    INSERT INTO history VALUES (%(t)s, %(i)s, %(v)s, %(now)s, 'DELETE', NULL)
), dt AS (
    DELETE FROM search_token WHERE type = %(t)s AND id = %(i)s
), dr AS (
    DELETE FROM search_ref WHERE type = %(t)s AND id = %(i)s
), dd AS (
    DELETE FROM search_date WHERE type = %(t)s AND id = %(i)s
)
DELETE FROM resources WHERE type = %(t)s AND id = %(i)s
"""


def _columns(rows: Sequence[tuple[str, str, str]]) -> tuple[list[str], list[str], list[str]]:
    return [r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows]


class _Work:
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
                (self.conn.execute(_SELECT_HEADS, args), self.conn.execute(_SELECT_LIVE, args))
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
        resource_type = resource.get("resourceType")
        resource_id = resource.get("id")
        if not isinstance(resource_type, str) or not isinstance(resource_id, str):
            raise StoreError("resource without resourceType or id", code="NLP422")
        key = (resource_type, resource_id)
        self.lock([key])
        current = self.live[key]
        if current is not None:
            old, old_source = current
            if _content(old) == _content(resource) and old_source == source_doc:
                return old
        previous = self.heads[key]
        version = previous + 1
        meta = dict(resource.get("meta") or {})
        meta["versionId"] = str(version)
        meta["lastUpdated"] = self.now
        stored: Resource = {"resourceType": resource_type, "id": resource_id, "meta": meta}
        stored.update((k, v) for k, v in resource.items() if k not in stored)
        params: dict[str, Any] = {
            "t": resource_type,
            "i": resource_id,
            "v": version,
            "now": self.now,
            "method": "PUT" if previous else "POST",
            "json": _dump(stored),
            "src": source_doc,
            "computed": list(_COMPUTED),
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
                DELETE FROM search_ref s USING unnest(%(types)s::text[], %(ids)s::text[]) k(t, i)
                WHERE s.type = k.t AND s.id = k.i AND s.param = 'derived-from'
            ), f AS (
                INSERT INTO search_ref SELECT 'DocumentReference', %(doc)s, 'nlp-generated', t, i
                FROM unnest(%(types)s::text[], %(ids)s::text[]) k(t, i)
            )
            INSERT INTO search_ref SELECT t, i, 'derived-from', 'DocumentReference', %(doc)s
            FROM unnest(%(types)s::text[], %(ids)s::text[]) k(t, i)
            """,
            {"types": gen_types, "ids": gen_ids, "doc": doc_id},
        )


# --------------------------------------------------------------------------- the store


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
            "SELECT json FROM history WHERE type = %s AND id = %s AND version_id = %s",
            (resource_type, resource_id, number),
        )
        if not rows:
            return None
        if rows[0][0] is None:
            raise ResourceGone(f"{resource_type}/{resource_id} version {version_id} is a deletion")
        loaded: Resource = rows[0][0]
        return loaded

    def history(self, resource_type: str, resource_id: str) -> list[VersionInfo]:
        """All versions, newest first."""
        rows = self.db.query(
            "SELECT version_id, last_updated, method, json FROM history "
            "WHERE type = %s AND id = %s ORDER BY version_id DESC",
            (resource_type, resource_id),
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
    def _work(self) -> Iterator[_Work]:
        now = format_instant(self.clock())
        with self.db.connection(pipeline=True) as conn:
            yield _Work(conn, now)

    def save_all(
        self, resources: Sequence[Resource], *, delete: Sequence[str] = ()
    ) -> list[Resource]:
        """Upsert ``resources`` and delete ``"Type/id"`` refs in one transaction."""

        def run() -> list[Resource]:
            with self._work() as work:
                keys = [(str(r.get("resourceType")), str(r.get("id"))) for r in resources]
                work.lock(keys + [_key(ref) for ref in delete])
                stored = [work.put(r) for r in resources]
                for ref in delete:
                    work.delete(*_key(ref))
            return stored

        return _retrying(self.db, run)

    def delete(self, resource_type: str, resource_id: str) -> str | None:
        """Delete a resource (and, for a document, what was generated from it and its index).

        Returns the versionId of the deletion, or ``None`` when there was nothing to delete.
        """

        def run() -> str | None:
            with self._work() as work:
                return work.delete(resource_type, resource_id)

        return _retrying(self.db, run)

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
                    + [_key(ref) for ref in write.retired],
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
                    work.delete(*_key(ref))
                work.relink(doc_id, stored[1:])
                replace_rows(work.conn, doc_id, write.rows, write.state, work.now)
            return stored

        return _retrying(self.db, run)

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
            sql, values = standard_sql(criterion)
            where.append(sql)
            args.extend(values)
        for nlp in query.nlp:
            sql, values = nlp_sql(nlp, "r.id")
            where.append(sql)
            args.extend(values)
        clause = to_pg(" AND ".join(where))
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
                _SELECT_LIVE,
                {"types": [k[0] for k in keys], "ids": [k[1] for k in keys], "doc": None},
            )
        }
        return [found[k] for k in keys if k in found]


def _key(ref: str) -> Key:
    resource_type, _, resource_id = ref.partition("/")
    return resource_type, resource_id
