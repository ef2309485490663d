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
from typing import Any

from pydantic import BaseModel

from nlp.schema import (
    Assertion,
    Attribute,
    Concept,
    DetectEntitiesV2Response,
    Entity,
    ICD10CMAttribute,
    ICD10CMEntity,
    InferICD10CMResponse,
    InferRxNormResponse,
    NlpResult,
    RxNormAttribute,
    RxNormEntity,
    Trait,
    UnmappedAttribute,
)


def f32(x: float) -> float:
    """Round a double to the nearest float32 value (as a Python float).

    >>> f32(0.9815993905067444)
    0.9815993905067444
    """
    try:
        value: float = struct.unpack("<f", struct.pack("<f", x))[0]
    except OverflowError:  # beyond float32's range once rounded: Java's cast is infinite
        return math.copysign(math.inf, x)
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
    write = _WRITERS.get(type(model))
    return _walk(model) if write is None else write(model)


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


def _walk(model: BaseModel) -> str:
    """The text of a model without a generated writer (a subclass): member by member."""
    d = model.__dict__
    parts = ["{"]
    for name, label, comma in _members(type(model)):
        value = d[name]
        if value is not None:
            parts += [label, _value(value), "," if comma else ""]
    parts.append("}")
    return "".join(parts)


def aws_json(result: BaseModel) -> dict[str, Any]:
    """``result.to_aws()`` (pydantic's ``model_dump(by_alias=True, exclude_none=True)``) of an
    ``NlpResult``, built by the generated dumpers below; any value they do not expect (a
    subclass, an undeclared key, a value of another type than declared) leaves the whole
    result to pydantic."""
    dump = _DUMPERS.get(type(result))
    if dump is not None:
        try:
            return dump(result)
        except _UnexpectedError:
            pass
    return result.model_dump(by_alias=True, exclude_none=True)


class _UnexpectedError(Exception):
    """A value the generated dumpers do not dump as pydantic would."""


# --- generated writers and dumpers ----------------------------------------------------------
#
# One function per response model of ``nlp.schema`` with its members unrolled, each member's
# text computed inline for the type its annotation declares and by ``_value`` for any other
# runtime type (the same text as ``_walk``); one dumper per model of ``NlpResult``. Written by
# ``enrich/javagen.py`` as plain code so that mypyc compiles them.

# --- generated by enrich/javagen.py (python -m enrich.javagen): do not edit ---


def _write_trait(model: BaseModel) -> str:
    d = model.__dict__
    v = d["name"]
    if v is None:
        s0 = ""
    elif type(v) is str:
        s0 = f"Name: {v},"
    else:
        s0 = f"Name: {_value(v)},"
    v = d["score"]
    if v is None:
        s1 = ""
    elif type(v) is float:
        s1 = f"Score: {java_float(v)}"
    else:
        s1 = f"Score: {_value(v)}"
    return f"{{{s0}{s1}}}"


def _write_attribute(model: BaseModel) -> str:
    d = model.__dict__
    v = d["type"]
    if v is None:
        s0 = ""
    elif type(v) is str:
        s0 = f"Type: {v},"
    else:
        s0 = f"Type: {_value(v)},"
    v = d["score"]
    if v is None:
        s1 = ""
    elif type(v) is float:
        s1 = f"Score: {java_float(v)},"
    else:
        s1 = f"Score: {_value(v)},"
    v = d["relationship_score"]
    if v is None:
        s2 = ""
    elif type(v) is float:
        s2 = f"RelationshipScore: {java_float(v)},"
    else:
        s2 = f"RelationshipScore: {_value(v)},"
    v = d["relationship_type"]
    if v is None:
        s3 = ""
    elif type(v) is str:
        s3 = f"RelationshipType: {v},"
    else:
        s3 = f"RelationshipType: {_value(v)},"
    v = d["id"]
    if v is None:
        s4 = ""
    elif type(v) is int:
        s4 = f"Id: {v},"
    else:
        s4 = f"Id: {_value(v)},"
    v = d["begin_offset"]
    if v is None:
        s5 = ""
    elif type(v) is int:
        s5 = f"BeginOffset: {v},"
    else:
        s5 = f"BeginOffset: {_value(v)},"
    v = d["end_offset"]
    if v is None:
        s6 = ""
    elif type(v) is int:
        s6 = f"EndOffset: {v},"
    else:
        s6 = f"EndOffset: {_value(v)},"
    v = d["text"]
    if v is None:
        s7 = ""
    elif type(v) is str:
        s7 = f"Text: {v},"
    else:
        s7 = f"Text: {_value(v)},"
    v = d["category"]
    if v is None:
        s8 = ""
    elif type(v) is str:
        s8 = f"Category: {v},"
    else:
        s8 = f"Category: {_value(v)},"
    v = d["traits"]
    if v is None:
        s9 = ""
    elif type(v) is list:
        items = ", ".join([(_write_trait(x) if type(x) is Trait else _value(x)) for x in v])
        s9 = f"Traits: [{items}]"
    else:
        s9 = f"Traits: {_value(v)}"
    return f"{{{s0}{s1}{s2}{s3}{s4}{s5}{s6}{s7}{s8}{s9}}}"


