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
``:contains``; on composites the modifier applies to the string component. Numbers: FHIR implicit
precision (``0.6`` = [0.55, 0.65)) with prefixes ``eq ne gt lt ge le ap`` (``sa``/``eb`` as
``gt``/``lt``). Tokens: exact (``system|code`` on standard tokens; ``:not`` supported there).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from decimal import Decimal, InvalidOperation

from api.search_params import (
    NLP_PARAMS,
    SEARCHABLE_TYPES,
    STANDARD_PARAMS,
    FieldKind,
    StandardKind,
    standard_param,
)


class SearchError(ValueError):
    """An unusable search request; the message starts with a stable code (``[NLP402]``...)."""


# --------------------------------------------------------------------------- values


@dataclass(frozen=True)
class Predicate:
    """One condition on one index-row column.

    ``op``: strings ``prefix`` | ``exact`` | ``contains``; tokens ``eq``; numbers ``eq ne gt lt ge
    le ap``. ``value`` is the normalised string (tokens: exact text); ``low``/``high`` bound
    numbers (``eq``/``ne``/``ap``: [low, high); ``gt``/``ge``/``lt``/``le``: low = high = value).
    """

    field: str
    kind: FieldKind
    op: str
    value: str | None = None
    low: float | None = None
    high: float | None = None


@dataclass(frozen=True)
class NlpCriterion:
    """One occurrence of an NLP parameter: OR over ``alternatives``, each an AND inside one row."""

    param: str
    operation: str | None
    alternatives: tuple[tuple[Predicate, ...], ...]


@dataclass(frozen=True)
class TokenValue:
    system: str | None
    code: str | None


@dataclass(frozen=True)
class RefValue:
    type: str | None
    id: str


@dataclass(frozen=True)
class DateValue:
    prefix: str
    low: str
    high: str


Value = TokenValue | RefValue | DateValue


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


IGNORED = frozenset({"_format", "_pretty", "_total", "_totalMethod", "_elements"})
PREFIXES = ("eq", "ne", "gt", "lt", "ge", "le", "sa", "eb", "ap")
MIN_INSTANT = "0001-01-01T00:00:00.000Z"
MAX_INSTANT = "9999-12-31T23:59:59.999Z"


def normalize_text(value: str) -> str:
    """Case- and accent-insensitive form used on both sides of string matching.

    >>> normalize_text("Ménière's Disease")
    "meniere's disease"
    """
    decomposed = unicodedata.normalize("NFKD", value)
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return stripped.casefold()


def split_escaped(value: str, sep: str, maxsplit: int = -1) -> list[str]:
    r"""Split on ``sep`` not preceded by a backslash; escapes are kept (see ``unescape``).

    >>> split_escaped(r"a\,b,c", ",")
    ['a\\,b', 'c']
    >>> split_escaped("x|y|z", "|", 1)
    ['x', 'y|z']
    """
    parts: list[str] = []
    current: list[str] = []
    i = 0
    while i < len(value):
        ch = value[i]
        if ch == "\\" and i + 1 < len(value):
            current.append(value[i : i + 2])
            i += 2
            continue
        if ch == sep and (maxsplit < 0 or len(parts) < maxsplit):
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
        i += 1
    parts.append("".join(current))
    return parts


def unescape(value: str) -> str:
    r"""Remove FHIR search escapes.

    >>> unescape(r"a\,b\|c\$d\\e")
    'a,b|c$d\\e'
    """
    return re.sub(r"\\([\\,|$])", r"\1", value)


