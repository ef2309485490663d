"""parse_search(resource_type, query_items) -> SearchQuery: FHIR search parsing, pure (doctests).

Supported (D8, spec §4): the 25 NLP parameters + ``cm-decoration-status`` on DocumentReference;
``_id``, ``_lastUpdated``, ``_tag`` everywhere; the standard parameters of
``api.search_params.STANDARD_PARAMS``; ``_count``, ``_offset`` (paging), ``_sort``,
``_include`` / ``_revinclude`` (reference parameters, including ``DocumentReference:nlp-generated``
and ``<Generated>:derived-from``), ``_summary=count``. ``_format``, ``_pretty``, ``_total``,
``_totalMethod`` (fhirpy) and ``_elements`` are accepted and ignored. Anything else is an
error (``[NLP403]``), so a typo in an NLP parameter never silently widens a result.

Value rules: repeated parameter = AND, comma = OR; ``\\,`` ``\\|`` ``\\$`` ``\\\\`` escape.
Composite separator ``|`` (FHIR's ``$`` too); a stray ``;`` after a name is ignored (as in the AWS
example). Strings: case- and accent-insensitive prefix; ``:exact`` (exact equality) and
``:contains``; on composites the modifier applies to the string component; ``:missing`` on the
simple NLP parameters. Numbers: FHIR implicit
precision (``0.6`` = [0.55, 0.65)) with prefixes ``eq ne gt lt ge le ap`` (``sa``/``eb`` as
``gt``/``lt``). Tokens: exact (``system|code`` on standard tokens; ``:not`` supported there).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from api.search_params import (
    NLP_PARAMS,
    SEARCHABLE_TYPES,
    STANDARD_PARAMS,
    FieldKind,
    StandardKind,
    standard_param,
)
from api.search_values import MAX_INSTANT as MAX_INSTANT
from api.search_values import MIN_INSTANT as MIN_INSTANT
from api.search_values import DateValue as DateValue
from api.search_values import Predicate as Predicate
from api.search_values import RefValue as RefValue
from api.search_values import SearchError as SearchError
from api.search_values import TokenValue as TokenValue
from api.search_values import Value as Value
from api.search_values import date_range as date_range
from api.search_values import format_instant as format_instant
from api.search_values import normalize_text as normalize_text
from api.search_values import parse_date, parse_number, parse_token, split_escaped, unescape
from api.search_values import parse_reference as parse_reference


@dataclass(frozen=True)
class NlpCriterion:
    """One occurrence of an NLP parameter: OR over ``alternatives``, each an AND inside one row.

    ``missing`` (``:missing=true|false`` on a simple parameter): match the documents that have no
    (``True``) / some (``False``) value in column ``missing_field`` of that operation; the
    alternatives are then empty.
    """

    param: str
    operation: str | None
    alternatives: tuple[tuple[Predicate, ...], ...]
    missing: bool | None = None
    missing_field: str | None = None


@dataclass(frozen=True)
class StandardCriterion:
    """One occurrence of a standard parameter: OR over ``values``."""

    name: str
    kind: StandardKind
    modifier: str | None
    values: tuple[Value, ...]
    targets: tuple[str, ...] = ()


@dataclass(frozen=True)
class SortKey:
    name: str
    descending: bool = False


@dataclass(frozen=True)
class Include:
    """``_include=source_type:param[:target_type]`` (or ``_revinclude``)."""

    source_type: str
    param: str
    target_type: str | None = None


@dataclass(frozen=True)
class SearchQuery:
    resource_type: str
    standard: tuple[StandardCriterion, ...] = ()
    nlp: tuple[NlpCriterion, ...] = ()
    count: int | None = None
    offset: int = 0
    sort: tuple[SortKey, ...] = ()
    include: tuple[Include, ...] = ()
    revinclude: tuple[Include, ...] = ()
    summary_count: bool = False
    echo: tuple[tuple[str, str], ...] = field(default=(), compare=False)
    #: ``_include``/``_revinclude`` paging: the page's included resources start here, at most
    #: ``include_limit`` of them (``None``: all); the ``next`` link carries ``_includeOffset``.
    include_offset: int = 0
    include_limit: int | None = None


#: Where a page's ``_include``/``_revinclude`` resources start (the ``next`` link sets it).
INCLUDE_OFFSET = "_includeOffset"
IGNORED = frozenset({"_format", "_pretty", "_total", "_totalMethod", "_elements"})


# --------------------------------------------------------------------------- NLP parameters


def parse_nlp(name: str, modifier: str | None, raw: str) -> NlpCriterion:
    """One NLP parameter occurrence.

    >>> c = parse_nlp("infer-rxnorm-entity-text-concept-score", None, "Amoxicillin|0.8")
    >>> [(p.field, p.op, p.value) for p in c.alternatives[0]]
    [('text', 'prefix', 'amoxicillin'), ('concept_score', 'eq', None)]
    >>> c = parse_nlp("detectEntities-entity-category", None, "MEDICATION,TEST_TREATMENT_PROCEDURE")
    >>> [[p.value for p in alternative] for alternative in c.alternatives]
    [['MEDICATION'], ['TEST_TREATMENT_PROCEDURE']]
    >>> parse_nlp("infer-rxnorm-entity-text", "missing", "true").missing
    True
    """
    param = NLP_PARAMS[name]
    kinds = {c.kind for c in param.components}
    if modifier == "missing" and len(param.components) == 1:
        if raw not in ("true", "false"):
            raise SearchError(f"[NLP402] {name}:missing takes true or false")
        field_name = param.components[0].field
        return NlpCriterion(name, param.operation, (), raw == "true", field_name)
    if modifier is not None and (modifier not in ("exact", "contains") or "string" not in kinds):
        raise SearchError(f"[NLP402] modifier ':{modifier}' is not supported on {name}")
    alternatives: list[tuple[Predicate, ...]] = []
    for alternative in split_escaped(raw, ","):
        if len(param.components) == 1:
            parts = [alternative]
        else:
            sep = "|" if len(split_escaped(alternative, "|")) > 1 else "$"
            parts = split_escaped(alternative, sep, len(param.components) - 1)
            if len(parts) != len(param.components):
                raise SearchError(
                    f"[NLP402] {name} needs {len(param.components)} components separated by '|'"
                )
        preds = tuple(
            _component(c.field, c.kind, modifier, part)
            for c, part in zip(param.components, parts, strict=True)
        )
        alternatives.append(preds)
    return NlpCriterion(name, param.operation, tuple(alternatives))


def _component(field_name: str, kind: FieldKind, modifier: str | None, part: str) -> Predicate:
    if kind == "number":
        return parse_number(part.strip(), field_name)
    text = unescape(part)
    if not text:
        raise SearchError(f"[NLP402] empty value for {field_name}")
    if kind == "token":
        return Predicate(field_name, kind, "eq", value=text.split("|")[-1])
    if modifier == "exact":
        return Predicate(field_name, kind, "exact", value=text)
    return Predicate(field_name, kind, modifier or "prefix", value=normalize_text(text))


# --------------------------------------------------------------------------- the query


def parse_search(
    resource_type: str,
    query_items: Iterable[tuple[str, str]],
    *,
    max_count: int = 1000,
    max_include: int | None = None,
) -> SearchQuery:
    """Parse FHIR search items (``request.query_params.multi_items()`` or a form body).

    >>> q = parse_search("DocumentReference", [
    ...     ("_lastUpdated", "le2021-12-19"),
    ...     ("infer-icd10cm-entity-text-concept-score;", "streptococcal|0.6"),
    ...     ("infer-rxnorm-entity-text-concept-score", "Amoxicillin|0.8"),
    ... ])
    >>> [c.param for c in q.nlp]
    ['infer-icd10cm-entity-text-concept-score', 'infer-rxnorm-entity-text-concept-score']
    >>> [c.name for c in q.standard]
    ['_lastUpdated']
    >>> parse_search("Condition", [("patient", "p1"), ("_sort", "-_lastUpdated")]).sort
    (SortKey(name='_lastUpdated', descending=True),)
    >>> parse_search("DocumentReference", [("infer-icd10-entity-text", "x")])  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    api.search_values.SearchError: [NLP403] unknown search parameter 'infer-icd10-entity-text' ...

    ``max_include`` caps the ``_include``/``_revinclude`` resources of one page; the rest
    follow through ``_includeOffset`` (in the ``next`` link).

    Raises:
        SearchError: unknown type or parameter, bad modifier or value.
    """
    if resource_type not in SEARCHABLE_TYPES:
        raise SearchError(f"[NLP404] resource type {resource_type!r} is not supported")
    standard: list[StandardCriterion] = []
    nlp: list[NlpCriterion] = []
    count: int | None = None
    offset = 0
    sort: tuple[SortKey, ...] = ()
    include: list[Include] = []
    revinclude: list[Include] = []
    summary_count = False
    include_offset = 0
    echo: list[tuple[str, str]] = []
    for raw_name, value in query_items:
        name, _, modifier_text = raw_name.strip().rstrip(";").partition(":")
        modifier = modifier_text or None
        if name in IGNORED:
            continue
        if name not in ("_offset", "_getpagesoffset", INCLUDE_OFFSET):
            echo.append((raw_name.strip().rstrip(";"), value))
        if name == INCLUDE_OFFSET:
            include_offset = _int(name, value)
        elif name == "_count":
            count = min(_int(name, value), max_count)
        elif name in ("_offset", "_getpagesoffset"):
            offset = _int(name, value)
        elif name == "_sort":
            sort = _parse_sort(resource_type, value)
        elif name in ("_include", "_revinclude"):
            target = include if name == "_include" else revinclude
            target.extend(_parse_include(name, v) for v in split_escaped(value, ","))
        elif name == "_summary":
            if value not in ("count", "false"):
                raise SearchError(f"[NLP402] _summary={value} is not supported (count, false)")
            summary_count = value == "count"
        elif name in NLP_PARAMS:
            if resource_type != "DocumentReference":
                raise SearchError(f"[NLP403] {name} applies to DocumentReference only")
            nlp.append(parse_nlp(name, modifier, value))
        else:
            param = standard_param(resource_type, name)
            if param is None:
                raise SearchError(f"[NLP403] unknown search parameter {name!r} for {resource_type}")
            standard.append(_parse_standard(param.name, param.kind, param.targets, modifier, value))
    return SearchQuery(
        resource_type,
        tuple(standard),
        tuple(nlp),
        count,
        offset,
        sort,
        tuple(include),
        tuple(revinclude),
        summary_count,
        tuple(echo),
        include_offset,
        max_include if include or revinclude else None,
    )


def _int(name: str, value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise SearchError(f"[NLP402] {name} must be a non-negative integer") from None
    if not 0 <= number < 2**31:
        raise SearchError(f"[NLP402] {name} must be an integer from 0 to 2147483647")
    return number


def _parse_standard(
    name: str, kind: StandardKind, targets: tuple[str, ...], modifier: str | None, raw: str
) -> StandardCriterion:
    values: list[Value] = []
    alternatives = split_escaped(raw, ",")
    if kind == "token":
        if modifier not in (None, "not"):
            raise SearchError(f"[NLP402] modifier ':{modifier}' is not supported on {name}")
        values = [parse_token(v) for v in alternatives]
    elif kind == "reference":
        type_modifier = None
        if modifier is not None:
            if not re.fullmatch(r"[A-Z][A-Za-z]+", modifier):
                raise SearchError(f"[NLP402] modifier ':{modifier}' is not supported on {name}")
            type_modifier = modifier
        refs = [parse_reference(v, type_modifier) for v in alternatives]
        if type_modifier and any(r.type != type_modifier for r in refs):
            raise SearchError(f"[NLP402] {name}:{type_modifier} value names another type")
        values = list(refs)
        modifier = None
    elif kind == "date":
        if modifier is not None:
            raise SearchError(f"[NLP402] modifier ':{modifier}' is not supported on {name}")
        values = [parse_date(v) for v in alternatives]
    else:
        raise SearchError(f"[NLP402] parameter {name} cannot be searched")
    return StandardCriterion(name, kind, modifier, tuple(values), targets)


def sortable(resource_type: str) -> set[str]:
    """Names ``_sort`` accepts for a type: ``_id``, ``_lastUpdated`` and its date parameters."""
    dates = {p.name for p in STANDARD_PARAMS.get(resource_type, {}).values() if p.kind == "date"}
    return {"_id", "_lastUpdated"} | dates


def _parse_sort(resource_type: str, value: str) -> tuple[SortKey, ...]:
    keys: list[SortKey] = []
    allowed = sortable(resource_type)
    for item in value.split(","):
        item = item.strip()
        descending = item.startswith("-")
        name = item.lstrip("-")
        if name not in allowed:
            raise SearchError(
                f"[NLP402] _sort={name} is not supported on {resource_type} "
                f"(supported: {', '.join(sorted(allowed))})"
            )
        keys.append(SortKey(name, descending))
    return tuple(keys)


def _parse_include(kind: str, value: str) -> Include:
    parts = value.split(":")
    if len(parts) not in (2, 3):
        raise SearchError(f"[NLP402] {kind}={value}: expected Type:parameter[:TargetType]")
    source, param_name = parts[0], parts[1]
    target = parts[2] if len(parts) == 3 else None
    param = STANDARD_PARAMS.get(source, {}).get(param_name)
    if param is None or param.kind != "reference":
        raise SearchError(f"[NLP402] {kind}={value}: not a reference parameter of a known type")
    if target is not None and target not in SEARCHABLE_TYPES:
        raise SearchError(f"[NLP402] {kind}={value}: target type {target!r} is not stored here")
    return Include(source, param_name, target)