def _write_entity(model: BaseModel) -> str:
    d = model.__dict__
    v = d["id"]
    if v is None:
        s0 = ""
    elif type(v) is int:
        s0 = f"Id: {v},"
    else:
        s0 = f"Id: {_value(v)},"
    v = d["begin_offset"]
    if v is None:
        s1 = ""
    elif type(v) is int:
        s1 = f"BeginOffset: {v},"
    else:
        s1 = f"BeginOffset: {_value(v)},"
    v = d["end_offset"]
    if v is None:
        s2 = ""
    elif type(v) is int:
        s2 = f"EndOffset: {v},"
    else:
        s2 = f"EndOffset: {_value(v)},"
    v = d["score"]
    if v is None:
        s3 = ""
    elif type(v) is float:
        s3 = f"Score: {java_float(v)},"
    else:
        s3 = f"Score: {_value(v)},"
    v = d["text"]
    if v is None:
        s4 = ""
    elif type(v) is str:
        s4 = f"Text: {v},"
    else:
        s4 = f"Text: {_value(v)},"
    v = d["category"]
    if v is None:
        s5 = ""
    elif type(v) is str:
        s5 = f"Category: {v},"
    else:
        s5 = f"Category: {_value(v)},"
    v = d["type"]
    if v is None:
        s6 = ""
    elif type(v) is str:
        s6 = f"Type: {v},"
    else:
        s6 = f"Type: {_value(v)},"
    v = d["traits"]
    if v is None:
        s7 = ""
    elif type(v) is list:
        items = ", ".join([(_write_trait(x) if type(x) is Trait else _value(x)) for x in v])
        s7 = f"Traits: [{items}],"
    else:
        s7 = f"Traits: {_value(v)},"
    v = d["attributes"]
    if v is None:
        s8 = ""
    elif type(v) is list:
        items = ", ".join([(_write_attribute(x) if type(x) is Attribute else _value(x)) for x in v])
        s8 = f"Attributes: [{items}]"
    else:
        s8 = f"Attributes: {_value(v)}"
    return f"{{{s0}{s1}{s2}{s3}{s4}{s5}{s6}{s7}{s8}}}"


def _write_unmappedattribute(model: BaseModel) -> str:
    d = model.__dict__
    v = d["type"]
    if v is None:
        s0 = ""
    elif type(v) is str:
        s0 = f"Type: {v},"
    else:
        s0 = f"Type: {_value(v)},"
    v = d["attribute"]
    if v is None:
        s1 = ""
    elif type(v) is Attribute:
        s1 = f"Attribute: {_write_attribute(v)}"
    else:
        s1 = f"Attribute: {_value(v)}"
    return f"{{{s0}{s1}}}"


def _write_detectentitiesv2response(model: BaseModel) -> str:
    d = model.__dict__
    v = d["entities"]
    if v is None:
        s0 = ""
    elif type(v) is list:
        items = ", ".join([(_write_entity(x) if type(x) is Entity else _value(x)) for x in v])
        s0 = f"Entities: [{items}],"
    else:
        s0 = f"Entities: {_value(v)},"
    v = d["unmapped_attributes"]
    if v is None:
        s1 = ""
    elif type(v) is list:
        items = ", ".join(
            [
                (_write_unmappedattribute(x) if type(x) is UnmappedAttribute else _value(x))
                for x in v
            ]
        )
        s1 = f"UnmappedAttributes: [{items}],"
    else:
        s1 = f"UnmappedAttributes: {_value(v)},"
    v = d["pagination_token"]
    if v is None:
        s2 = ""
    elif type(v) is str:
        s2 = f"PaginationToken: {v},"
    else:
        s2 = f"PaginationToken: {_value(v)},"
    v = d["model_version"]
    if v is None:
        s3 = ""
    elif type(v) is str:
        s3 = f"ModelVersion: {v}"
    else:
        s3 = f"ModelVersion: {_value(v)}"
    return f"{{{s0}{s1}{s2}{s3}}}"