def parse_number(text: str, field_name: str = "score", kind: FieldKind = "number") -> Predicate:
    """A FHIR number comparison with implicit precision.

    >>> p = parse_number("0.6")
    >>> (p.op, round(p.low, 4), round(p.high, 4))
    ('eq', 0.55, 0.65)
    >>> parse_number("ge0.8").op, parse_number("ge0.8").low
    ('ge', 0.8)
    >>> parse_number("1e-1").high
    0.15
    """
    prefix, raw = _split_prefix(text)
    try:
        number = Decimal(raw)
    except InvalidOperation:
        raise SearchError(f"[NLP402] not a number: {raw!r}") from None
    if not number.is_finite():
        raise SearchError(f"[NLP402] not a finite number: {raw!r}")
    exponent = number.as_tuple().exponent
    if not isinstance(exponent, int):  # pragma: no cover - finite numbers have int exponents
        raise SearchError(f"[NLP402] not a finite number: {raw!r}")
    half = Decimal(5) * Decimal(10) ** (exponent - 1)
    value = float(number)
    op = {"sa": "gt", "eb": "lt"}.get(prefix, prefix)
    if op in ("eq", "ne"):
        return Predicate(field_name, kind, op, low=float(number - half), high=float(number + half))
    if op == "ap":
        margin = abs(number) / 10 if number else half
        return Predicate(
            field_name, kind, op, low=float(number - margin), high=float(number + margin)
        )
    return Predicate(field_name, kind, op, low=value, high=value)


def _split_prefix(text: str) -> tuple[str, str]:
    if len(text) > 2 and text[:2] in PREFIXES and not text[2].isalpha():
        return text[:2], text[2:]
    return "eq", text


_DATE_RE = re.compile(
    r"^(?P<y>\d{4})(?:-(?P<m>\d{2})(?:-(?P<d>\d{2})"
    r"(?:T(?P<H>\d{2}):(?P<M>\d{2})(?::(?P<S>\d{2})(?:\.(?P<f>\d{1,9}))?)?"
    r"(?P<tz>Z|[+-]\d{2}:\d{2})?)?)?)?$"
)


