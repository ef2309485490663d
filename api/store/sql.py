"""SQL for the NLP criteria and the standard search parameters (shared by SQLite and PostgreSQL).

Each builder returns ``(sql, args)`` with ``?`` placeholders, for a query over ``resources r``
(standard parameters) or any expression naming a DocumentReference id (``nlp_sql``).
"""

from __future__ import annotations

from collections.abc import Sequence
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
)

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