def _write_icd10cmattribute(model: BaseModel) -> str:
    d = model.__dict__
    v = d["type"]
    if v is None:
        s0 = ""
    elif type(v) is str:
        s0 = f"Type: {v},"
    else:
        s0 = f"Type: {_value(v)},"
    v = d["score"]
    if v is None:
        s1 = ""
    elif type(v) is float:
        s1 = f"Score: {java_float(v)},"
    else:
        s1 = f"Score: {_value(v)},"
    v = d["relationship_score"]
    if v is None:
        s2 = ""
    elif type(v) is float:
        s2 = f"RelationshipScore: {java_float(v)},"
    else:
        s2 = f"RelationshipScore: {_value(v)},"
    v = d["id"]
    if v is None:
        s3 = ""
    elif type(v) is int:
        s3 = f"Id: {v},"
    else:
        s3 = f"Id: {_value(v)},"
    v = d["begin_offset"]
    if v is None:
        s4 = ""
    elif type(v) is int:
        s4 = f"BeginOffset: {v},"
    else:
        s4 = f"BeginOffset: {_value(v)},"
    v = d["end_offset"]
    if v is None:
        s5 = ""
    elif type(v) is int:
        s5 = f"EndOffset: {v},"
    else:
        s5 = f"EndOffset: {_value(v)},"
    v = d["text"]
    if v is None:
        s6 = ""
    elif type(v) is str:
        s6 = f"Text: {v},"
    else:
        s6 = f"Text: {_value(v)},"
    v = d["traits"]
    if v is None:
        s7 = ""
    elif type(v) is list:
        items = ", ".join([(_write_trait(x) if type(x) is Trait else _value(x)) for x in v])
        s7 = f"Traits: [{items}],"
    else:
        s7 = f"Traits: {_value(v)},"
    v = d["category"]
    if v is None:
        s8 = ""
    elif type(v) is str:
        s8 = f"Category: {v},"
    else:
        s8 = f"Category: {_value(v)},"
    v = d["relationship_type"]
    if v is None:
        s9 = ""
    elif type(v) is str:
        s9 = f"RelationshipType: {v}"
    else:
        s9 = f"RelationshipType: {_value(v)}"
    return f"{{{s0}{s1}{s2}{s3}{s4}{s5}{s6}{s7}{s8}{s9}}}"


def _write_concept(model: BaseModel) -> str:
    d = model.__dict__
    v = d["description"]
    if v is None:
        s0 = ""
    elif type(v) is str:
        s0 = f"Description: {v},"
    else:
        s0 = f"Description: {_value(v)},"
    v = d["code"]
    if v is None:
        s1 = ""
    elif type(v) is str:
        s1 = f"Code: {v},"
    else:
        s1 = f"Code: {_value(v)},"
    v = d["score"]
    if v is None:
        s2 = ""
    elif type(v) is float:
        s2 = f"Score: {java_float(v)}"
    else:
        s2 = f"Score: {_value(v)}"
    return f"{{{s0}{s1}{s2}}}"


def _write_icd10cmentity(model: BaseModel) -> str:
    d = model.__dict__
    v = d["id"]
    if v is None:
        s0 = ""
    elif type(v) is int:
        s0 = f"Id: {v},"
    else:
        s0 = f"Id: {_value(v)},"
    v = d["text"]
    if v is None:
        s1 = ""
    elif type(v) is str:
        s1 = f"Text: {v},"
    else:
        s1 = f"Text: {_value(v)},"
    v = d["category"]
    if v is None:
        s2 = ""
    elif type(v) is str:
        s2 = f"Category: {v},"
    else:
        s2 = f"Category: {_value(v)},"
    v = d["type"]
    if v is None:
        s3 = ""
    elif type(v) is str:
        s3 = f"Type: {v},"
    else:
        s3 = f"Type: {_value(v)},"
    v = d["score"]
    if v is None:
        s4 = ""
    elif type(v) is float:
        s4 = f"Score: {java_float(v)},"
    else:
        s4 = f"Score: {_value(v)},"
    v = d["begin_offset"]
    if v is None:
        s5 = ""
    elif type(v) is int:
        s5 = f"BeginOffset: {v},"
    else:
        s5 = f"BeginOffset: {_value(v)},"
    v = d["end_offset"]
    if v is None:
        s6 = ""
    elif type(v) is int:
        s6 = f"EndOffset: {v},"
    else:
        s6 = f"EndOffset: {_value(v)},"
    v = d["attributes"]
    if v is None:
        s7 = ""
    elif type(v) is list:
        items = ", ".join(
            [(_write_icd10cmattribute(x) if type(x) is ICD10CMAttribute else _value(x)) for x in v]
        )
        s7 = f"Attributes: [{items}],"
    else:
        s7 = f"Attributes: {_value(v)},"
    v = d["traits"]
    if v is None:
        s8 = ""
    elif type(v) is list:
        items = ", ".join([(_write_trait(x) if type(x) is Trait else _value(x)) for x in v])
        s8 = f"Traits: [{items}],"
    else:
        s8 = f"Traits: {_value(v)},"
    v = d["concepts"]
    if v is None:
        s9 = ""
    elif type(v) is list:
        items = ", ".join([(_write_concept(x) if type(x) is Concept else _value(x)) for x in v])
        s9 = f"ICD10CMConcepts: [{items}]"
    else:
        s9 = f"ICD10CMConcepts: {_value(v)}"
    return f"{{{s0}{s1}{s2}{s3}{s4}{s5}{s6}{s7}{s8}{s9}}}"


