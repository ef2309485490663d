"""What the SQLite and PostgreSQL stores share: search SQL, the history query, how a version is
stamped and compared, and the ``SqlStore`` base class (construction, search, units of work).

SQL is written in SQLite's dialect (``?`` placeholders); the PostgreSQL backend translates it
with ``api.store.pg_dialect.to_pg``. Each builder returns ``(sql, args)``, for a query over
``resources r`` (standard parameters) or any expression naming a DocumentReference id
(``nlp_sql``).
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, TypeVar

from api.clock import Clock, utc_now
from api.search import (
    DateValue,
    NlpCriterion,
    Predicate,
    RefValue,
    SearchError,
    SearchQuery,
    StandardCriterion,
    TokenValue,
    format_instant,
    parse_search,
)
from api.search_params import SEARCHABLE_TYPES
from api.store.base import (
    NlpIndex,
    NlpState,
    Resource,
    ResourceGone,
    SearchResult,
    SqlDatabase,
    StoreError,
    VersionInfo,
)
from api.store.bundles import searchset
from enrich.index import IndexRow

Key = tuple[str, str]

#: Search references the store computes from an enrichment (never from a resource's content).
COMPUTED_PARAMS = ("derived-from", "nlp-generated")

#: version_id, last_updated, method, body (history's own, else the current one from resources)
HISTORY_SELECT = (
    "SELECT h.version_id, h.last_updated, h.method, COALESCE(h.json, r.json) FROM history h "
    "LEFT JOIN resources r ON h.json IS NULL AND h.method != 'DELETE' AND r.type = h.type "
    "AND r.id = h.id AND r.version_id = h.version_id WHERE h.type = ? AND h.id = ?"
)


def history_sql(
    resource_type: str, resource_id: str, version: int | None = None
) -> tuple[str, list[Any]]:
    """The history rows of a resource newest first (only ``version`` when given)."""
    if version is None:
        return f"{HISTORY_SELECT} ORDER BY h.version_id DESC", [resource_type, resource_id]
    return f"{HISTORY_SELECT} AND h.version_id = ?", [resource_type, resource_id, version]


def dump_json(value: Any) -> str:
    """Compact JSON as stored (key order kept, non-ASCII as is)."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def state_row(document_id: str, state: NlpState, now: str) -> tuple[Any, ...]:
    """The ``nlp_documents`` row of one document's NLP state (``updated`` defaults to ``now``)."""
    result = dump_json(state.result) if state.result is not None else None
    return (
        document_id,
        state.status,
        state.text_hash,
        state.engine_name,
        state.engine_version,
        result,
        state.updated or now,
    )


def resource_key(resource: Resource) -> Key:
    """``(resourceType, id)`` of a resource to write.

    Raises:
        StoreError: ``[NLP422]`` when either is missing.
    """
    resource_type, resource_id = resource.get("resourceType"), resource.get("id")
    if not isinstance(resource_type, str) or not isinstance(resource_id, str):
        raise StoreError("resource without resourceType or id", code="NLP422")
    return resource_type, resource_id


def ref_key(ref: str) -> Key:
    """``("Condition", "abc")`` from ``"Condition/abc"``."""
    resource_type, _, resource_id = ref.partition("/")
    return resource_type, resource_id


def content_of(resource: Resource) -> Resource:
    """The resource without the server-assigned meta fields (for no-op detection)."""
    body = dict(resource)
    meta = body.get("meta")
    if isinstance(meta, dict):
        meta = {k: v for k, v in meta.items() if k not in ("versionId", "lastUpdated")}
        if meta:
            body["meta"] = meta
        else:
            body.pop("meta")
    return body


def version_number(version_id: str) -> int | None:
    """A ``_history`` version id as stored (a 32-bit integer), ``None`` when it cannot be one.

    >>> version_number("3"), version_number("abc"), version_number("99999999999")
    (3, None, None)
    """
    try:
        number = int(version_id)
    except ValueError:
        return None
    return number if -(2**31) <= number < 2**31 else None


def stamped(resource: Resource, key: Key, version: int, now: str) -> Resource:
    """The resource as stored: ``resourceType``, ``id``, ``meta`` (versionId, lastUpdated) first.

    >>> stamped({"id": "x", "resourceType": "Binary"}, ("Binary", "x"), 2, "T")
    {'resourceType': 'Binary', 'id': 'x', 'meta': {'versionId': '2', 'lastUpdated': 'T'}}
    """
    meta = dict(resource.get("meta") or {})
    meta["versionId"] = str(version)
    meta["lastUpdated"] = now
    stored: Resource = {"resourceType": key[0], "id": key[1], "meta": meta}
    stored.update((k, v) for k, v in resource.items() if k not in stored)
    return stored


