"""Resumable-run checkpoint: a small SQLite file of finished documents and output parts.

A run writes its results in numbered *parts* (a few hundred documents each). For every part:

1. ``open_part()`` records the part as *open* (committed to disk) before the sink writes;
2. the sink writes the part (NDJSON files renamed into place, or store transactions);
3. ``commit_part()`` marks the part *done* and every document of it *done*, in one transaction.

A run killed between 1 and 3 leaves an open part; the next run calls the sink's ``discard`` for
it (deletes that part's files) and processes its documents again, so the output holds every
document exactly once. Documents are keyed by (source, document id, text hash, engine), so an
edited note or a new engine version is processed again even with an old checkpoint.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from pathlib import Path

from api.batch.model import DocResult

_SCHEMA = """
CREATE TABLE IF NOT EXISTS parts (
    part INTEGER PRIMARY KEY,
    state TEXT NOT NULL CHECK (state IN ('open', 'done', 'dropped'))
);
CREATE TABLE IF NOT EXISTS documents (
    source TEXT NOT NULL,
    doc_id TEXT NOT NULL,
    text_hash TEXT NOT NULL,
    engine TEXT NOT NULL,
    outcome TEXT NOT NULL,
    part INTEGER NOT NULL,
    PRIMARY KEY (source, doc_id, text_hash, engine)
);
"""


class Checkpoint:
    """SQLite checkpoint of one run configuration (source + sink + engine).

    Args:
        path: File path, or ``":memory:"`` for a run that cannot resume.
        source: Identity of the source (e.g. ``ndjson:s3://bucket/export``).
        engine: ``name@version`` of the engine.
    """

    def __init__(self, path: str | Path, *, source: str, engine: str) -> None:
        if str(path) != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        self.path = str(path)
        self.source = source
        self.engine = engine
        self._db = sqlite3.connect(self.path, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        self._db.close()

    def is_done(self, doc_id: str, text_hash: str) -> bool:
        """True when this exact document text was finished by this engine in an earlier part."""
        row = self._db.execute(
            "SELECT 1 FROM documents WHERE source=? AND doc_id=? AND text_hash=? AND engine=?",
            (self.source, doc_id, text_hash, self.engine),
        ).fetchone()
        return row is not None

    def done_keys(self) -> frozenset[tuple[str, str]]:
        """(document id, text hash) of every finished document (shipped to remote planners)."""
        rows = self._db.execute(
            "SELECT doc_id, text_hash FROM documents WHERE source=? AND engine=?",
            (self.source, self.engine),
        )
        return frozenset((str(a), str(b)) for a, b in rows)

    def done_count(self) -> int:
        row = self._db.execute(
            "SELECT COUNT(*) FROM documents WHERE source=? AND engine=?",
            (self.source, self.engine),
        ).fetchone()
        return int(row[0])

    def open_parts(self) -> list[int]:
        """Parts opened by a run that stopped before committing them."""
        rows = self._db.execute("SELECT part FROM parts WHERE state='open' ORDER BY part")
        return [int(r[0]) for r in rows]

    def open_part(self) -> int:
        """Allocate the next part number and record it as open (durable before any write)."""
        with self._transaction():
            row = self._db.execute("SELECT COALESCE(MAX(part), -1) + 1 FROM parts").fetchone()
            part = int(row[0])
            self._db.execute("INSERT INTO parts (part, state) VALUES (?, 'open')", (part,))
        return part

    def commit_part(self, part: int, results: Iterable[DocResult]) -> None:
        """Mark the part and its finished documents done, atomically.

        Errored documents are not recorded, so the next run tries them again.
        """
        with self._transaction():
            self._db.executemany(
                "INSERT OR REPLACE INTO documents"
                " (source, doc_id, text_hash, engine, outcome, part) VALUES (?, ?, ?, ?, ?, ?)",
                [
                    (self.source, r.doc_id, r.text_hash, self.engine, r.outcome, part)
                    for r in results
                    if not r.is_error
                ],
            )
            self._db.execute("UPDATE parts SET state='done' WHERE part=?", (part,))

    def drop_part(self, part: int) -> None:
        """Forget an open part whose output the sink has discarded."""
        with self._transaction():
            self._db.execute("DELETE FROM documents WHERE part=?", (part,))
            self._db.execute(
                "UPDATE parts SET state='dropped' WHERE part=? AND state='open'", (part,)
            )

    def reset(self) -> None:
        """Forget finished documents (``--restart``); part numbers keep growing, so new parts
        never overwrite the files of earlier runs."""
        with self._transaction():
            self._db.execute(
                "DELETE FROM documents WHERE source=? AND engine=?", (self.source, self.engine)
            )

    def _transaction(self) -> _Tx:
        return _Tx(self._db)


class _Tx:
    """``BEGIN IMMEDIATE`` ... ``COMMIT`` / ``ROLLBACK`` on an autocommit connection."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def __enter__(self) -> None:
        self._db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        self._db.execute("ROLLBACK" if exc_type else "COMMIT")
