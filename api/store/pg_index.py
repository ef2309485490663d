"""PgNlpIndex: the NLP search index on PostgreSQL (``nlp_documents`` + ``nlp_rows``).

Writes send no read (they run in pipeline mode inside the store's unit of work): the state
is an upsert that keeps a stored result whose digest is unchanged (PostgreSQL then reuses its
TOAST value), the rows are replaced under the document's ``dkey``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import psycopg

from api.search import NlpCriterion
from api.store.base import NlpState
from api.store.codec import dump_bytes, result_digest
from api.store.pg_database import Database, retrying
from api.store.pg_dialect import to_pg
from api.store.pg_schema import ensure_schema
from api.store.search_sql import Lookups
from api.store.sql import SqlNlpIndex, nlp_rows
from enrich.index import IndexRow

_NLP_INSERT = """
INSERT INTO nlp_rows SELECT d.dkey, r.* FROM nlp_documents d, unnest(
    %(op)b::smallint[], %(seq)b::int[], %(text)b::text[], %(text_norm)b::text[],
    %(category)b::text[], %(type)b::text[], %(score)b::float8[], %(code)b::text[],
    %(description)b::text[], %(description_norm)b::text[], %(concept_score)b::float8[]) r
WHERE d.doc_id = %(doc)s
"""

_STATE_UPSERT = """
INSERT INTO nlp_documents AS d (doc_id, status, text_hash, engine_name, engine_version, result,
    result_digest, updated)
VALUES (%s, %s, %s, %s, %s, %s::json, %s, %s)
ON CONFLICT (doc_id) DO UPDATE SET status = EXCLUDED.status, text_hash = EXCLUDED.text_hash,
    engine_name = EXCLUDED.engine_name, engine_version = EXCLUDED.engine_version,
    result = CASE WHEN d.result_digest = EXCLUDED.result_digest THEN d.result
        ELSE EXCLUDED.result END,
    result_digest = EXCLUDED.result_digest, updated = EXCLUDED.updated
"""


def replace_rows(
    conn: psycopg.Connection[Any],
    document_id: str,
    rows: Sequence[IndexRow],
    state: NlpState | None,
    now: str,
) -> None:
    """Replace the index rows (and state) of one document inside the caller's transaction."""
    if state is not None:
        data = dump_bytes(state.result) if state.result is not None else None
        conn.execute(
            _STATE_UPSERT,
            (
                document_id,
                state.status,
                state.text_hash,
                state.engine_name,
                state.engine_version,
                data.decode() if data is not None else None,
                result_digest(data) if data is not None else None,
                state.updated or now,
            ),
        )
    elif rows:
        conn.execute(
            "INSERT INTO nlp_documents (doc_id) VALUES (%s) ON CONFLICT (doc_id) DO NOTHING",
            (document_id,),
        )
    conn.execute(
        "DELETE FROM nlp_rows WHERE dkey = (SELECT dkey FROM nlp_documents WHERE doc_id = %s)",
        (document_id,),
    )
    if not rows:
        return
    stored = nlp_rows(rows)
    columns: dict[str, Any] = {
        "doc": document_id,
        "op": [r.op for r in stored],
        "seq": list(range(len(stored))),
        "text": [r.text for r in stored],
        "text_norm": [r.text_norm for r in stored],
        "category": [r.category for r in stored],
        "type": [r.type for r in stored],
        "score": [r.score for r in stored],
        "code": [r.code for r in stored],
        "description": [r.description for r in stored],
        "description_norm": [r.description_norm for r in stored],
        "concept_score": [r.concept_score for r in stored],
    }
    conn.execute(_NLP_INSERT, columns)


def remove_document(conn: psycopg.Connection[Any], document_id: str) -> None:
    """Forget one document (inside the caller's transaction)."""
    conn.execute(
        "DELETE FROM nlp_rows WHERE dkey = (SELECT dkey FROM nlp_documents WHERE doc_id = %s)",
        (document_id,),
    )
    conn.execute("DELETE FROM nlp_documents WHERE doc_id = %s", (document_id,))


class PgNlpIndex(SqlNlpIndex[Database]):
    """NlpIndex on PostgreSQL (constructor: ``api.store.sql.SqlNlpIndex``)."""

    lookups = Lookups()

    def prepare_schema(self) -> None:
        """Create or upgrade the service database's schema (``api.store.pg_schema``)."""
        ensure_schema(self.db)

    def replace_at(
        self, document_id: str, rows: Sequence[IndexRow], state: NlpState | None, now: str
    ) -> None:
        """Replace the rows (and state) under the document's head lock; retried on deadlock."""

        def run() -> None:
            with self.db.connection() as conn:
                conn.execute(
                    "SELECT 1 FROM heads WHERE type = 'DocumentReference' AND id = %s FOR UPDATE",
                    (document_id,),
                )
                replace_rows(conn, document_id, rows, state, now)

        retrying(self.db, run)

    def find(self, criteria: Sequence[NlpCriterion]) -> set[str]:
        """Ids of the documents matching every criterion (all indexed documents if none)."""
        query, args = self.find_query(criteria)
        return {row[0] for row in self.db.query(to_pg(query), args)}

    def state(self, document_id: str) -> NlpState | None:
        """The remembered NLP state of one document (``None``: rows without state)."""
        rows = self.db.query(
            "SELECT status, text_hash, engine_name, engine_version, result, updated "
            "FROM nlp_documents WHERE doc_id = %s AND status IS NOT NULL",
            (document_id,),
        )
        return NlpState(*rows[0]) if rows else None

    def remove(self, document_id: str) -> None:
        """Forget one document."""
        with self.db.connection() as conn:
            remove_document(conn, document_id)
