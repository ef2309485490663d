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

from pydantic import BaseModel


def f32(x: float) -> float:
    """Round a double to the nearest float32 value (as a Python float).

    >>> f32(0.9815993905067444)
    0.9815993905067444
    """
    value: float = struct.unpack("<f", struct.pack("<f", x))[0]
    return value


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
    v = f32(x)
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "Infinity" if v > 0 else "-Infinity"
    if v == 0.0:
        return "-0.0" if math.copysign(1.0, v) < 0 else "0.0"
    p = 1
    s = f"{v:.{p}g}"
    for p in range(1, 10):
        s = f"{v:.{p}g}"
        if f32(float(s)) == v:
            break
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
    if isinstance(value, BaseModel):
        return to_java_string(value)
    if isinstance(value, list):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return java_float(value)
    return str(value)


def to_java_string(model: BaseModel) -> str:
    """The Java SDK v1 ``toString()`` text of one Comprehend Medical response or struct.

    Extra (undeclared) keys are ignored: the Java SDK only prints declared members.
    """
    fields = list(type(model).model_fields.items())
    parts: list[str] = ["{"]
    last = len(fields) - 1
    for i, (name, info) in enumerate(fields):
        value = getattr(model, name)
        if value is None:
            continue
        parts.append(f"{info.alias or name}: {_value(value)}")
        if i != last:
            parts.append(",")
    parts.append("}")
    return "".join(parts)
