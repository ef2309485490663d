"""The search SQL both stores share, and how each finds rows by value (``Lookups``).

SQL is written in SQLite's dialect (``?`` placeholders); the PostgreSQL backend translates it
with ``api.store.pg_dialect.to_pg``. Each builder returns ``(sql, args)`` for a query over
``resources r``. Resources are joined to their search values by ``rid`` (the resource's row
key); documents to their NLP rows by ``dkey`` (the key of their ``nlp_documents`` row).

Two ways to find rows by value, same answers (the contract suite runs both):

- ``TableLookups`` (PostgreSQL): B-tree value indexes on ``search_token`` / ``search_ref`` /
  ``nlp_rows`` (PostgreSQL logs index entries row by row, not page by page).
- ``TermLookups`` (SQLite): terms in an FTS5 index (``api.store.terms``); NLP criteria that a
  term cannot decide alone (composites, ``:exact``) are checked on the candidate documents'
  ``nlp_rows``, those with no term at all (numbers, ``:contains``) on every row.

``derived-from`` and ``nlp-generated`` are answered from ``resources.source_doc``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from api.search import (
    DateValue,
    NlpCriterion,
    Predicate,
    RefValue,
    SearchError,
    SearchQuery,
    StandardCriterion,
    TokenValue,
    normalize_text,
)
from api.search_params import SEARCHABLE_TYPES
from api.store.base import StoreError
from api.store.terms import (
    OPERATIONS,
    PRESENCE,
    all_of,
    any_of,
    ids_query,
    long_marker,
    nlp_exact_term,
    nlp_prefix_term,
    presence_term,
    ref_query,
    token_query,
)

#: Search references the store computes from ``resources.source_doc``.
COMPUTED_PARAMS = ("derived-from", "nlp-generated")

_MAX_CHAR = chr(0x10FFFF)
#: Predicate field -> ``nlp_rows`` column (strings: raw and normalised columns).
_STRING_COLUMNS = {
    "text": ("text", "text_norm"),
    "concept_description": ("description", "description_norm"),
}
_COLUMNS = {
    "text": "text",
    "category": "category",
    "type": "type",
    "score": "score",
    "concept_code": "code",
    "concept_description": "description",
    "concept_score": "concept_score",
}
#: Token fields and their term kinds.
_TOKEN_KINDS = {"category": "g", "type": "y", "concept_code": "k"}
_STRING_KINDS = {"text": "t", "concept_description": "w"}


def predicate_sql(pred: Predicate, alias: str, elided: bool = False) -> tuple[str, list[Any]]:
    """One predicate on one ``nlp_rows`` row (``elided``: a normalised column is NULL when
    its raw value is ASCII, and then ``lower()`` of it, see ``api.store.sqlite_index``)."""
    if pred.kind == "string":
        raw, norm = _STRING_COLUMNS[pred.field]
        value = pred.value or ""
        if pred.op == "exact":
            return f"{alias}.{raw} = ?", [value]
        column = f"{alias}.{norm}"
        if elided:
            column = f"COALESCE({column}, lower({alias}.{raw}))"
        if pred.op == "contains":
            return f"instr({column}, ?) > 0", [value]
        return f"({column} >= ? AND {column} < ?)", [value, value + _MAX_CHAR]
    column = f"{alias}.{_COLUMNS[pred.field]}"
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


def rows_sql(criterion: NlpCriterion, op: int, elided: bool = False) -> tuple[str, list[Any]]:
    """``(alt1 OR alt2 ...)`` over ``nlp_rows n``: some alternative holds inside one row."""
    alternatives: list[str] = []
    args: list[Any] = []
    for alternative in criterion.alternatives:
        parts: list[str] = []
        for pred in alternative:
            sql, values = predicate_sql(pred, "n", elided)
            parts.append(sql)
            args.extend(values)
        alternatives.append("(" + " AND ".join(parts) + ")")
    return f"n.op = {op} AND ({' OR '.join(alternatives)})", args


def _operation(criterion: NlpCriterion) -> int:
    return OPERATIONS[str(criterion.operation)]


def _missing_column(criterion: NlpCriterion) -> str:
    field = str(criterion.missing_field)
    if field not in PRESENCE:  # fields come from the registry; never user text
        raise SearchError(f"[NLP402] {criterion.param}:missing is not supported")
    return field


class Lookups:
    """How a backend finds resources by token/reference value and documents by NLP criterion.

    This base class answers from tables with value indexes (PostgreSQL).
    """

    #: The columns of a body in a page of matches: its JSON (a ``json`` column keeps it as
    #: written), type and id (``api.store.codec.LazyResource``).
    body = "r.json, r.type, r.id"
    #: What narrows ``resources r`` to the rows a key index names by id (documents).
    keyed_rows = ""

    def key_sql(self, alias: str, keys: Sequence[tuple[str, str]]) -> tuple[str, list[Any]]:
        """``<alias>`` is one of the resources ``keys`` (``(type, id)``), by its key index."""
        if not keys:
            return "0 = 1", []
        sql = " OR ".join(f"({alias}.type = ? AND {alias}.id = ?)" for _ in keys)
        return f"({sql})", [part for key in keys for part in key]

    def standard_sql(self, c: StandardCriterion, resource_type: str) -> tuple[str, list[Any]]:
        """``r.rid [NOT] IN (...)`` for a token or reference criterion."""
        alternatives: list[str] = []
        args: list[Any] = []
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
                    alternatives.append("t.ref_id = ?")
                    args.append(v.id)
                else:
                    alternatives.append("(t.ref_type = ? AND t.ref_id = ?)")
                    args.extend([v.type, v.id])
        table = "search_token" if c.kind == "token" else "search_ref"
        negate = "NOT " if c.modifier == "not" else ""
        sql = (
            f"r.rid {negate}IN (SELECT t.rid FROM {table} t WHERE t.type = ? AND t.param = ? "
            f"AND ({' OR '.join(alternatives)}))"
        )
        return sql, [resource_type, c.name, *args]

    def nlp_dkeys(self, criterion: NlpCriterion) -> tuple[str, list[Any]]:
        """``SELECT`` of the ``dkey`` of every document with a row matching ``criterion``."""
        op = _operation(criterion)
        if criterion.missing is not None:
            column = _COLUMNS[_missing_column(criterion)]
            return f"SELECT n.dkey FROM nlp_rows n WHERE n.op = {op} AND n.{column} IS NOT NULL", []
        where, args = rows_sql(criterion, op)
        return f"SELECT n.dkey FROM nlp_rows n WHERE {where}", args

    def ref_sources_sql(
        self, source_type: str, param: str, target_type: str, ids: Sequence[str]
    ) -> tuple[str, list[Any]]:
        """``(type, id)`` of the ``source_type`` resources whose ``param`` names ``ids``."""
        marks = ",".join("?" * len(ids))
        sql = (
            "SELECT r.type, r.id FROM resources r WHERE r.rid IN (SELECT s.rid FROM search_ref s "
            f"WHERE s.type = ? AND s.param = ? AND s.ref_type = ? AND s.ref_id IN ({marks})) "
            "ORDER BY r.rid"
        )
        return sql, [source_type, param, target_type, *ids]


class TermLookups(Lookups):
    """Values found through the FTS5 term index ``search_terms`` (SQLite).

    Resources are its rows ``rowid = rid``; NLP-indexed documents ``rowid = -dkey``.
    """

    #: a body may be part of a bundle (``api.store.bodies``); type and id: ``api.store.codec``
    body = "r.json, r.bid, r.part, r.type, r.id"
    keyed_rows = "r.source_doc IS NULL AND "  # ``resources_key`` (documents are not generated)

    def key_sql(self, alias: str, keys: Sequence[tuple[str, str]]) -> tuple[str, list[Any]]:
        """``<alias>`` is one of the resources ``keys``, by their key terms."""
        if not keys:
            return "0 = 1", []
        sql = f"{alias}.rid IN (SELECT rowid FROM search_terms WHERE search_terms MATCH ?)"
        return sql, [ids_query(keys)]

    def standard_sql(self, c: StandardCriterion, resource_type: str) -> tuple[str, list[Any]]:
        """``r.rid [NOT] IN (<rows of any of the value's terms>)``."""
        terms: list[str] = []
        for v in c.values:
            if isinstance(v, TokenValue):
                terms.append(token_query(resource_type, c.name, v.system, v.code))
            elif isinstance(v, RefValue):
                terms.append(ref_query(resource_type, c.name, v.type, v.id))
        negate = "NOT " if c.modifier == "not" else ""
        sql = f"r.rid {negate}IN (SELECT rowid FROM search_terms WHERE search_terms MATCH ?)"
        return sql, [any_of(terms)]

    def nlp_dkeys(self, criterion: NlpCriterion) -> tuple[str, list[Any]]:
        """Documents from terms alone when they decide (one token or prefix per alternative),
        else the rows of the candidate documents (or of all documents) are checked.

        ``nlp_rows`` is keyed by ``dkey << 20 | op << 18 | seq`` (``api.store.sqlite_schema``):
        the rows of one operation of a document are one key range.
        """
        op = _operation(criterion)
        if criterion.missing is not None:
            term = presence_term(op, _missing_column(criterion))
            return _term_dkeys(), [term]
        where, args = rows_sql(criterion, op, elided=True)
        decided: list[str] = []  # the terms of alternatives that terms decide alone
        candidates: list[str] = []  # each alternative's candidate documents
        markers: list[str] = []  # long-value markers of the deciding prefix terms
        for alternative in criterion.alternatives:
            known = [c for c in (_candidate(pred, op) for pred in alternative) if c is not None]
            if not known:  # no term narrows this alternative: check every row
                return f"SELECT n.key >> 20 FROM nlp_rows n WHERE {where}", args
            candidates.append(all_of([c.expression for c in known]))
            if len(alternative) == 1 and known[0].decides:
                decided.append(known[0].term)
                markers += [known[0].marker] if known[0].marker else []
        low, high = f"c.d * 1048576 + {op * 262144}", f"c.d * 1048576 + {(op + 1) * 262144}"
        checked = (
            f"SELECT DISTINCT c.d FROM ({_term_dkeys()}) c JOIN nlp_rows n "
            f"ON n.key >= {low} AND n.key < {high} WHERE {where}"
        )
        if len(decided) < len(criterion.alternatives):
            return checked, [any_of(candidates), *args]
        if not markers:
            return _term_dkeys(), [any_of(decided)]
        # documents with a value too long for its term are checked on their rows
        return f"{_term_dkeys()} UNION {checked}", [any_of(decided), any_of(markers), *args]

    def ref_sources_sql(
        self, source_type: str, param: str, target_type: str, ids: Sequence[str]
    ) -> tuple[str, list[Any]]:
        """``(type, id)`` of the ``source_type`` resources whose ``param`` names ``ids``."""
        terms = [ref_query(source_type, param, target_type, i) for i in ids]
        sql = (
            "SELECT r.type, r.id FROM resources r WHERE r.rid IN (SELECT rowid FROM search_terms "
            "WHERE search_terms MATCH ?) AND r.type = ? ORDER BY r.rid"
        )
        return sql, [any_of(terms), source_type]


def _term_dkeys() -> str:
    return "SELECT -rowid AS d FROM search_terms WHERE search_terms MATCH ? AND rowid < 0"


@dataclass(frozen=True)
class _Candidate:
    """The documents that may hold a row satisfying one predicate, as terms.

    ``term``: the predicate's term (``t...*`` for a prefix); ``marker``: the long-value marker
    of its kind (documents with a value too long for a term); ``decides``: a document has the
    term exactly when it has a row satisfying the predicate.
    """

    term: str
    marker: str | None = None
    decides: bool = False

    @property
    def expression(self) -> str:
        return f"{self.term} OR {self.marker}" if self.marker else self.term


def _candidate(pred: Predicate, op: int) -> _Candidate | None:
    """The candidate documents of ``pred``; ``None``: no term narrows it."""
    if pred.kind == "token":
        return _Candidate(
            nlp_exact_term(_TOKEN_KINDS[pred.field], op, pred.value or ""), None, True
        )
    if pred.kind != "string" or pred.op == "contains":
        return None
    kind = _STRING_KINDS[pred.field]
    marker = long_marker(kind, op)
    value = pred.value or ""
    if pred.op == "exact":  # the raw value's normalised form is the row's term
        value = normalize_text(value)
    term = nlp_prefix_term(kind, op, value)
    if term is None:  # longer than any term: only marked documents can hold it
        return _Candidate(marker)
    if pred.op == "prefix":
        return _Candidate(f"{term}*", marker, True)
    return _Candidate(term, marker)


# --------------------------------------------------------------------------- standard parameters


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


def _computed_sql(c: StandardCriterion, lookups: Lookups) -> tuple[str, list[Any]]:
    """``derived-from`` (the resource's source document) and ``nlp-generated`` (the
    documents a resource was generated from), from ``resources.source_doc``."""
    alternatives: list[str] = []
    args: list[Any] = []
    for v in c.values:
        if not isinstance(v, RefValue):
            continue
        if c.name == "derived-from":
            if v.type in (None, "DocumentReference"):
                alternatives.append("r.source_doc = ?")
                args.append(v.id)
        else:
            types = SEARCHABLE_TYPES if v.type is None else (v.type,)
            keyed, values = lookups.key_sql("g", [(t, v.id) for t in types])
            alternatives.append(
                f"r.id IN (SELECT g.source_doc FROM resources g WHERE {keyed} "
                "AND g.source_doc IS NOT NULL)"
            )
            args.extend(values)
    matched = "(" + (" OR ".join(alternatives) or "0 = 1") + ")"
    if c.name == "nlp-generated":
        matched = f"({lookups.keyed_rows}r.type = 'DocumentReference' AND {matched})"
    else:
        matched = f"(r.source_doc IS NOT NULL AND {matched})"
    return (f"NOT {matched}" if c.modifier == "not" else matched), args


def standard_sql(
    c: StandardCriterion, resource_type: str, lookups: Lookups
) -> tuple[str, list[Any]]:
    """The condition of one standard parameter over ``resources r`` of ``resource_type``."""
    if c.name == "_id":
        ids = [v.code for v in c.values if isinstance(v, TokenValue) and v.code is not None]
        keyed, keys = lookups.key_sql("r", [(resource_type, i) for i in ids])
        return (f"NOT {keyed}" if c.modifier == "not" else keyed), keys
    if c.name == "_lastUpdated":
        alternatives: list[str] = []
        args: list[Any] = []
        for v in c.values:
            if isinstance(v, DateValue):
                sql, values = _date_point_sql("r.last_updated", v)
                alternatives.append(sql)
                args.extend(values)
        return "(" + " OR ".join(alternatives) + ")", args
    if c.name in COMPUTED_PARAMS:
        return _computed_sql(c, lookups)
    if c.kind in ("token", "reference"):
        return lookups.standard_sql(c, resource_type)
    alternatives, args = [], []
    for v in c.values:
        if isinstance(v, DateValue):
            sql, values = _date_range_sql(v)
            alternatives.append(sql)
            args.extend(values)
    negate = "NOT " if c.modifier == "not" else ""
    sql = (
        f"r.rid {negate}IN (SELECT d.rid FROM search_date d WHERE d.type = ? AND d.param = ? "
        f"AND ({' OR '.join(alternatives)}))"
    )
    return sql, [resource_type, c.name, *args]


def nlp_sql(criterion: NlpCriterion, doc_id_expr: str, lookups: Lookups) -> tuple[str, list[Any]]:
    """``<doc_id_expr> [NOT] IN (...)``: some NLP row (or the status) of the document holds.

    The subqueries are not correlated: each runs once.
    """
    if doc_id_expr == "r.id":  # the documents' key index serves the id list
        doc_id_expr = f"{lookups.keyed_rows}r.id"
    if criterion.operation is None:  # cm-decoration-status
        if criterion.missing is not None:  # never processed
            negate = "NOT " if criterion.missing else ""
            stated = "SELECT s.doc_id FROM nlp_documents s WHERE s.status IS NOT NULL"
            return f"{doc_id_expr} {negate}IN ({stated})", []
        values = [p.value for alt in criterion.alternatives for p in alt]
        marks = ",".join("?" * len(values))
        sql = f"{doc_id_expr} IN (SELECT s.doc_id FROM nlp_documents s WHERE s.status IN ({marks}))"
        return sql, values
    dkeys, args = lookups.nlp_dkeys(criterion)
    negate = "NOT " if criterion.missing else ""
    sql = (
        f"{doc_id_expr} {negate}IN (SELECT s.doc_id FROM nlp_documents s WHERE s.dkey IN ({dkeys}))"
    )
    return sql, args


def where_sql(query: SearchQuery, lookups: Lookups) -> tuple[str, list[Any]]:
    """The ``WHERE`` condition of a search over ``resources r``: type, standard and NLP criteria."""
    where = ["r.type = ?"]
    args: list[Any] = [query.resource_type]
    for criterion in query.standard:
        sql, values = standard_sql(criterion, query.resource_type, lookups)
        where.append(sql)
        args.extend(values)
    for nlp in query.nlp:
        sql, values = nlp_sql(nlp, "r.id", lookups)
        where.append(sql)
        args.extend(values)
    return " AND ".join(where), args


def find_sql(criteria: Sequence[NlpCriterion], lookups: Lookups) -> tuple[str, list[Any]]:
    """``NlpIndex.find``: the ids of the indexed documents matching every criterion."""
    where: list[str] = []
    args: list[Any] = []
    for criterion in criteria:
        sql, values = nlp_sql(criterion, "d.doc_id", lookups)
        where.append(sql)
        args.extend(values)
    where.insert(0, "d.status IS NOT NULL")  # documents with an NLP state
    return "SELECT d.doc_id FROM nlp_documents d WHERE " + " AND ".join(where), args


def order_sql(query: SearchQuery) -> str:
    """The ``ORDER BY`` of a search over ``resources r`` (``_sort``, then ``r.id``)."""
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
                "(SELECT MIN(d.low) FROM search_date d WHERE d.rid = r.rid "
                f"AND d.param = '{safe}') {direction}"
            )
    if not parts:
        parts.append("r.last_updated ASC")
    parts.append("r.id ASC")
    return ", ".join(parts)