def _write_infericd10cmresponse(model: BaseModel) -> str:
    d = model.__dict__
    v = d["entities"]
    if v is None:
        s0 = ""
    elif type(v) is list:
        items = ", ".join(
            [(_write_icd10cmentity(x) if type(x) is ICD10CMEntity else _value(x)) for x in v]
        )
        s0 = f"Entities: [{items}],"
    else:
        s0 = f"Entities: {_value(v)},"
    v = d["pagination_token"]
    if v is None:
        s1 = ""
    elif type(v) is str:
        s1 = f"PaginationToken: {v},"
    else:
        s1 = f"PaginationToken: {_value(v)},"
    v = d["model_version"]
    if v is None:
        s2 = ""
    elif type(v) is str:
        s2 = f"ModelVersion: {v}"
    else:
        s2 = f"ModelVersion: {_value(v)}"
    return f"{{{s0}{s1}{s2}}}"


def _write_rxnormattribute(model: BaseModel) -> str:
    d = model.__dict__
    v = d["type"]
    if v is None:
        s0 = ""
    elif type(v) is str:
        s0 = f"Type: {v},"
    else:
        s0 = f"Type: {_value(v)},"
    v = d["score"]
    if v is None:
        s1 = ""
    elif type(v) is float:
        s1 = f"Score: {java_float(v)},"
    else:
        s1 = f"Score: {_value(v)},"
    v = d["relationship_score"]
    if v is None:
        s2 = ""
    elif type(v) is float:
        s2 = f"RelationshipScore: {java_float(v)},"
    else:
        s2 = f"RelationshipScore: {_value(v)},"
    v = d["id"]
    if v is None:
        s3 = ""
    elif type(v) is int:
        s3 = f"Id: {v},"
    else:
        s3 = f"Id: {_value(v)},"
    v = d["begin_offset"]
    if v is None:
        s4 = ""
    elif type(v) is int:
        s4 = f"BeginOffset: {v},"
    else:
        s4 = f"BeginOffset: {_value(v)},"
    v = d["end_offset"]
    if v is None:
        s5 = ""
    elif type(v) is int:
        s5 = f"EndOffset: {v},"
    else:
        s5 = f"EndOffset: {_value(v)},"
    v = d["text"]
    if v is None:
        s6 = ""
    elif type(v) is str:
        s6 = f"Text: {v},"
    else:
        s6 = f"Text: {_value(v)},"
    v = d["traits"]
    if v is None:
        s7 = ""
    elif type(v) is list:
        items = ", ".join([(_write_trait(x) if type(x) is Trait else _value(x)) for x in v])
        s7 = f"Traits: [{items}]"
    else:
        s7 = f"Traits: {_value(v)}"
    return f"{{{s0}{s1}{s2}{s3}{s4}{s5}{s6}{s7}}}"


def _write_rxnormentity(model: BaseModel) -> str:
    d = model.__dict__
    v = d["id"]
    if v is None:
        s0 = ""
    elif type(v) is int:
        s0 = f"Id: {v},"
    else:
        s0 = f"Id: {_value(v)},"
    v = d["text"]
    if v is None:
        s1 = ""
    elif type(v) is str:
        s1 = f"Text: {v},"
    else:
        s1 = f"Text: {_value(v)},"
    v = d["category"]
    if v is None:
        s2 = ""
    elif type(v) is str:
        s2 = f"Category: {v},"
    else:
        s2 = f"Category: {_value(v)},"
    v = d["type"]
    if v is None:
        s3 = ""
    elif type(v) is str:
        s3 = f"Type: {v},"
    else:
        s3 = f"Type: {_value(v)},"
    v = d["score"]
    if v is None:
        s4 = ""
    elif type(v) is float:
        s4 = f"Score: {java_float(v)},"
    else:
        s4 = f"Score: {_value(v)},"
    v = d["begin_offset"]
    if v is None:
        s5 = ""
    elif type(v) is int:
        s5 = f"BeginOffset: {v},"
    else:
        s5 = f"BeginOffset: {_value(v)},"
    v = d["end_offset"]
    if v is None:
        s6 = ""
    elif type(v) is int:
        s6 = f"EndOffset: {v},"
    else:
        s6 = f"EndOffset: {_value(v)},"
    v = d["attributes"]
    if v is None:
        s7 = ""
    elif type(v) is list:
        items = ", ".join(
            [(_write_rxnormattribute(x) if type(x) is RxNormAttribute else _value(x)) for x in v]
        )
        s7 = f"Attributes: [{items}],"
    else:
        s7 = f"Attributes: {_value(v)},"
    v = d["traits"]
    if v is None:
        s8 = ""
    elif type(v) is list:
        items = ", ".join([(_write_trait(x) if type(x) is Trait else _value(x)) for x in v])
        s8 = f"Traits: [{items}],"
    else:
        s8 = f"Traits: {_value(v)},"
    v = d["concepts"]
    if v is None:
        s9 = ""
    elif type(v) is list:
        items = ", ".join([(_write_concept(x) if type(x) is Concept else _value(x)) for x in v])
        s9 = f"RxNormConcepts: [{items}]"
    else:
        s9 = f"RxNormConcepts: {_value(v)}"
    return f"{{{s0}{s1}{s2}{s3}{s4}{s5}{s6}{s7}{s8}{s9}}}"


