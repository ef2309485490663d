"""The SQLite schema (version ``SCHEMA_VERSION`` in ``PRAGMA user_version``) and its upgrades.

Version 1 (docs/performance.md says why each table looks as it does):

- ``resources``: one row per current version, keyed by ``rid`` (rows are appended in write
  order), found by ``(type, id)`` through its key term (``terms.id_term``: a unique B-tree
  index on the random ids of generated resources rewrote ~35 pages per note; the others,
  documents first, also have one: ``resources_key``, so that NLP criteria, which name
  documents by id, find them without a scan; a write looks a key up first where it expects
  it, under its source document or in ``resources_key``, and only the rest through key
  terms: ``sqlite_search.keyed_rows``); bodies are JSON text, zlib-compressed JSON
  when large (``codec``), or parts of a bundle in ``bodies`` (``api.store.bodies``: what one
  enrichment generated, compressed together).
- ``sqlite_stat1`` starts with fixed statistics (``STATS``): a type matches many rows, a
  source document some 40, a key one; so the planner starts from the selective side of a
  search (a term list, a source document) rather than from the type, as ``ANALYZE`` would
  tell it on a full database.
- ``history``: past versions and deletions (see ``api.store.sql``).
- ``search_terms``: FTS5 index of every key, token and reference value (``rowid = rid``) and
  of the NLP index's codes, texts and presence (rows ``rowid = -dkey``), see ``terms``.
  Contentless: a row is removed with the terms it was written with, made again from the
  stored body or NLP rows; ``docref_meta.terms_version`` names how terms are made, and a
  different value rebuilds them (``reindex``).
- ``search_date`` (date ranges, clustered by ``rid``, with a value index: ranges are no
  terms). References are terms; ``_include`` reads them from the page's own bodies.
- ``nlp_documents`` (state and compressed result of one document's NLP run, ``dkey``) and
  ``nlp_rows`` (its index rows: only the columns the 25 parameters read), keyed by
  ``row_key(dkey, op, seq)``, an integer: a document's rows are one range of the table's
  rowid B-tree, appended as SQLite appends best (a composite key of a WITHOUT ROWID table
  rewrote twice the pages).

Version 0 is the schema before (``resources``/``search_token``/``search_ref``/``search_date``
keyed by ``(type, id)``, ``nlp_index`` with three secondary indexes): ``ensure_schema``
upgrades it in one transaction (bodies and history are kept as they are; search values and
terms are made again from the bodies, NLP rows copied).
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterator, Sequence
from typing import Any

from api.store.base import StoreError
from api.store.bodies import Bodies
from api.store.deferred import INSERT_TERMS, write_terms
from api.store.terms import TERMS_VERSION, NlpRow, nlp_terms, resource_index, terms_text

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1

SCHEMA = """
CREATE TABLE IF NOT EXISTS resources (
    rid INTEGER PRIMARY KEY,
    type TEXT NOT NULL, id TEXT NOT NULL, version_id INTEGER NOT NULL,
    last_updated TEXT NOT NULL, source_doc TEXT, json, bid INTEGER, part INTEGER
);
CREATE TABLE IF NOT EXISTS bodies (bid INTEGER PRIMARY KEY, data BLOB NOT NULL);
CREATE UNIQUE INDEX IF NOT EXISTS resources_key ON resources(type, id)
    WHERE source_doc IS NULL;
CREATE INDEX IF NOT EXISTS resources_updated ON resources(type, last_updated);
CREATE INDEX IF NOT EXISTS resources_source ON resources(source_doc)
    WHERE source_doc IS NOT NULL;
