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
from collections.abc import Callable
from decimal import Decimal
from functools import lru_cache
from types import UnionType
from typing import Union, get_args, get_origin

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
    return _writer(type(model))(model)


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


# --- generated writers ----------------------------------------------------------------------
#
# ``to_java_string`` of a model class is compiled once into a function with its members
# unrolled; each member's text is computed inline for the type its annotation declares
# (``str``, ``int``, ``float``, a model, a list of models) and by ``_value`` for any other
# runtime type, so the output is the same as the member-by-member walk above for any value.

_Writer = Callable[[BaseModel], str]
_WRITERS: dict[type[BaseModel], _Writer] = {}


def _writer(cls: type[BaseModel]) -> _Writer:
    found = _WRITERS.get(cls)
    if found is None:
        found = _compile(cls, set())
    return found


def _declared(annotation: object) -> object:
    """The one non-None type of ``X | None`` (or ``X``); ``None`` when there is no single one."""
    args = [a for a in get_args(annotation) if a is not type(None)]
    if get_origin(annotation) in (Union, UnionType):
        return args[0] if len(args) == 1 else None
    return annotation


def _is_model(kind: object) -> bool:
    return isinstance(kind, type) and issubclass(kind, BaseModel)


def _expr(kind: object, var: str, names: dict[str, object], busy: set[type[BaseModel]]) -> str:
    """Python expression of the text of ``var`` (declared ``kind``); ``_value`` otherwise."""
    if kind is str:
        return f"({var} if type({var}) is str else _value({var}))"
    if kind is int:
        return f"(str({var}) if type({var}) is int else _value({var}))"
    if kind is float:
        return f"((_floats({var}) or java_float({var})) if type({var}) is float else _value({var}))"
    if _is_model(kind) and kind not in busy:
        name = _bind(kind, names, busy)  # type: ignore[arg-type]
        return f"({name}({var}) if type({var}) is {name}_cls else _value({var}))"
    if get_origin(kind) is list and len(get_args(kind)) == 1:
        item = _expr(get_args(kind)[0], "x", names, busy)
        return (
            f'("[" + ", ".join([{item} for x in {var}]) + "]" '
            f"if type({var}) is list else _value({var}))"
        )
    return f"_value({var})"


def _bind(cls: type[BaseModel], names: dict[str, object], busy: set[type[BaseModel]]) -> str:
    name = f"_w{len(names)}"
    names[name] = _WRITERS.get(cls) or _compile(cls, busy)
    names[name + "_cls"] = cls
    return name


def _compile(cls: type[BaseModel], busy: set[type[BaseModel]]) -> _Writer:
    busy = busy | {cls}
    names: dict[str, object] = {
        "_value": _value,
        "java_float": java_float,
        "_floats": _JAVA_FLOATS.get,  # a cache hit, else None (only positive keys are stored)
    }
    lines = ["def write(model):", "    d = model.__dict__"]
    parts = []
    for i, (attribute, label, comma) in enumerate(_members(cls)):
        kind = _declared(cls.model_fields[attribute].annotation)
        text = _expr(kind, "v", names, busy)
        if "'" in text or "\\" in text or "'" in label or "\\" in label:  # never so far
            tail = " + ','" if comma else ""
            member = f"{label!r} + {text}{tail}"
        else:  # one f-string: the label, the value's text and the comma built at once
            escaped = label.replace("{", "{{").replace("}", "}}")
            member = f"f'{escaped}{{{text}}}{',' if comma else ''}'"
        lines += [f"    v = d[{attribute!r}]", f"    s{i} = '' if v is None else {member}"]
        parts.append(f"{{s{i}}}")
    lines.append(f"    return f'{{{{{''.join(parts)}}}}}'")
    exec(compile("\n".join(lines), f"<to_java_string {cls.__name__}>", "exec"), names)
    write: _Writer = names["write"]  # type: ignore[assignment]
    _WRITERS[cls] = write
    return write