def _write_inferrxnormresponse(model: BaseModel) -> str:
    d = model.__dict__
    v = d["entities"]
    if v is None:
        s0 = ""
    elif type(v) is list:
        items = ", ".join(
            [(_write_rxnormentity(x) if type(x) is RxNormEntity else _value(x)) for x in v]
        )
        s0 = f"Entities: [{items}],"
    else:
        s0 = f"Entities: {_value(v)},"
    v = d["pagination_token"]
    if v is None:
        s1 = ""
    elif type(v) is str:
        s1 = f"PaginationToken: {v},"
    else:
        s1 = f"PaginationToken: {_value(v)},"
    v = d["model_version"]
    if v is None:
        s2 = ""
    elif type(v) is str:
        s2 = f"ModelVersion: {v}"
    else:
        s2 = f"ModelVersion: {_value(v)}"
    return f"{{{s0}{s1}{s2}}}"


_WRITERS: dict[type[BaseModel], Callable[[BaseModel], str]] = {
    Trait: _write_trait,
    Attribute: _write_attribute,
    Entity: _write_entity,
    UnmappedAttribute: _write_unmappedattribute,
    DetectEntitiesV2Response: _write_detectentitiesv2response,
    ICD10CMAttribute: _write_icd10cmattribute,
    Concept: _write_concept,
    ICD10CMEntity: _write_icd10cmentity,
    InferICD10CMResponse: _write_infericd10cmresponse,
    RxNormAttribute: _write_rxnormattribute,
    RxNormEntity: _write_rxnormentity,
    InferRxNormResponse: _write_inferrxnormresponse,
}


def _dump_trait(model: BaseModel) -> dict[str, Any]:
    if type(model) is not Trait or model.__pydantic_extra__:
        raise _UnexpectedError
    d = model.__dict__
    out: dict[str, Any] = {}
    v = d["name"]
    if v is not None:
        if type(v) is not str:
            raise _UnexpectedError
        out["Name"] = v
    v = d["score"]
    if v is not None:
        if type(v) is not float:
            raise _UnexpectedError
        out["Score"] = v
    return out


def _dump_attribute(model: BaseModel) -> dict[str, Any]:
    if type(model) is not Attribute or model.__pydantic_extra__:
        raise _UnexpectedError
    d = model.__dict__
    out: dict[str, Any] = {}
    v = d["type"]
    if v is not None:
        if type(v) is not str:
            raise _UnexpectedError
        out["Type"] = v
    v = d["score"]
    if v is not None:
        if type(v) is not float:
            raise _UnexpectedError
        out["Score"] = v
    v = d["relationship_score"]
    if v is not None:
        if type(v) is not float:
            raise _UnexpectedError
        out["RelationshipScore"] = v
    v = d["relationship_type"]
    if v is not None:
        if type(v) is not str:
            raise _UnexpectedError
        out["RelationshipType"] = v
    v = d["id"]
    if v is not None:
        if type(v) is not int:
            raise _UnexpectedError
        out["Id"] = v
    v = d["begin_offset"]
    if v is not None:
        if type(v) is not int:
            raise _UnexpectedError
        out["BeginOffset"] = v
    v = d["end_offset"]
    if v is not None:
        if type(v) is not int:
            raise _UnexpectedError
        out["EndOffset"] = v
    v = d["text"]
    if v is not None:
        if type(v) is not str:
            raise _UnexpectedError
        out["Text"] = v
    v = d["category"]
    if v is not None:
        if type(v) is not str:
            raise _UnexpectedError
        out["Category"] = v
    v = d["traits"]
    if v is not None:
        if type(v) is not list:
            raise _UnexpectedError
        out["Traits"] = [_dump_trait(x) for x in v]
    return out