@dataclass(frozen=True)
class SearchPlan:
    """The statements of one search page (SQLite dialect).

    Attributes:
        query: the parsed query.
        count_sql: ``SELECT COUNT(*)`` of every match; its arguments are ``args``.
        page_sql: the page of matches (``None`` when no page is wanted: ``_count=0`` or
            ``_summary=count``); its arguments are ``page_args``.
        guard_sql: a cheap ``SELECT`` of one boolean, false when nothing can match (run first:
            the other statements are then skipped); ``None`` when there is none.
        rids_sql: with NLP criteria and a page wanted, the ``rid`` of every match in the
            page's order (arguments ``args``): a backend may run it instead of the count and
            the page, whose criteria then cost once instead of twice (``None`` otherwise).
        page_slice: the page's ``(offset, count)`` in the matches of ``rids_sql``.
    """

    query: SearchQuery
    count_sql: str
    args: list[Any]
    page_sql: str | None
    page_args: list[Any]
    guard_sql: str | None = None
    guard_args: list[Any] = field(default_factory=list)
    rids_sql: str | None = None
    page_slice: tuple[int, int] = (0, 0)

    def page_of(self, rids: list[int]) -> list[int]:
        """The page's rows among every match ``rids`` of ``rids_sql`` (in order)."""
        start, count = self.page_slice
        return rids[start : start + count]


