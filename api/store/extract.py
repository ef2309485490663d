"""Search values of one resource (tokens, references, date ranges) for the store's helper tables."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from api.search_params import STANDARD_PARAMS
from api.search_values import MAX_INSTANT, MIN_INSTANT, SearchError, date_range, typed_reference
from api.store.codec import parsed


@dataclass(frozen=True)
class SearchValues:
    """Helper-table rows: (param, system, code), (param, type, id), (param, low, high)."""

    tokens: list[tuple[str, str, str]]
    refs: list[tuple[str, str, str]]
    dates: list[tuple[str, str, str]]


_FILTER = re.compile(r"^(?P<name>\w+)\[(?P<key>\w+)=(?P<value>[^\]]+)\]$")


@lru_cache(maxsize=1024)
def path_steps(path: str) -> tuple[tuple[str, str | None, str | None], ...]:
    """``path`` parsed once: ``(name, filter key, filter value)`` per dotted step."""
    steps: list[tuple[str, str | None, str | None]] = []
    for step in path.split("."):
        match = _FILTER.match(step)
        if match:
            steps.append((match["name"], match["key"], match["value"]))
        else:
            steps.append((step, None, None))
    return tuple(steps)


def walk(node: Any, path: str) -> Iterator[Any]:
    """Values at a dotted ``path`` (lists are flattened; ``elem[key=value]`` filters items).

    >>> list(walk({"item": [{"type": "source", "resource": 1}, {"type": "x", "resource": 2}]},
    ...           "item[type=source].resource"))
    [1]
    """
    yield from walked(node, path_steps(path))


def walked(node: Any, steps: tuple[tuple[str, str | None, str | None], ...]) -> list[Any]:
    """The values at the parsed ``steps`` of a path (``walk``), ``None`` left out."""
    nodes: list[Any] = [node]
    for name, key, wanted in steps:
        found: list[Any] = []
        for current in nodes:
            if not isinstance(current, dict):
                continue
            value = current.get(name)
            if value is None:
                continue
            items: list[Any] = value if isinstance(value, list) else [value]
            for item in items:
                if item is None:
                    continue
                if key is not None and not (isinstance(item, dict) and item.get(key) == wanted):
                    continue
                found.append(item)
        nodes = found
        if not nodes:
            break
    return nodes


def _add_tokens(out: set[tuple[str, str, str]], name: str, value: Any) -> None:
    """Add the ``(name, system, code)`` tokens of one value (a code, Coding,
    CodeableConcept or Identifier) to ``out``."""
    if isinstance(value, str | bool):
        out.add((name, "", str(value).lower() if isinstance(value, bool) else value))
    elif isinstance(value, dict):
        if "coding" in value or ("text" in value and "system" not in value):
            for coding in value.get("coding") or []:
                _add_tokens(out, name, coding)
        elif "value" in value and "code" not in value:  # Identifier
            out.add((name, str(value.get("system") or ""), str(value["value"])))
        else:  # Coding (a display-only tag is searchable by its display)
            code = value.get("code") or value.get("display")
            if code:
                out.add((name, str(value.get("system") or ""), str(code)))


def date_values(value: Any) -> Iterator[tuple[str, str]]:
    try:
        if isinstance(value, str):
            yield date_range(value)
        elif isinstance(value, dict) and ("start" in value or "end" in value):
            low = date_range(value["start"])[0] if value.get("start") else MIN_INSTANT
            high = date_range(value["end"])[1] if value.get("end") else MAX_INSTANT
            yield low, high
    except SearchError:
        return


@lru_cache(maxsize=65536)
def parsed_ref(text: str) -> tuple[str, str] | None:
    """``(type, id)`` of a reference with a type, else ``None``; memoised.

    Documents, subjects and generated resources are referenced over and over.
    """
    return typed_reference(text)


def _add_ref(
    out: set[tuple[str, str, str]], name: str, value: Any, targets: tuple[str, ...]
) -> None:
    """Add the ``(name, type, id)`` of one Reference with a type (of ``targets``, when
    given) to ``out``."""
    if isinstance(value, dict):
        text = value.get("reference")
        if isinstance(text, str):
            ref = parsed_ref(text)
            if ref is not None and (not targets or ref[0] in targets):
                out.add((name, *ref))


@lru_cache(maxsize=256)
def _plan(resource_type: str) -> tuple[tuple[str, str, str, tuple[str, ...]], ...]:
    """``(param, kind, path, targets)`` of every indexed path of a type, in order."""
    return tuple(
        (param.name, param.kind, path, param.targets)
        for param in STANDARD_PARAMS.get(resource_type, {}).values()
        if not param.computed
        for path in param.paths
    )


def extract(resource: dict[str, Any]) -> SearchValues:
    """Everything the store indexes for ``resource`` (``_tag`` and the type's path parameters);
    a stored resource (``LazyResource``) is parsed first.

    >>> v = extract({"resourceType": "DocumentReference", "id": "d",
    ...   "subject": {"reference": "Patient/p1"}, "status": "current",
    ...   "meta": {"tag": [{"display": "SYSTEM_GENERATED"}]}})
    >>> sorted(v.refs)
    [('patient', 'Patient', 'p1'), ('subject', 'Patient', 'p1')]
    >>> sorted(v.tokens)
    [('_tag', '', 'SYSTEM_GENERATED'), ('status', '', 'current')]
    """
    resource = parsed(resource)  # compiled code reads a dict through dict's own functions
    tokens: set[tuple[str, str, str]] = set()
    refs: set[tuple[str, str, str]] = set()
    dates: set[tuple[str, str, str]] = set()
    meta = resource.get("meta")
    tags = meta.get("tag") if isinstance(meta, dict) else None
    if tags:
        for tag in tags if isinstance(tags, list) else (tags,):
            if tag is None:
                continue
            _add_tokens(tokens, "_tag", tag)
            if isinstance(tag, dict) and tag.get("code") and tag.get("display"):
                # HealthLake's tag is display-only: ``_tag=SYSTEM_GENERATED`` works on both
                tokens.add(("_tag", "", str(tag["display"])))
    for name, kind, path, targets in _plan(str(resource.get("resourceType"))):
        if "." not in path and "[" not in path:  # a top-level element: no walk
            value = resource.get(path)
            if value is None:
                continue
            found: Any = value if isinstance(value, list) else (value,)
        else:
            found = walk(resource, path)
        for value in found:
            if value is None:
                continue
            if kind == "token":
                _add_tokens(tokens, name, value)
            elif kind == "reference":
                _add_ref(refs, name, value, targets)
            elif kind == "date":
                dates.update((name, lo, hi) for lo, hi in date_values(value))
    return SearchValues(sorted(tokens), sorted(refs), sorted(dates))