def _dump_entity(model: BaseModel) -> dict[str, Any]:
    if type(model) is not Entity or model.__pydantic_extra__:
        raise _UnexpectedError
    d = model.__dict__
    out: dict[str, Any] = {}
    v = d["id"]
    if v is not None:
        if type(v) is not int:
            raise _UnexpectedError
        out["Id"] = v
    v = d["begin_offset"]
    if v is not None:
        if type(v) is not int:
            raise _UnexpectedError
        out["BeginOffset"] = v
    v = d["end_offset"]
    if v is not None:
        if type(v) is not int:
            raise _UnexpectedError
        out["EndOffset"] = v
    v = d["score"]
    if v is not None:
        if type(v) is not float:
            raise _UnexpectedError
        out["Score"] = v
    v = d["text"]
    if v is not None:
        if type(v) is not str:
            raise _UnexpectedError
        out["Text"] = v
    v = d["category"]
    if v is not None:
        if type(v) is not str:
            raise _UnexpectedError
        out["Category"] = v
    v = d["type"]
    if v is not None:
        if type(v) is not str:
            raise _UnexpectedError
        out["Type"] = v
    v = d["traits"]
    if v is not None:
        if type(v) is not list:
            raise _UnexpectedError
        out["Traits"] = [_dump_trait(x) for x in v]
    v = d["attributes"]
    if v is not None:
        if type(v) is not list:
            raise _UnexpectedError
        out["Attributes"] = [_dump_attribute(x) for x in v]
    return out


def _dump_unmappedattribute(model: BaseModel) -> dict[str, Any]:
    if type(model) is not UnmappedAttribute or model.__pydantic_extra__:
        raise _UnexpectedError
    d = model.__dict__
    out: dict[str, Any] = {}
    v = d["type"]
    if v is not None:
        if type(v) is not str:
            raise _UnexpectedError
        out["Type"] = v
    v = d["attribute"]
    if v is not None:
        out["Attribute"] = _dump_attribute(v)
    return out


def _dump_detectentitiesv2response(model: BaseModel) -> dict[str, Any]:
    if type(model) is not DetectEntitiesV2Response or model.__pydantic_extra__:
        raise _UnexpectedError
    d = model.__dict__
    out: dict[str, Any] = {}
    v = d["entities"]
    if v is not None:
        if type(v) is not list:
            raise _UnexpectedError
        out["Entities"] = [_dump_entity(x) for x in v]
    v = d["unmapped_attributes"]
    if v is not None:
        if type(v) is not list:
            raise _UnexpectedError
        out["UnmappedAttributes"] = [_dump_unmappedattribute(x) for x in v]
    v = d["pagination_token"]
    if v is not None:
        if type(v) is not str:
            raise _UnexpectedError
        out["PaginationToken"] = v
    v = d["model_version"]
    if v is not None:
        if type(v) is not str:
            raise _UnexpectedError
        out["ModelVersion"] = v
    return out


def _dump_icd10cmattribute(model: BaseModel) -> dict[str, Any]:
    if type(model) is not ICD10CMAttribute or model.__pydantic_extra__:
        raise _UnexpectedError
    d = model.__dict__
    out: dict[str, Any] = {}
    v = d["type"]
    if v is not None:
        if type(v) is not str:
            raise _UnexpectedError
        out["Type"] = v
    v = d["score"]
    if v is not None:
        if type(v) is not float:
            raise _UnexpectedError
        out["Score"] = v
    v = d["relationship_score"]
    if v is not None:
        if type(v) is not float:
            raise _UnexpectedError
        out["RelationshipScore"] = v
    v = d["id"]
    if v is not None:
        if type(v) is not int:
            raise _UnexpectedError
        out["Id"] = v
    v = d["begin_offset"]
    if v is not None:
        if type(v) is not int:
            raise _UnexpectedError
        out["BeginOffset"] = v
    v = d["end_offset"]
    if v is not None:
        if type(v) is not int:
            raise _UnexpectedError
        out["EndOffset"] = v
    v = d["text"]
    if v is not None:
        if type(v) is not str:
            raise _UnexpectedError
        out["Text"] = v
    v = d["traits"]
    if v is not None:
        if type(v) is not list:
            raise _UnexpectedError
        out["Traits"] = [_dump_trait(x) for x in v]
    v = d["category"]
    if v is not None:
        if type(v) is not str:
            raise _UnexpectedError
        out["Category"] = v
    v = d["relationship_type"]
    if v is not None:
        if type(v) is not str:
            raise _UnexpectedError
        out["RelationshipType"] = v
    return out


def _dump_concept(model: BaseModel) -> dict[str, Any]:
    if type(model) is not Concept or model.__pydantic_extra__:
        raise _UnexpectedError
    d = model.__dict__
    out: dict[str, Any] = {}
    v = d["description"]
    if v is not None:
        if type(v) is not str:
            raise _UnexpectedError
        out["Description"] = v
    v = d["code"]
    if v is not None:
        if type(v) is not str:
            raise _UnexpectedError
        out["Code"] = v
    v = d["score"]
    if v is not None:
        if type(v) is not float:
            raise _UnexpectedError
        out["Score"] = v
    return out


