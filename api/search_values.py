"""FHIR search value parsing (pure): strings, numbers, dates, tokens, references, escapes."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from decimal import Decimal, InvalidOperation

from api.search_params import FieldKind


class SearchError(ValueError):
    """An unusable search request; the message starts with a stable code (``[NLP402]``...)."""


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


def typed_reference(text: str) -> tuple[str, str] | None:
    """``(type, id)`` of a reference that names its type (what ``parse_reference`` finds
    with a type), else ``None``; no error (the store indexes what it can).

    >>> typed_reference("Patient/p1"), typed_reference("p1"), typed_reference("a/b")
    (('Patient', 'p1'), None, None)
    """
    value = (unescape(text) if "\\" in text else text).strip()
    match = _REF_RE.search(value)
    return (match["type"], match["id"]) if match else None


def parse_reference(text: str, type_modifier: str | None = None) -> RefValue:
    """``Type/id``, ``id`` or an absolute URL ending in ``Type/id``.

    >>> parse_reference("Patient/p1"), parse_reference("p1", "Patient")
    (RefValue(type='Patient', id='p1'), RefValue(type='Patient', id='p1'))
    >>> parse_reference("http://x/fhir/Patient/p1/_history/2")
    RefValue(type='Patient', id='p1')
    """
    typed = typed_reference(text)
    if typed is not None:
        return RefValue(*typed)
    value = unescape(text).strip()
    if not value or "/" in value:
        raise SearchError(f"[NLP402] not a reference: {text!r}")
    return RefValue(type_modifier, value)