_NLP_COLUMNS = {
    "text": ("text", "text_norm"),
    "concept_description": ("concept_description", "concept_description_norm"),
}


_MAX_CHAR = chr(0x10FFFF)
_COLUMNS = frozenset(
    {"text", "category", "type", "score", "concept_code", "concept_description", "concept_score"}
)


def _predicate_sql(pred: Predicate, alias: str) -> tuple[str, list[Any]]:
    if pred.kind == "string":
        raw, norm = _NLP_COLUMNS[pred.field]
        value = pred.value or ""
        if pred.op == "exact":
            return f"{alias}.{raw} = ?", [value]
        if pred.op == "contains":
            return f"instr({alias}.{norm}, ?) > 0", [value]
        # prefix as a range on the normalised column: the (operation, text_norm) index serves it
        return f"({alias}.{norm} >= ? AND {alias}.{norm} < ?)", [value, value + _MAX_CHAR]
    column = f"{alias}.{pred.field}"
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


def nlp_sql(criterion: NlpCriterion, doc_id_expr: str) -> tuple[str, list[Any]]:
    """``<doc_id_expr> IN (...)``: some index row (or the status) of the document satisfies it.

    The subquery is not correlated, so it runs once and uses the ``(operation, concept_code)``
    and ``(operation, text_norm)`` indexes.
    """
    args: list[Any] = []
    if criterion.missing is not None:
        negate = "NOT " if criterion.missing else ""
        if criterion.operation is None:  # cm-decoration-status: never processed
            return f"{doc_id_expr} {negate}IN (SELECT s.doc_id FROM nlp_documents s)", []
        column = str(criterion.missing_field)
        if column not in _COLUMNS:  # fields come from the registry; never user text
            raise SearchError(f"[NLP402] {criterion.param}:missing is not supported")
        sql = (
            f"{doc_id_expr} {negate}IN (SELECT n.doc_id FROM nlp_index n "
            f"WHERE n.operation = ? AND n.{column} IS NOT NULL)"
        )
        return sql, [criterion.operation]
    if criterion.operation is None:  # cm-decoration-status
        values = [p.value for alt in criterion.alternatives for p in alt]
        marks = ",".join("?" * len(values))
        sql = f"{doc_id_expr} IN (SELECT s.doc_id FROM nlp_documents s WHERE s.status IN ({marks}))"
        return sql, values
    alternatives: list[str] = []
    for alternative in criterion.alternatives:
        parts: list[str] = []
        for pred in alternative:
            sql, values = _predicate_sql(pred, "n")
            parts.append(sql)
            args.extend(values)
        alternatives.append("(" + " AND ".join(parts) + ")")
    sql = (
        f"{doc_id_expr} IN (SELECT n.doc_id FROM nlp_index n "
        f"WHERE n.operation = ? AND ({' OR '.join(alternatives)}))"
    )
    return sql, [criterion.operation, *args]


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


def standard_sql(c: StandardCriterion, resource_type: str | None = None) -> tuple[str, list[Any]]:
    """The condition of one standard parameter over ``resources r``.

    With ``resource_type`` it is ``r.id [NOT] IN (<uncorrelated subquery>)`` (one pass over the
    helper table's value index); without, a correlated ``EXISTS`` on ``r.type``/``r.id``.
    """
    args: list[Any] = []
    alternatives: list[str] = []
    if c.name == "_id":
        ids = [v.code for v in c.values if isinstance(v, TokenValue) and v.code is not None]
        marks = ",".join("?" * len(ids)) or "NULL"
        negate = "NOT " if c.modifier == "not" else ""
        return f"r.id {negate}IN ({marks})", ids
    if c.name == "_lastUpdated":
        for v in c.values:
            if isinstance(v, DateValue):
                sql, values = _date_point_sql("r.last_updated", v)
                alternatives.append(sql)
                args.extend(values)
        return "(" + " OR ".join(alternatives) + ")", args
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
                alternatives.append("s.ref_id = ?")
                args.append(v.id)
            else:
                alternatives.append("(s.ref_type = ? AND s.ref_id = ?)")
                args.extend([v.type, v.id])
        else:
            sql, values = _date_range_sql(v)
            alternatives.append(sql)
            args.extend(values)
    table, alias = {
        "token": ("search_token", "t"),
        "reference": ("search_ref", "s"),
        "date": ("search_date", "d"),
    }[c.kind]
    negate = "NOT " if c.modifier == "not" else ""
    if resource_type is not None:
        sql = (
            f"r.id {negate}IN (SELECT {alias}.id FROM {table} {alias} WHERE {alias}.type = ? "
            f"AND {alias}.param = ? AND ({' OR '.join(alternatives)}))"
        )
        return sql, [resource_type, c.name, *args]
    exists = (
        f"EXISTS (SELECT 1 FROM {table} {alias} WHERE {alias}.type = r.type "
        f"AND {alias}.id = r.id AND {alias}.param = ? AND ({' OR '.join(alternatives)}))"
    )
    return negate + exists, [c.name, *args]