CREATE TABLE IF NOT EXISTS history (
    type TEXT NOT NULL, id TEXT NOT NULL, version_id INTEGER NOT NULL,
    last_updated TEXT NOT NULL, method TEXT NOT NULL, json,
    PRIMARY KEY (type, id, version_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS search_date (
    rid INTEGER NOT NULL, type TEXT NOT NULL, param TEXT NOT NULL, low TEXT NOT NULL,
    high TEXT NOT NULL,
    PRIMARY KEY (rid, param, low, high)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS search_date_value ON search_date(type, param, low);
CREATE TABLE IF NOT EXISTS nlp_documents (
    dkey INTEGER PRIMARY KEY, doc_id TEXT NOT NULL, status TEXT, text_hash TEXT,
    engine_name TEXT, engine_version TEXT, result, result_digest TEXT, updated TEXT
);
CREATE UNIQUE INDEX IF NOT EXISTS nlp_documents_doc ON nlp_documents(doc_id);
CREATE TABLE IF NOT EXISTS nlp_rows (
    key INTEGER PRIMARY KEY, op INTEGER NOT NULL,
    text TEXT, text_norm TEXT, category TEXT, type TEXT, score REAL,
    code TEXT, description TEXT, description_norm TEXT, concept_score REAL
);
CREATE VIRTUAL TABLE IF NOT EXISTS search_terms
    USING fts5(terms, content='', detail=none, columnsize=0);
CREATE TABLE IF NOT EXISTS docref_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
"""

#: The columns of ``nlp_rows`` after the key, in ``NlpRow`` order (with ``op`` first).
NLP_COLUMNS = (
    "op, text, text_norm, category, type, score, code, description, description_norm, concept_score"
)
#: ``nlp_rows.key`` = ``dkey << DKEY_SHIFT | op << OP_SHIFT | seq``
DKEY_SHIFT = 20
OP_SHIFT = 18
MAX_ROWS = 1 << OP_SHIFT  # rows of one document


def row_key(dkey: int, op: int = 0, seq: int = 0) -> int:
    """The ``nlp_rows`` key of row ``seq`` (of operation ``op``) of document ``dkey``.

    >>> row_key(3, 1, 5) >> DKEY_SHIFT, row_key(3, 1, 5) >> OP_SHIFT & 3
    (3, 1)
    """
    return dkey << DKEY_SHIFT | op << OP_SHIFT | seq


def ensure_schema(conn: sqlite3.Connection) -> None:
    """Create the schema, or upgrade an older one, once (``conn`` in autocommit mode).

    Raises:
        StoreError: ``[NLP530]`` SQLite without FTS5, or a database of a newer version.
    """
    if _version(conn) == SCHEMA_VERSION and _terms_current(conn):
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        version = _version(conn)
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"the database has schema version {version}; this release knows "
                f"{SCHEMA_VERSION} and older",
                code="NLP530",
            )
        old = version == 0 and _is_v0(conn)
        if old:
            _rename_v0(conn)
        try:
            for statement in _statements(SCHEMA):
                conn.execute(statement)
        except sqlite3.OperationalError as exc:
            if "fts5" in str(exc).lower():
                raise StoreError("this SQLite has no FTS5 (needed by the store)") from None
            raise
        if old:
            _copy_v0(conn)
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        _fixed_statistics(conn)
        if not _terms_current(conn):
            reindex(conn)
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


#: ``sqlite_stat1`` rows (table, index, stat): rows, then rows per value of each key prefix
STATS = (
    ("resources", "resources_key", "1000000 100000 1"),
    ("resources", "resources_updated", "1000000 100000 2"),
    ("resources", "resources_source", "1000000 40"),
    ("search_date", "search_date_value", "100000 20000 10000 2"),
    ("nlp_documents", "nlp_documents_doc", "100000 1"),
)


def _fixed_statistics(conn: sqlite3.Connection) -> None:
    """Planner statistics for a database that has none (``ANALYZE`` replaces them)."""
    conn.execute("ANALYZE sqlite_schema")  # creates sqlite_stat1 (empty: no table has rows)
    if conn.execute("SELECT COUNT(*) FROM sqlite_stat1").fetchone()[0] == 0:
        conn.executemany("INSERT INTO sqlite_stat1 VALUES (?,?,?)", STATS)
        conn.execute("ANALYZE sqlite_schema")  # load them


def _statements(script: str) -> Iterator[str]:
    for statement in script.split(";"):
        if statement.strip():
            yield statement


def _version(conn: sqlite3.Connection) -> int:
    version: int = conn.execute("PRAGMA user_version").fetchone()[0]
    return version


def _has_table(conn: sqlite3.Connection, name: str) -> bool:
    row = conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,))
    return row.fetchone() is not None


def _is_v0(conn: sqlite3.Connection) -> bool:
    """Tables of version 0: the NLP index or search tables of before, or ``resources``
    without ``rid``."""
    if _has_table(conn, "nlp_index") or _has_table(conn, "search_token"):
        return True
    if not _has_table(conn, "resources"):
        return False
    columns = {row[1] for row in conn.execute("PRAGMA table_info(resources)")}
    return "rid" not in columns


def _terms_current(conn: sqlite3.Connection) -> bool:
    if not _has_table(conn, "docref_meta"):
        return False
    row = conn.execute("SELECT value FROM docref_meta WHERE key = 'terms_version'").fetchone()
    return row is not None and row[0] == TERMS_VERSION


_V0_TABLES = (
    "resources",
    "search_token",
    "search_ref",
    "search_date",
    "nlp_index",
    "nlp_documents",
)
_V0_INDEXES = (
    "resources_updated",
    "resources_source",
    "search_token_value",
    "search_token_res",
    "search_ref_value",
    "search_ref_res",
    "search_date_res",
    "search_date_value",
    "nlp_index_doc",
    "nlp_index_code",
    "nlp_index_text",
)


def _rename_v0(conn: sqlite3.Connection) -> None:
    """Move the version-0 tables aside (``<name>_v0``); their indexes go."""
    for index in _V0_INDEXES:
        conn.execute(f"DROP INDEX IF EXISTS {index}")
    for table in _V0_TABLES:
        if _has_table(conn, table):
            conn.execute(f"ALTER TABLE {table} RENAME TO {table}_v0")


def _copy_v0(conn: sqlite3.Connection) -> None:
    """Bodies and NLP state as they are, NLP rows copied; the v0 tables dropped."""
    log.info("upgrading the service database to schema version %d", SCHEMA_VERSION)
    if _has_table(conn, "resources_v0"):
        conn.execute(
            "INSERT INTO resources (type, id, version_id, last_updated, source_doc, json) "
            "SELECT type, id, version_id, last_updated, source_doc, json FROM resources_v0 "
            "ORDER BY type, id"
        )
    if _has_table(conn, "nlp_documents_v0"):
        conn.execute(
            "INSERT INTO nlp_documents (doc_id, status, text_hash, engine_name, engine_version, "
            "result, updated) SELECT doc_id, status, text_hash, engine_name, engine_version, "
            "result_json, updated FROM nlp_documents_v0 ORDER BY doc_id"
        )
    if _has_table(conn, "nlp_index_v0"):
        # rows without a state row were searchable: they get a state-less document row
        conn.execute(
            "INSERT INTO nlp_documents (doc_id) SELECT DISTINCT doc_id FROM nlp_index_v0 "
            "WHERE doc_id NOT IN (SELECT doc_id FROM nlp_documents) ORDER BY doc_id"
        )
        conn.execute(
            f"INSERT INTO nlp_rows (key, {NLP_COLUMNS}) SELECT (dkey << {DKEY_SHIFT}) | "
            f"(op << {OP_SHIFT}) | (ROW_NUMBER() OVER (PARTITION BY dkey ORDER BY r) - 1), "
            f"{NLP_COLUMNS} FROM (SELECT d.dkey AS dkey, n.rowid AS r, CASE n.operation "
            "WHEN 'detect-entities' THEN 0 WHEN 'infer-icd10' THEN 1 ELSE 2 END AS op, n.text, "
            "n.text_norm, n.category, n.type, n.score, n.concept_code AS code, "
            "n.concept_description AS description, "
            "n.concept_description_norm AS description_norm, n.concept_score "
            "FROM nlp_index_v0 n JOIN nlp_documents d ON d.doc_id = n.doc_id)"
        )
    for table in _V0_TABLES:
        conn.execute(f"DROP TABLE IF EXISTS {table}_v0")


def reindex(conn: sqlite3.Connection) -> None:
    """Make every search value and term again: from each resource's body (``search_date``,
    terms) and each document's NLP rows (terms)."""
    log.info("building the search terms (%s)", TERMS_VERSION)
    conn.execute("INSERT INTO search_terms (search_terms) VALUES ('delete-all')")
    conn.execute("DELETE FROM search_date")
    # in ascending rowid order (``write_values``): documents' NLP terms (-dkey), then resources
    dkeys = conn.execute("SELECT dkey FROM nlp_documents ORDER BY dkey DESC").fetchall()
    for (dkey,) in dkeys:
        terms = nlp_terms(stored_nlp_rows(conn, dkey))
        if terms:
            conn.execute(INSERT_TERMS, (-dkey, terms_text(terms)))
    bodies = Bodies(conn)
    rows = conn.execute("SELECT rid, type, json, bid, part FROM resources ORDER BY rid")
    while chunk := rows.fetchmany(1000):
        index_values(conn, [(r[0], r[1], bodies.load((r[2], r[3], r[4]))) for r in chunk])
    conn.execute("INSERT OR REPLACE INTO docref_meta VALUES ('terms_version', ?)", (TERMS_VERSION,))


#: The search values of one stored resource: its terms (``terms_text``) and ``search_date`` rows.
Values = tuple[str, list[tuple[Any, ...]]]


def search_values(rid: int, resource_type: str, body: dict[str, Any]) -> Values:
    """The terms and date rows of a stored resource ``rid``."""
    terms, dates = resource_index(resource_type, body)
    return terms, [(rid, resource_type, *d) for d in dates]


def index_values(
    conn: sqlite3.Connection, resources: Sequence[tuple[int, str, dict[str, Any]]]
) -> None:
    """The search values and terms of stored resources ``(rid, type, body)`` (none written
    before)."""
    write_values(conn, [(rid, search_values(rid, kind, body)) for rid, kind, body in resources])


def write_values(
    conn: sqlite3.Connection,
    values: Sequence[tuple[int, Values]],
    forgotten: Sequence[tuple[int, str]] = (),
) -> None:
    """Write the search values ``(rid, (terms, dates))`` of resources (none written before),
    after removing the terms ``(rid, terms)`` of ``forgotten`` (their dates are the caller's).

    The term index is written in ascending rowid order, a removal before a write of the same
    row: FTS5 ends its segment whenever a write's rowid is not above the one before, and each
    segment is pages written to the WAL now and merged again later.
    """
    ops = sorted(
        [(rid, 0, terms) for rid, terms in forgotten if terms]
        + [(rid, 1, terms) for rid, (terms, _) in values if terms]
    )
    write_terms(conn, ops)  # kept to the end of a group (``api.store.deferred``)
    conn.executemany(
        "INSERT OR IGNORE INTO search_date VALUES (?,?,?,?,?)",
        [d for _, (_, dates) in values for d in dates],
    )


def stored_nlp_rows(conn: sqlite3.Connection, dkey: int) -> list[NlpRow]:
    """The NLP rows of one document (normalised values of ASCII ones made again)."""
    rows = conn.execute(
        f"SELECT {NLP_COLUMNS} FROM nlp_rows WHERE key >= ? AND key < ? "
        f"ORDER BY key & {MAX_ROWS - 1}",
        (row_key(dkey), row_key(dkey + 1)),
    )
    found: list[NlpRow] = []
    for op, text, text_norm, category, kind, score, code, desc, desc_norm, concept in rows:
        if text_norm is None and text is not None:
            text_norm = text.lower()
        if desc_norm is None and desc is not None:
            desc_norm = desc.lower()
        found.append(
            NlpRow(op, text, text_norm, category, kind, score, code, desc, desc_norm, concept)
        )
    return found


def elided_rows(dkey: int, rows: Sequence[NlpRow]) -> Iterator[tuple[Any, ...]]:
    """The stored columns of each row ``seq``: its key ``row_key(dkey, op, seq)``, then its
    columns with a normalised value NULL when its raw value is ASCII (it is then ``lower()``
    of it, as SQLite's ``lower`` computes it). Column by column (``zip``/``map``: no Python
    frame per row but for its key)."""
    if not rows:
        return iter(())
    ops, texts, text_norms, categories, kinds, scores, codes, descs, desc_norms, concepts = zip(
        *rows, strict=True
    )
    base = row_key(dkey)
    keys = [base | op << OP_SHIFT | seq for seq, op in enumerate(ops)]
    text_pairs = list(zip(texts, text_norms, strict=True))
    desc_pairs = list(zip(descs, desc_norms, strict=True))
    kept = {pair: elided_norm(*pair) for pair in {*text_pairs, *desc_pairs}}
    return zip(
        keys,
        ops,
        texts,
        map(kept.__getitem__, text_pairs),
        categories,
        kinds,
        scores,
        codes,
        descs,
        map(kept.__getitem__, desc_pairs),
        concepts,
        strict=True,
    )


def elided_norm(value: str | None, norm: str | None) -> str | None:
    """The stored normalised form of ``value``: NULL when ``value`` is ASCII (``elided_rows``)."""
    return None if value is not None and value.isascii() else norm