def _dump_icd10cmentity(model: BaseModel) -> dict[str, Any]:
    if type(model) is not ICD10CMEntity or model.__pydantic_extra__:
        raise _UnexpectedError
    d = model.__dict__
    out: dict[str, Any] = {}
    v = d["id"]
    if v is not None:
        if type(v) is not int:
            raise _UnexpectedError
        out["Id"] = v
    v = d["text"]
    if v is not None:
        if type(v) is not str:
            raise _UnexpectedError
        out["Text"] = v
    v = d["category"]
    if v is not None:
        if type(v) is not str:
            raise _UnexpectedError
        out["Category"] = v
    v = d["type"]
    if v is not None:
        if type(v) is not str:
            raise _UnexpectedError
        out["Type"] = v
    v = d["score"]
    if v is not None:
        if type(v) is not float:
            raise _UnexpectedError
        out["Score"] = v
    v = d["begin_offset"]
    if v is not None:
        if type(v) is not int:
            raise _UnexpectedError
        out["BeginOffset"] = v
    v = d["end_offset"]
    if v is not None:
        if type(v) is not int:
            raise _UnexpectedError
        out["EndOffset"] = v
    v = d["attributes"]
    if v is not None:
        if type(v) is not list:
            raise _UnexpectedError
        out["Attributes"] = [_dump_icd10cmattribute(x) for x in v]
    v = d["traits"]
    if v is not None:
        if type(v) is not list:
            raise _UnexpectedError
        out["Traits"] = [_dump_trait(x) for x in v]
    v = d["concepts"]
    if v is not None:
        if type(v) is not list:
            raise _UnexpectedError
        out["ICD10CMConcepts"] = [_dump_concept(x) for x in v]
    return out


def _dump_infericd10cmresponse(model: BaseModel) -> dict[str, Any]:
    if type(model) is not InferICD10CMResponse or model.__pydantic_extra__:
        raise _UnexpectedError
    d = model.__dict__
    out: dict[str, Any] = {}
    v = d["entities"]
    if v is not None:
        if type(v) is not list:
            raise _UnexpectedError
        out["Entities"] = [_dump_icd10cmentity(x) for x in v]
    v = d["pagination_token"]
    if v is not None:
        if type(v) is not str:
            raise _UnexpectedError
        out["PaginationToken"] = v
    v = d["model_version"]
    if v is not None:
        if type(v) is not str:
            raise _UnexpectedError
        out["ModelVersion"] = v
    return out


def _dump_rxnormattribute(model: BaseModel) -> dict[str, Any]:
    if type(model) is not RxNormAttribute or model.__pydantic_extra__:
        raise _UnexpectedError
    d = model.__dict__
    out: dict[str, Any] = {}
    v = d["type"]
    if v is not None:
        if type(v) is not str:
            raise _UnexpectedError
        out["Type"] = v
    v = d["score"]
    if v is not None:
        if type(v) is not float:
            raise _UnexpectedError
        out["Score"] = v
    v = d["relationship_score"]
    if v is not None:
        if type(v) is not float:
            raise _UnexpectedError
        out["RelationshipScore"] = v
    v = d["id"]
    if v is not None:
        if type(v) is not int:
            raise _UnexpectedError
        out["Id"] = v
    v = d["begin_offset"]
    if v is not None:
        if type(v) is not int:
            raise _UnexpectedError
        out["BeginOffset"] = v
    v = d["end_offset"]
    if v is not None:
        if type(v) is not int:
            raise _UnexpectedError
        out["EndOffset"] = v
    v = d["text"]
    if v is not None:
        if type(v) is not str:
            raise _UnexpectedError
        out["Text"] = v
    v = d["traits"]
    if v is not None:
        if type(v) is not list:
            raise _UnexpectedError
        out["Traits"] = [_dump_trait(x) for x in v]
    return out


