"""HealthLake's ``raw-response`` text: the Java SDK v1 ``toString()`` of a response (spec §1.6).

Grammar: a struct is ``{`` + ``Name: value`` for each non-null member in declared order, each
followed by ``,`` except after the *last declared* member (so a null last member leaves a
trailing ``,``) + ``}``; a list is ``[`` + elements joined by ``", "`` + ``]``; strings and enums
are unquoted and unescaped; integers in decimal; floats through :func:`java_float`.
Pydantic field order in ``nlp.schema`` is the Java member order.
"""

from __future__ import annotations

import math
import struct
from decimal import Decimal
from functools import lru_cache

from pydantic import BaseModel


def f32(x: float) -> float:
    """Round a double to the nearest float32 value (as a Python float).

    >>> f32(0.9815993905067444)
    0.9815993905067444
    """
    value: float = struct.unpack("<f", struct.pack("<f", x))[0]
    return value


_JAVA_FLOATS: dict[float, str] = {}  # positive inputs only: 0.0 == -0.0 and NaN != NaN
_CACHE_MAX = 65536


def java_float(x: float) -> str:
    """Java's ``Float.toString`` of ``x`` rounded to float32 (shortest round-trip digits).

    >>> java_float(0.9815993905067444)
    '0.9815994'
    >>> java_float(1.0)
    '1.0'
    >>> java_float(0.00012345)
    '1.2345E-4'
    >>> java_float(12345678.0)
    '1.2345678E7'
    """
    if x > 0.0:  # scores: memoised by the exact input value
        cached = _JAVA_FLOATS.get(x)
        if cached is None:
            if len(_JAVA_FLOATS) >= _CACHE_MAX:
                _JAVA_FLOATS.clear()
            cached = _JAVA_FLOATS[x] = _java_float(x)
        return cached
    return _java_float(x)


def _java_float(x: float) -> str:
    v = f32(x)
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "Infinity" if v > 0 else "-Infinity"
    if v == 0.0:
        return "-0.0" if math.copysign(1.0, v) < 0 else "0.0"
    return _java_finite(v)


@lru_cache(maxsize=65536)
def _java_finite(v: float) -> str:
    # Fewest significant digits that round-trip to the same float32 (9 always do); the
    # property is monotonic in the digit count, so binary search.
    lo, hi = 1, 9
    while lo < hi:
        mid = (lo + hi) // 2
        if f32(float(f"{v:.{mid}g}")) == v:
            hi = mid
        else:
            lo = mid + 1
    p = lo
    s = f"{v:.{p}g}"
    d = float(s)
    if abs(d) < 1e-3 or abs(d) >= 1e7:
        mantissa, exponent = f"{v:.{p - 1}e}".split("e")
        if "." not in mantissa:
            mantissa += ".0"
        return f"{mantissa}E{int(exponent)}"
    return repr(d)


def java_decimal(x: float) -> Decimal:
    """The float32 shortest representation as a Decimal, for FHIR ``valueDecimal`` (D3).

    >>> java_decimal(0.9815993905067444)
    Decimal('0.9815994')
    """
    return Decimal(java_float(x))


def _value(value: object) -> str:
    kind = type(value)
    if kind is str:
        return value  # type: ignore[return-value]
    if kind is float:
        return java_float(value)  # type: ignore[arg-type]
    if kind is int:
        return str(value)
    if kind is list:
        return "[" + ", ".join([_value(v) for v in value]) + "]"  # type: ignore[attr-defined]
    if isinstance(value, BaseModel):
        return to_java_string(value)
    if isinstance(value, list):
        return "[" + ", ".join([_value(v) for v in value]) + "]"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return java_float(value)
    return str(value)


def to_java_string(model: BaseModel) -> str:
    """The Java SDK v1 ``toString()`` text of one Comprehend Medical response or struct.

    Extra (undeclared) keys are ignored: the Java SDK only prints declared members.
    """
    values = model.__dict__
    parts: list[str] = ["{"]
    for name, label, comma in _members(type(model)):
        value = values[name]
        if value is None:
            continue
        parts.append(label)
        parts.append(_value(value))
        if comma:
            parts.append(",")
    parts.append("}")
    return "".join(parts)


@lru_cache(maxsize=256)
def _members(cls: type[BaseModel]) -> tuple[tuple[str, str, bool], ...]:
    """(attribute, ``"Alias: "``, comma after it) of each declared field, in declaration order.

    Every member but the last declared one is followed by a comma (when printed).
    """
    fields = list(cls.model_fields.items())
    last = len(fields) - 1
    return tuple(
        (name, f"{info.alias or name}: ", i != last) for i, (name, info) in enumerate(fields)
    )
