"""Database: one SQLite file (WAL), one connection serialised by a lock; nested transactions."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from api.store.base import StoreError
from api.store.deferred import buffer_of, close_buffer, open_buffer

#: Page size of new database files (docs/performance.md: a commit writes every page it
#: changes whole, and a 2 KB note's commit changes ~60 pages, most of them for a few entries:
#: 2 KB pages write ~22 % fewer WAL bytes than 4 KB ones, searches as fast, 1 KB ones slower).
PAGE_SIZE = 2048
#: ``PRAGMA secure_delete`` of every connection (docs/performance.md): ``FAST`` zeroes deleted
#: content on the B-tree pages a write changes anyway, but not the pages it frees (they keep
#: their bytes until reused: a growing file reuses them first). ``ON`` (how Debian builds
#: SQLite; SQLite's own default is ``OFF``) writes every freed page, zeroed, to the WAL: the
#: term index's merges free some 8-10 pages per 2 KB note.
SECURE_DELETE = "FAST"
_SECURE_DELETE = ("ON", "OFF", "FAST")


class Database:
    """One SQLite file (WAL), one connection serialised by a re-entrant lock.

    WAL checkpoints (which fsync the database file) run on a background thread with its own
    connection every ``checkpoint_interval_s``, so commits on the request path never wait for
    one; SQLite's own auto-checkpoint stays as a bound (10,000 pages) when that thread lags.

    Args:
        path: file path (parents created) or ``":memory:"``.
        busy_timeout_ms: wait for other processes' locks (default 10,000).
        checkpoint_interval_s: seconds between background checkpoints (default 2.0; 0 = off,
            SQLite's default auto-checkpoint of 1,000 pages then applies).
        cache_mb: page cache of the connection, in MiB (default 64; SQLite's own is 2).
        page_size: bytes per page of a new database file (default ``PAGE_SIZE``; an existing
            file keeps its own). Every page a commit changes is written whole to the WAL.
        secure_delete: ``PRAGMA secure_delete`` (``ON``, ``OFF`` or ``FAST``; default
            ``SECURE_DELETE``), the same whatever SQLite's build chose.

    Raises:
        StoreError: ``[NLP530]`` ``secure_delete`` is none of those.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        busy_timeout_ms: int = 10_000,
        checkpoint_interval_s: float = 2.0,
        cache_mb: int = 64,
        page_size: int | None = None,
        secure_delete: str = SECURE_DELETE,
    ) -> None:
        if secure_delete.upper() not in _SECURE_DELETE:
            raise StoreError(f"secure_delete must be one of {', '.join(_SECURE_DELETE)}")
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
        # before WAL mode: a new file takes its page size when it is first written
        self._conn.execute(f"PRAGMA page_size = {int(page_size or PAGE_SIZE)}")
        if self.path != ":memory:":
            self._conn.execute("PRAGMA journal_mode = WAL")
        self._conn.execute("PRAGMA synchronous = NORMAL")
        self._conn.execute(f"PRAGMA secure_delete = {secure_delete.upper()}")
        self._conn.execute(f"PRAGMA cache_size = {-1024 * int(cache_mb)}")
        self._stop = threading.Event()
        self._checkpointer: threading.Thread | None = None
        if self.path != ":memory:" and checkpoint_interval_s > 0:
            self._conn.execute("PRAGMA wal_autocheckpoint = 10000")
            self._checkpointer = threading.Thread(
                target=self._checkpoint_loop,
                args=(checkpoint_interval_s, busy_timeout_ms),
                name="sqlite-checkpoint",
                daemon=True,
            )
            self._checkpointer.start()

    def _checkpoint_loop(self, interval_s: float, busy_timeout_ms: int) -> None:
        conn = sqlite3.connect(str(Path(self.path).expanduser()), isolation_level=None)
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
            while not self._stop.wait(interval_s):
                try:
                    conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
                except sqlite3.Error:  # busy or locked: the next round catches up
                    continue
        finally:
            conn.close()

    def pause_checkpoints(self) -> None:
        """Stop checkpointing (background and automatic): the WAL then grows by exactly what
        each commit writes. For measurements (``docref-nlp bench-e2e``); ``close`` after."""
        self._stop.set()
        if self._checkpointer is not None:
            self._checkpointer.join(timeout=10)
            self._checkpointer = None
        with self._lock:
            self._conn.execute("PRAGMA wal_autocheckpoint = 0")

    def executescript(self, script: str) -> None:
        """Run DDL (idempotent scripts only); outside any transaction."""
        with self._lock:
            self._conn.executescript(script)

    def execute_ddl(self, script: str) -> None:
        """Run SQLite DDL (the store's own dialect: the same as ``executescript``)."""
        self.executescript(script)

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """``BEGIN IMMEDIATE`` ... ``COMMIT`` (``ROLLBACK`` on exception); nested = savepoint."""
        with self._lock:
            depth = self._depth
            self._conn.execute("BEGIN IMMEDIATE" if depth == 0 else f"SAVEPOINT s{depth}")
            buffer = buffer_of(self._conn) if depth else None
            mark = buffer.mark() if buffer is not None else (0, 0)
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
                    if buffer is not None:  # and the term writes kept since
                        buffer.truncate(mark)
                raise
            self._depth -= 1
            self._conn.execute("COMMIT" if depth == 0 else f"RELEASE s{depth}")

    @contextmanager
    def deferred_terms(self) -> Iterator[None]:
        """Inside a transaction: the term-index writes of the transactions nested in it are
        kept and written at the end, in rowid order (``api.store.deferred``): one FTS5 segment
        for the whole block instead of one per savepoint. A savepoint rolled back drops its
        own; an exception out of the block drops them all (the transaction rolls back).

        Raises:
            StoreError: ``[NLP530]`` outside a transaction.
        """
        with self._lock:
            if self._depth == 0:
                raise StoreError("deferred_terms needs an open transaction")
            if buffer_of(self._conn) is not None:  # already inside one
                yield
                return
            buffer = open_buffer(self._conn)
            try:
                yield
                buffer.flush(self._conn)
            finally:
                close_buffer(self._conn)

    @contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        """A consistent read under the same lock."""
        with self._lock:
            yield self._conn

    def close(self) -> None:
        """Stop the checkpoint thread and close the connection."""
        self._stop.set()
        if self._checkpointer is not None:
            self._checkpointer.join(timeout=10)
        with self._lock:
            self._conn.close()