def where_sql(query: SearchQuery) -> tuple[str, list[Any]]:
    """The ``WHERE`` condition of a search over ``resources r``: type, standard and NLP criteria."""
    where = ["r.type = ?"]
    args: list[Any] = [query.resource_type]
    for criterion in query.standard:
        sql, values = standard_sql(criterion, query.resource_type)
        where.append(sql)
        args.extend(values)
    for nlp in query.nlp:
        sql, values = nlp_sql(nlp, "r.id")
        where.append(sql)
        args.extend(values)
    return " AND ".join(where), args


def find_sql(criteria: Sequence[NlpCriterion]) -> tuple[str, list[Any]]:
    """``NlpIndex.find``: the ids of the indexed documents matching every criterion."""
    where: list[str] = []
    args: list[Any] = []
    for criterion in criteria:
        sql, values = nlp_sql(criterion, "d.doc_id")
        where.append(sql)
        args.extend(values)
    query = "SELECT d.doc_id FROM nlp_documents d"
    return (query + " WHERE " + " AND ".join(where)) if where else query, args


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
                "(SELECT MIN(d.low) FROM search_date d WHERE d.type = r.type AND d.id = r.id "
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
    """

    query: SearchQuery
    count_sql: str
    args: list[Any]
    page_sql: str | None
    page_args: list[Any]


def search_plan(query: SearchQuery, default_count: int) -> SearchPlan:
    """The statements of one page of ``query``.

    Raises:
        StoreError: ``[NLP404]`` for a type that is not searchable.
    """
    if query.resource_type not in SEARCHABLE_TYPES:
        raise StoreError(f"type {query.resource_type} is not searchable", code="NLP404")
    clause, args = where_sql(query)
    count = default_count if query.count is None else query.count
    count_sql = f"SELECT COUNT(*) FROM resources r WHERE {clause}"
    if count <= 0 or query.summary_count:
        return SearchPlan(query, count_sql, args, None, [])
    page_sql = (
        f"SELECT r.json FROM resources r WHERE {clause} ORDER BY {order_sql(query)} "
        "LIMIT ? OFFSET ?"
    )
    return SearchPlan(query, count_sql, args, page_sql, [*args, count, query.offset])


DbT = TypeVar("DbT", bound=SqlDatabase)


class SqlStore(ABC, Generic[DbT]):
    """The ``ServiceStore`` parts both SQL backends share: construction, search, units of work.

    Args:
        db: the service database handle.
        index: the NLP index in the same database (built when not given).
        clock: UTC ``now`` for ``meta.lastUpdated`` (default: the system clock).
        base_url: prefix of ``fullUrl`` and links in bundles from ``search()`` (default ``""``).
    """

    #: DDL of the store's tables, in the backend's dialect (idempotent).
    schema: ClassVar[str]

    def __init__(
        self,
        db: DbT,
        *,
        index: NlpIndex | None = None,
        clock: Clock = utc_now,
        base_url: str = "",
    ) -> None:
        self.db = db
        self.clock = clock
        self.base_url = base_url
        db.execute_ddl(self.schema)
        self.index: NlpIndex = index if index is not None else self.new_index()

    @abstractmethod
    def new_index(self) -> NlpIndex:
        """The NLP index of this backend on ``self.db``."""

    @abstractmethod
    def run_search(self, plan: SearchPlan) -> SearchResult:
        """Run the statements of one page, with ``_include``/``_revinclude``, in one snapshot."""

    @abstractmethod
    def history_rows(
        self, resource_type: str, resource_id: str, version: int | None = None
    ) -> list[VersionInfo]:
        """Every version of a resource newest first, or only ``version``."""

    @abstractmethod
    def ref_targets(
        self, conn: Any, source_type: str, param: str, ids: list[str], target_type: str | None
    ) -> list[Key]:
        """``(type, id)`` that the resources ``source_type/ids`` reference through ``param``."""

    @abstractmethod
    def ref_sources(
        self, conn: Any, source_type: str, param: str, target_type: str, ids: list[str]
    ) -> list[Key]:
        """``(type, id)`` of the ``source_type`` resources whose ``param`` names ``ids``."""

    @abstractmethod
    def live_bodies(self, conn: Any, keys: list[Key]) -> list[Resource]:
        """The current bodies of ``keys``, in that order (absent or deleted ones left out)."""

    def included(self, conn: Any, query: SearchQuery, matches: list[Resource]) -> list[Resource]:
        """The resources ``_include`` and ``_revinclude`` add to a page (each once, in order);
        with ``query.include_limit``, the slice from ``include_offset``, plus one when more
        follow (``bundles.searchset`` pages on)."""
        if not matches or not (query.include or query.revinclude):
            return []
        ids = [str(r["id"]) for r in matches]
        wanted: list[Key] = []
        for inc in query.include:
            if inc.source_type == query.resource_type:
                wanted += self.ref_targets(conn, inc.source_type, inc.param, ids, inc.target_type)
        for inc in query.revinclude:
            wanted += self.ref_sources(conn, inc.source_type, inc.param, query.resource_type, ids)
        seen = {(r["resourceType"], r["id"]) for r in matches}
        keys = [k for k in dict.fromkeys(wanted) if k not in seen]
        if query.include_limit is not None:  # paged: one more than the page tells "more"
            start = query.include_offset
            keys = keys[start : start + query.include_limit + 1]
        return self.live_bodies(conn, keys)

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """A unit of work: the store calls inside commit or roll back together (nested:
        savepoint); one writer at a time, like SQLite's ``BEGIN IMMEDIATE``."""
        with self.db.transaction():
            yield

    def vread(self, resource_type: str, resource_id: str, version_id: str) -> Resource | None:
        """One version; ``None`` if it does not exist.

        Raises:
            ResourceGone: that version is a deletion.
        """
        number = version_number(version_id)
        found = [] if number is None else self.history_rows(resource_type, resource_id, number)
        if not found:
            return None
        if found[0].resource is None:
            raise ResourceGone(f"{resource_type}/{resource_id} version {version_id} is a deletion")
        return found[0].resource

    def history(self, resource_type: str, resource_id: str) -> list[VersionInfo]:
        """All versions, newest first."""
        return self.history_rows(resource_type, resource_id)

    def execute(self, query: SearchQuery, *, default_count: int = 50) -> SearchResult:
        """Run a parsed query: one page of matches, the total and the included resources."""
        return self.run_search(search_plan(query, default_count))

    def search(self, resource_type: str, params: Sequence[tuple[str, str]]) -> Resource:
        """A ``searchset`` Bundle (links relative to ``base_url``)."""
        query = parse_search(resource_type, params)
        return searchset(query, self.execute(query), self.base_url, default_count=50)

    def ids(self, query: SearchQuery) -> list[str]:
        """Every matching id (no paging), for conditional interactions."""
        result = self.execute(
            SearchQuery(query.resource_type, query.standard, query.nlp, count=10_000)
        )
        return [str(r["id"]) for r in result.matches]


class SqlNlpIndex(ABC, Generic[DbT]):
    """The ``NlpIndex`` parts both SQL backends share (``nlp_index`` rows, ``nlp_documents``).

    Args:
        db: the service database handle (the index lives next to the store's tables).
        clock: UTC ``now`` for the state's ``updated`` (default: the system clock).
    """

    #: DDL of the index tables, in the backend's dialect (idempotent).
    schema: ClassVar[str]

    def __init__(self, db: DbT, *, clock: Clock = utc_now) -> None:
        self.db = db
        self.clock = clock
        db.execute_ddl(self.schema)

    @abstractmethod
    def replace_at(
        self, document_id: str, rows: Sequence[IndexRow], state: NlpState | None, now: str
    ) -> None:
        """Replace the rows (and state) of one document in one transaction, stamped ``now``."""

    def replace(
        self, document_id: str, rows: Sequence[IndexRow], *, state: NlpState | None = None
    ) -> None:
        """Replace the rows (and the state, when given) of one document."""
        self.replace_at(document_id, rows, state, format_instant(self.clock()))