def format_instant(moment: datetime) -> str:
    """Canonical instant text (UTC, milliseconds): sortable as a string.

    >>> format_instant(datetime(2021, 12, 19, 6, 9, 10, 719500, tzinfo=UTC))
    '2021-12-19T06:09:10.719Z'
    """
    utc = moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def date_range(text: str) -> tuple[str, str]:
    """The [low, high) range, as canonical instants, that a FHIR date/dateTime/instant covers.

    >>> date_range("2021-12-19")
    ('2021-12-19T00:00:00.000Z', '2021-12-20T00:00:00.000Z')
    >>> date_range("2020-02")
    ('2020-02-01T00:00:00.000Z', '2020-03-01T00:00:00.000Z')
    >>> date_range("2020-11-23T06:09:10.719+01:00")
    ('2020-11-23T05:09:10.719Z', '2020-11-23T05:09:10.720Z')
    """
    match = _DATE_RE.match(text.strip().replace(" ", "+"))
    if not match:
        raise SearchError(f"[NLP402] not a FHIR date: {text!r}")
    g = match.groupdict()
    try:
        year = int(g["y"])
        if g["m"] is None:
            low = datetime(year, 1, 1, tzinfo=UTC)
            high = datetime(year + 1, 1, 1, tzinfo=UTC) if year < 9999 else None
        elif g["d"] is None:
            month = int(g["m"])
            low = datetime(year, month, 1, tzinfo=UTC)
            high = datetime(year + month // 12, month % 12 + 1, 1, tzinfo=UTC)
        else:
            low = datetime(year, int(g["m"]), int(g["d"]), tzinfo=UTC)
            high = low + timedelta(days=1)
            if g["H"] is not None:
                tz = _tz(g["tz"])
                frac = g["f"] or ""
                micro = int((frac + "000000")[:6]) if frac else 0
                local = datetime(
                    year, int(g["m"]), int(g["d"]), int(g["H"]), int(g["M"]), int(g["S"] or 0),
                    micro, tzinfo=tz,
                )  # fmt: skip
                low = local.astimezone(UTC)
                if g["S"] is None:
                    step = timedelta(minutes=1)
                elif not frac:
                    step = timedelta(seconds=1)
                else:
                    step = (
                        timedelta(milliseconds=1) if len(frac) <= 3 else timedelta(microseconds=1)
                    )
                high = low + step
    except (ValueError, OverflowError):
        raise SearchError(f"[NLP402] not a valid date: {text!r}") from None
    return format_instant(low), format_instant(high) if high else MAX_INSTANT


def _tz(text: str | None) -> tzinfo:
    if not text or text == "Z":
        return UTC
    sign = 1 if text[0] == "+" else -1
    hours, minutes = int(text[1:3]), int(text[4:6])
    return timezone(sign * timedelta(hours=hours, minutes=minutes))


def parse_date(text: str) -> DateValue:
    """A date comparison.

    >>> parse_date("le2021-12-19")
    DateValue(prefix='le', low='2021-12-19T00:00:00.000Z', high='2021-12-20T00:00:00.000Z')
    """
    prefix, raw = _split_prefix(text)
    low, high = date_range(raw)
    return DateValue(prefix, low, high)


def parse_token(text: str) -> TokenValue:
    """``[system|]code``.

    >>> parse_token("http://loinc.org|11488-4")
    TokenValue(system='http://loinc.org', code='11488-4')
    >>> parse_token("|x"), parse_token("s|")
    (TokenValue(system='', code='x'), TokenValue(system='s', code=None))
    >>> parse_token("final")
    TokenValue(system=None, code='final')
    """
    parts = split_escaped(text, "|", 1)
    if len(parts) == 1:
        return TokenValue(None, unescape(parts[0]))
    system, code = unescape(parts[0]), unescape(parts[1])
    return TokenValue(system, code or None)


_REF_RE = re.compile(
    r"(?:^|/)(?P<type>[A-Z][A-Za-z]+)/(?P<id>[A-Za-z0-9\-.]{1,64})(?:/_history/[^/]+)?$"
)


def parse_reference(text: str, type_modifier: str | None = None) -> RefValue:
    """``Type/id``, ``id`` or an absolute URL ending in ``Type/id``.

    >>> parse_reference("Patient/p1"), parse_reference("p1", "Patient")
    (RefValue(type='Patient', id='p1'), RefValue(type='Patient', id='p1'))
    >>> parse_reference("http://x/fhir/Patient/p1/_history/2")
    RefValue(type='Patient', id='p1')
    """
    value = unescape(text).strip()
    match = _REF_RE.search(value)
    if match:
        return RefValue(match["type"], match["id"])
    if not value or "/" in value:
        raise SearchError(f"[NLP402] not a reference: {text!r}")
    return RefValue(type_modifier, value)


# --------------------------------------------------------------------------- NLP parameters


def parse_nlp(name: str, modifier: str | None, raw: str) -> NlpCriterion:
    """One NLP parameter occurrence.

    >>> c = parse_nlp("infer-rxnorm-entity-text-concept-score", None, "Amoxicillin|0.8")
    >>> [(p.field, p.op, p.value) for p in c.alternatives[0]]
    [('text', 'prefix', 'amoxicillin'), ('concept_score', 'eq', None)]
    >>> c = parse_nlp("detectEntities-entity-category", None, "MEDICATION,TEST_TREATMENT_PROCEDURE")
    >>> [[p.value for p in alternative] for alternative in c.alternatives]
    [['MEDICATION'], ['TEST_TREATMENT_PROCEDURE']]
    """
    param = NLP_PARAMS[name]
    kinds = {c.kind for c in param.components}
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
    resource_type: str, query_items: Iterable[tuple[str, str]], *, max_count: int = 1000
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
    api.search.SearchError: [NLP403] unknown search parameter 'infer-icd10-entity-text' ...

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
    echo: list[tuple[str, str]] = []
    for raw_name, value in query_items:
        name, _, modifier_text = raw_name.strip().rstrip(";").partition(":")
        modifier = modifier_text or None
        if name in IGNORED:
            continue
        if name not in ("_offset", "_getpagesoffset"):
            echo.append((raw_name.strip().rstrip(";"), value))
        if name == "_count":
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
