"""Database: a PostgreSQL database seen like the SQLite one (pooled connections, savepoints)."""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from typing import Any, TypeVar

import psycopg
from psycopg import errors as pg_errors
from psycopg.types.json import set_json_loads

from api.store.base import StoreError
from api.store.codec import load_json
from api.store.dsn import redact_url
from api.store.pg_dialect import SqliteConnection, to_pg

log = logging.getLogger(__name__)

_SCHEMA_LOCK = (0x646F6372, 1)  # pg_advisory_xact_lock keys: schema set-up
_WRITE_LOCK = (0x646F6372, 2)  # the SQLite-dialect transaction() ("BEGIN IMMEDIATE")
_RETRIES = 4

_R = TypeVar("_R")


class StoreUnavailable(StoreError):  # noqa: N818
    """The database cannot be reached, or a lock wait timed out / deadlocked: retry later.

    ``reason``: ``connection`` | ``timeout`` | ``conflict`` (deadlock, serialization failure) |
    ``reconnect`` (the connection was lost before anything was written: safe to run again).
    """

    code = "NLP503"

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
    return StoreError(f"database error ({name})", code="NLP530")


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
            set_json_loads(load_json, conn)  # bodies: orjson's speed, json's big integers
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
            StoreError: ``[NLP530]`` other database errors.
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
        ``BEGIN`` is only queued: the first read finds a lost connection (see ``Work.lock``).
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


def retrying(db: Database, action: Callable[[], _R]) -> _R:
    """Run a whole write again after a deadlock (only when not inside a caller's transaction)."""
    attempts = 1 if db.in_transaction() else _RETRIES
    for attempt in range(1, attempts + 1):
        try:
            return action()
        except StoreUnavailable as exc:
            if attempt == attempts or exc.reason not in ("conflict", "reconnect"):
                raise
            log.info("write retried (%s), attempt %d of %d", exc.reason, attempt, attempts)
            time.sleep(0.01 * attempt)
    raise AssertionError("unreachable")
