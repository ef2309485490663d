"""PgNlpIndex (``nlp_index`` rows + ``nlp_documents`` state) and the PostgreSQL schema."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import psycopg

from api.search import NlpCriterion, normalize_text
from api.store.base import NlpState
from api.store.pg_database import Database, retrying
from api.store.pg_dialect import to_pg
from api.store.sql import SqlNlpIndex, find_sql, state_row
from enrich.index import IndexRow

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


_NLP_INSERT = """
INSERT INTO nlp_index
SELECT %(doc)s, * FROM unnest(
    %(operation)b::text[], %(entity_index)b::int[], %(entity_id)b::int[], %(text)b::text[],
    %(text_norm)b::text[], %(category)b::text[], %(type)b::text[], %(score)b::float8[],
    %(concept_index)b::int[], %(concept_code)b::text[], %(concept_description)b::text[],
    %(concept_description_norm)b::text[], %(concept_score)b::float8[])
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
            state_row(document_id, state, now),
        )


class PgNlpIndex(SqlNlpIndex[Database]):
    """NlpIndex on PostgreSQL (constructor: ``api.store.sql.SqlNlpIndex``)."""

    schema = SCHEMA  # every table of the service: store and index

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
        query, args = find_sql(criteria)
        return {row[0] for row in self.db.query(to_pg(query), args)}

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
