"""SqliteNlpIndex: the NLP search index (``nlp_index`` rows + ``nlp_documents`` state) in SQLite."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from functools import lru_cache

from api.search import NlpCriterion, normalize_text
from api.store.base import NlpState
from api.store.database import Database
from api.store.sql import SqlNlpIndex, find_sql, state_row
from enrich.index import IndexRow

SCHEMA = """
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


@lru_cache(maxsize=65536)
def _normalized(value: str) -> str:
    # ASCII has no decompositions nor combining marks, and its casefold is lower()
    return value.lower() if value.isascii() else normalize_text(value)


def _norm(value: str | None) -> str | None:
    """``normalize_text`` of an index value, memoised (empty and ``None`` stay as they are).

    Entity texts and concept descriptions repeat across rows and documents.
    """
    return _normalized(value) if value else value


class SqliteNlpIndex(SqlNlpIndex[Database]):
    """NlpIndex in the SQLite file (constructor: ``api.store.sql.SqlNlpIndex``)."""

    schema = SCHEMA

    def replace_at(
        self, document_id: str, rows: Sequence[IndexRow], state: NlpState | None, now: str
    ) -> None:
        """Replace the rows (and state) of one document in one transaction."""
        with self.db.transaction() as conn:
            replace_rows(conn, document_id, rows, state, now)

    def find(self, criteria: Sequence[NlpCriterion]) -> set[str]:
        """Ids of the documents matching every criterion (all indexed documents if none)."""
        query, args = find_sql(criteria)
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
                _norm(r.text),
                r.category,
                r.type,
                r.score,
                r.concept_index,
                r.concept_code,
                r.concept_description,
                _norm(r.concept_description),
                r.concept_score,
            )
            for r in rows
        ],
    )
    if state is not None:
        conn.execute(
            "INSERT OR REPLACE INTO nlp_documents VALUES (?,?,?,?,?,?,?)",
            state_row(document_id, state, now),
        )