def _dump_rxnormentity(model: BaseModel) -> dict[str, Any]:
    if type(model) is not RxNormEntity or model.__pydantic_extra__:
        raise _UnexpectedError
    d = model.__dict__
    out: dict[str, Any] = {}
    v = d["id"]
    if v is not None:
        if type(v) is not int:
            raise _UnexpectedError
        out["Id"] = v
    v = d["text"]
    if v is not None:
        if type(v) is not str:
            raise _UnexpectedError
        out["Text"] = v
    v = d["category"]
    if v is not None:
        if type(v) is not str:
            raise _UnexpectedError
        out["Category"] = v
    v = d["type"]
    if v is not None:
        if type(v) is not str:
            raise _UnexpectedError
        out["Type"] = v
    v = d["score"]
    if v is not None:
        if type(v) is not float:
            raise _UnexpectedError
        out["Score"] = v
    v = d["begin_offset"]
    if v is not None:
        if type(v) is not int:
            raise _UnexpectedError
        out["BeginOffset"] = v
    v = d["end_offset"]
    if v is not None:
        if type(v) is not int:
            raise _UnexpectedError
        out["EndOffset"] = v
    v = d["attributes"]
    if v is not None:
        if type(v) is not list:
            raise _UnexpectedError
        out["Attributes"] = [_dump_rxnormattribute(x) for x in v]
    v = d["traits"]
    if v is not None:
        if type(v) is not list:
            raise _UnexpectedError
        out["Traits"] = [_dump_trait(x) for x in v]
    v = d["concepts"]
    if v is not None:
        if type(v) is not list:
            raise _UnexpectedError
        out["RxNormConcepts"] = [_dump_concept(x) for x in v]
    return out


def _dump_inferrxnormresponse(model: BaseModel) -> dict[str, Any]:
    if type(model) is not InferRxNormResponse or model.__pydantic_extra__:
        raise _UnexpectedError
    d = model.__dict__
    out: dict[str, Any] = {}
    v = d["entities"]
    if v is not None:
        if type(v) is not list:
            raise _UnexpectedError
        out["Entities"] = [_dump_rxnormentity(x) for x in v]
    v = d["pagination_token"]
    if v is not None:
        if type(v) is not str:
            raise _UnexpectedError
        out["PaginationToken"] = v
    v = d["model_version"]
    if v is not None:
        if type(v) is not str:
            raise _UnexpectedError
        out["ModelVersion"] = v
    return out


def _dump_assertion(model: BaseModel) -> dict[str, Any]:
    if type(model) is not Assertion or model.__pydantic_extra__:
        raise _UnexpectedError
    d = model.__dict__
    out: dict[str, Any] = {}
    v = d["begin_offset"]
    if v is not None:
        if type(v) is not int:
            raise _UnexpectedError
        out["BeginOffset"] = v
    v = d["end_offset"]
    if v is not None:
        if type(v) is not int:
            raise _UnexpectedError
        out["EndOffset"] = v
    v = d["category"]
    if v is not None:
        if type(v) is not str:
            raise _UnexpectedError
        out["Category"] = v
    v = d["type"]
    if v is not None:
        if type(v) is not str:
            raise _UnexpectedError
        out["Type"] = v
    v = d["status"]
    if v is not None:
        if type(v) is not str:
            raise _UnexpectedError
        out["Status"] = v
    v = d["role"]
    if v is not None:
        if type(v) is not str:
            raise _UnexpectedError
        out["Role"] = v
    v = d["related_begin_offset"]
    if v is not None:
        if type(v) is not int:
            raise _UnexpectedError
        out["RelatedBeginOffset"] = v
    v = d["related_end_offset"]
    if v is not None:
        if type(v) is not int:
            raise _UnexpectedError
        out["RelatedEndOffset"] = v
    v = d["substance_category"]
    if v is not None:
        if type(v) is not str:
            raise _UnexpectedError
        out["SubstanceCategory"] = v
    return out


def _dump_nlpresult(model: BaseModel) -> dict[str, Any]:
    if type(model) is not NlpResult or model.__pydantic_extra__:
        raise _UnexpectedError
    d = model.__dict__
    out: dict[str, Any] = {}
    v = d["detect_entities"]
    if v is not None:
        out["DetectEntitiesV2"] = _dump_detectentitiesv2response(v)
    v = d["icd10cm"]
    if v is not None:
        out["InferICD10CM"] = _dump_infericd10cmresponse(v)
    v = d["rxnorm"]
    if v is not None:
        out["InferRxNorm"] = _dump_inferrxnormresponse(v)
    v = d["assertions"]
    if v is not None:
        if type(v) is not list:
            raise _UnexpectedError
        out["Assertions"] = [_dump_assertion(x) for x in v]
    return out


_DUMPERS: dict[type[BaseModel], Callable[[BaseModel], dict[str, Any]]] = {
    Trait: _dump_trait,
    Attribute: _dump_attribute,
    Entity: _dump_entity,
    UnmappedAttribute: _dump_unmappedattribute,
    DetectEntitiesV2Response: _dump_detectentitiesv2response,
    ICD10CMAttribute: _dump_icd10cmattribute,
    Concept: _dump_concept,
    ICD10CMEntity: _dump_icd10cmentity,
    InferICD10CMResponse: _dump_infericd10cmresponse,
    RxNormAttribute: _dump_rxnormattribute,
    RxNormEntity: _dump_rxnormentity,
    InferRxNormResponse: _dump_inferrxnormresponse,
    Assertion: _dump_assertion,
    NlpResult: _dump_nlpresult,
}
# --- end of the generated writers ---
