"""Request bodies as JSON, safely: every hostile body is a coded ``[NLP400]``, never a 500.

``json.loads`` alone lets three things escape: integers longer than 4,300 digits
(``ValueError``), nesting deeper than the interpreter's recursion limit (``RecursionError``,
which also turned legal 900-deep documents into "not valid JSON" when parsed on a deep stack),
and ``NaN``/``Infinity``/``1e999`` (not JSON; they would be written back as invalid JSON).
:func:`parse_json` refuses each with its own message, and accepts nesting up to ``max_depth``
(``Settings.max_json_depth``) wherever it runs: :func:`ensure_recursion_limit` (called by the
app at start-up) keeps the interpreter's limit above it, and the route dependencies parse in a
worker thread, whose stack starts nearly empty.
"""

from __future__ import annotations

import json
import math
import sys
from typing import Any

from nlp.codes import CodedError

#: Longest JSON number accepted (Python refuses integers beyond 4,300 digits anyway; FHIR
#: ``integer``/``integer64``/``decimal`` values never come near 100).
MAX_NUMBER_CHARS = 100
#: Stack frames kept free below the nesting limit (the parser's caller, validators, logging).
STACK_MARGIN = 400


class JsonBodyError(CodedError):
    """A body that is not acceptable JSON (``[NLP400]``): the message says which rule it broke."""

    code = "NLP400"


def ensure_recursion_limit(max_depth: int) -> None:
    """Raise the interpreter's recursion limit to ``max_depth + STACK_MARGIN`` if it is lower
    (``json`` counts each nesting level against it; never lowered)."""
    wanted = max_depth + STACK_MARGIN
    if sys.getrecursionlimit() < wanted:
        sys.setrecursionlimit(wanted)


def _int(text: str) -> int:
    if len(text) > MAX_NUMBER_CHARS:
        raise JsonBodyError(f"a number in the body has more than {MAX_NUMBER_CHARS} digits")
    return int(text)


def _float(text: str) -> float:
    if len(text) > MAX_NUMBER_CHARS:
        raise JsonBodyError(f"a number in the body has more than {MAX_NUMBER_CHARS} characters")
    value = float(text)
    if not math.isfinite(value):
        raise JsonBodyError("a number in the body is too large to represent")
    return value


def _constant(name: str) -> Any:
    raise JsonBodyError(f"{name} is not a JSON value")


def nesting_depth(value: Any) -> int:
    """Depth of nested objects/arrays, computed without recursion.

    >>> nesting_depth({"a": [{"b": 1}]}), nesting_depth("x")
    (3, 0)
    """
    depth = 0
    level: list[Any] = [value] if isinstance(value, dict | list) else []
    while level:  # one level at a time: no (node, depth) pair per node
        depth += 1
        below: list[Any] = []
        for node in level:
            children = node.values() if isinstance(node, dict) else node
            below += [child for child in children if isinstance(child, dict | list)]
        level = below
    return depth


def parse_json(data: bytes | str, *, max_depth: int) -> Any:
    """``data`` parsed as JSON (UTF-8, BOM tolerated), at most ``max_depth`` levels deep.

    >>> parse_json(b'{"a": [1, 2.5]}', max_depth=8)
    {'a': [1, 2.5]}
    >>> parse_json(b"[[[1]]]", max_depth=2)
    Traceback (most recent call last):
    ...
    api.jsonbody.JsonBodyError: [NLP400] the JSON body is nested deeper than 2 levels

    Raises:
        JsonBodyError: ``[NLP400]`` not UTF-8, not JSON (with line and column), nested deeper
            than ``max_depth``, a number longer than ``MAX_NUMBER_CHARS`` or not finite,
            ``NaN``/``Infinity``.
    """
    if isinstance(data, bytes):
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise JsonBodyError("the body is not UTF-8") from None
    else:
        text = data
    too_deep = JsonBodyError(f"the JSON body is nested deeper than {max_depth} levels")
    try:
        value = json.loads(text, parse_int=_int, parse_float=_float, parse_constant=_constant)
    except json.JSONDecodeError as exc:
        raise JsonBodyError(
            f"the body is not valid JSON (line {exc.lineno}, column {exc.colno})"
        ) from None
    except RecursionError:
        raise too_deep from None
    except ValueError:  # a conversion refused by the interpreter itself
        raise JsonBodyError("a value in the body cannot be read") from None
    # Cheap first: the depth can only exceed the limit with more openings than the limit.
    if text.count("[") + text.count("{") > max_depth and nesting_depth(value) > max_depth:
        raise too_deep
    return value
