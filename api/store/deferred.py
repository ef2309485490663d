"""Term-index writes of a group of SQLite writes, held back to the group's end.

FTS5 writes its in-memory segment to disk at every ``SAVEPOINT`` and whenever a write's rowid
is not above the one before (docs/performance.md). A batch sink's group
(``Database.deferred_terms``: one transaction, one savepoint per document) therefore wrote one
term-index segment per document. While a ``TermBuffer`` is open on a connection, the store's
term writes (``write_terms``) are kept here and written when the group ends, in ascending rowid
order (a removal before an addition of the same row, as they came): one segment for the group.

What the buffer holds follows the savepoints: a savepoint rolled back drops what was kept
since it opened (``mark`` / ``truncate``), so a document that fails leaves no terms. Until the
group ends, the term index does not hold the group's own terms: the one lookup of the write
path that reads it (``sqlite_search.keyed_rows``, keys not found by B-tree) also looks at the
rows the group inserted (``inserted``). A search inside the group does not see the group's
own writes; a batch sink does not search.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from itertools import groupby
from operator import itemgetter

#: Add a row's terms (``rowid``, ``terms``).
INSERT_TERMS = "INSERT INTO search_terms (rowid, terms) VALUES (?, ?)"
#: Remove them: a contentless FTS5 row is removed with the terms it holds.
DELETE_TERMS = "INSERT INTO search_terms (search_terms, rowid, terms) VALUES ('delete', ?, ?)"

#: A term write: ``(rowid, kind, terms)``, kind 0 removes, 1 adds.
TermOp = tuple[int, int, str]

_OPEN: dict[int, TermBuffer] = {}  # by id() of the connection (it takes no weak reference)


class TermBuffer:
    """The term writes and inserted rows of one open group (``Database.deferred_terms``)."""

    def __init__(self) -> None:
        self.ops: list[TermOp] = []
        self.rows: list[tuple[tuple[str, str], int]] = []  # ((type, id), rid) inserted
        self._rids: dict[tuple[str, str], int] | None = {}

    def mark(self) -> tuple[int, int]:
        """Where a savepoint opens."""
        return len(self.ops), len(self.rows)

    def truncate(self, mark: tuple[int, int]) -> None:
        """Forget what was kept since ``mark`` (its savepoint was rolled back)."""
        del self.ops[mark[0] :]
        if len(self.rows) > mark[1]:
            del self.rows[mark[1] :]
            self._rids = None

    def inserted(self, keys: Iterable[tuple[str, str]]) -> list[int]:
        """The rids the group last inserted under ``keys`` (the row may be gone since, or
        its rid taken by another key: the caller reads the row and checks its key)."""
        if self._rids is None:
            self._rids = dict(self.rows)
        rids = self._rids
        return [rids[k] for k in keys if k in rids]

    def note_inserted(self, rows: Sequence[tuple[tuple[str, str], int]]) -> None:
        """Rows ``((type, id), rid)`` the group inserted into ``resources``."""
        self.rows += rows
        if self._rids is not None:
            self._rids.update(rows)

    def flush(self, conn: sqlite3.Connection) -> None:
        """Write the kept term writes in ascending rowid order (stable: as they came)."""
        ops, self.ops = sorted(self.ops, key=itemgetter(0)), []
        execute_terms(conn, ops)


def execute_terms(conn: sqlite3.Connection, ops: Sequence[TermOp]) -> None:
    """Run term writes in their order, consecutive ones of a kind in one ``executemany``."""
    for kind, run in groupby(ops, itemgetter(1)):
        conn.executemany(INSERT_TERMS if kind else DELETE_TERMS, [(r[0], r[2]) for r in run])


def buffer_of(conn: sqlite3.Connection) -> TermBuffer | None:
    """The buffer open on ``conn``, if any."""
    return _OPEN.get(id(conn)) if _OPEN else None


def open_buffer(conn: sqlite3.Connection) -> TermBuffer:
    """Open a buffer on ``conn`` (``Database.deferred_terms``)."""
    buffer = _OPEN[id(conn)] = TermBuffer()
    return buffer


def close_buffer(conn: sqlite3.Connection) -> None:
    """Close ``conn``'s buffer (what it kept and did not flush is dropped)."""
    _OPEN.pop(id(conn), None)


def write_terms(conn: sqlite3.Connection, ops: Sequence[TermOp]) -> None:
    """Term writes ``(rowid, kind, terms)`` in this order: kept when a buffer is open on
    ``conn``, else written now."""
    buffer = buffer_of(conn)
    if buffer is not None:
        buffer.ops += ops
    else:
        execute_terms(conn, ops)