def guard_sql(query: SearchQuery, lookups: Lookups) -> tuple[str | None, list[Any]]:
    """A ``_lastUpdated`` range that no resource of the type falls in matches nothing: with
    NLP criteria (whose term lookups cost milliseconds), ask the ``(type, last_updated)`` index
    first. Each guard is implied by the search's own ``WHERE``, so a true one changes nothing."""
    dated = [c for c in query.standard if c.name == "_lastUpdated"]
    if not dated or not query.nlp:
        return None, []
    parts: list[str] = []
    args: list[Any] = []
    for criterion in dated:
        sql, values = standard_sql(criterion, query.resource_type, lookups)
        parts.append(f"EXISTS (SELECT 1 FROM resources r WHERE r.type = ? AND {sql})")
        args += [query.resource_type, *values]
    return "SELECT " + " AND ".join(parts), args


def search_plan(query: SearchQuery, default_count: int, lookups: Lookups) -> SearchPlan:
    """The statements of one page of ``query``.

    Raises:
        StoreError: ``[NLP404]`` for a type that is not searchable.
    """
    if query.resource_type not in SEARCHABLE_TYPES:
        raise StoreError(f"type {query.resource_type} is not searchable", code="NLP404")
    clause, args = where_sql(query, lookups)
    guard, guard_args = guard_sql(query, lookups)
    count = default_count if query.count is None else query.count
    count_sql = f"SELECT COUNT(*) FROM resources r WHERE {clause}"
    if count <= 0 or query.summary_count:
        return SearchPlan(query, count_sql, args, None, [], guard, guard_args)
    page_sql = (
        f"SELECT {lookups.body} FROM resources r WHERE {clause} ORDER BY {order_sql(query)} "
        "LIMIT ? OFFSET ?"
    )
    page_args = [*args, count, query.offset]
    rids_sql = None
    if query.nlp:  # their term lookups and row checks dominate: run them once
        rids_sql = f"SELECT r.rid FROM resources r WHERE {clause} ORDER BY {order_sql(query)}"
    return SearchPlan(
        query,
        count_sql,
        args,
        page_sql,
        page_args,
        guard,
        guard_args,
        rids_sql,
        (query.offset, count),
    )
