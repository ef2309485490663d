"""Search terms: what the SQLite store's full-text index (FTS5) holds per resource and per
NLP-indexed document, and the MATCH expressions that find them.

An FTS5 index is written like a log-structured merge tree: each commit appends one small
segment with every term it added, and segments are merged in the background of later writes.
A B-tree index instead rewrites one page per distinct key per commit, which made a 2 KB note
cost ~900 WAL pages (docs/performance.md). The store therefore finds rows by value through
terms, and keeps B-trees only for what is clustered by write order.

A term is one token of ASCII letters and digits, so the ``unicode61`` tokenizer keeps it whole
and case folding changes nothing: a kind letter, then each value self-delimited
(``encoded``: a separator letter, then hex digits: ``x`` + the UTF-8 bytes, ``v`` + a
canonical UUID's 32 digits, ``h`` + SHA-256 when too long), so the encoding is injective and a
value followed by anything is a prefix query. Hex keeps byte prefixes, so a prefix of a text
is a prefix of its term (string search: ``text_norm >= v AND text_norm < v || U+10FFFF`` is a
UTF-8 byte prefix); a text too long for a term leaves a marker term that sends the query to
the rows.

Kinds (the first character): ``i`` a resource's type and id; standard parameters ``q``
token by code then system, ``u`` token by system, ``s`` reference by id then type;
NLP index (operation digit after the kind) ``k`` concept code, ``g`` category, ``y`` type,
``t`` entity text (normalised), ``w`` concept description (normalised), ``m`` column present,
``z`` long-value marker.

``TERMS_VERSION`` changes whenever the terms of a stored value could change (this module, the
standard parameters' paths): the store then rebuilds its term index
(``api.store.sqlite_schema.reindex``).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable, Sequence
from functools import lru_cache, partial
from typing import Any, NamedTuple, cast

from api.search_params import COMMON_PARAMS, STANDARD_PARAMS
from api.store.codec import parsed
from api.store.extract import (
    SearchValues,
    date_values,
    extract,
    parsed_ref,
    path_steps,
    walked,
)

#: Operations of the NLP index as stored (``nlp_rows.op``) and as term digits.
OPERATIONS: dict[str, int] = {"detect-entities": 0, "infer-icd10": 1, "infer-rxnorm": 2}
#: Index-row columns whose presence ``:missing`` asks about, and their one-letter codes.
PRESENCE: dict[str, str] = {
    "text": "t",
    "category": "g",
    "type": "y",
    "score": "s",
    "concept_code": "k",
    "concept_description": "w",
    "concept_score": "c",
}
#: Longest value (UTF-8 bytes) spelled out in a term; longer ones are hashed or marked.
MAX_VALUE_BYTES = 1000
_REVISION = 3  # bump when the terms of a value change


def _version() -> str:
    spec = repr(sorted((t, sorted(p.items())) for t, p in STANDARD_PARAMS.items()))
    spec += repr(sorted(COMMON_PARAMS.items()))
    digest = hashlib.sha256(spec.encode()).hexdigest()[:16]
    return f"{_REVISION}-{digest}"


#: Identifies how terms are made; stored with the index, a change rebuilds it.
TERMS_VERSION = _version()


_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


@lru_cache(maxsize=65536)
def encoded(value: str) -> str:
    """A value in a term, self-delimiting (a separator letter, then hex digits only):
    ``v`` + 32 hex digits for a canonical UUID (the generated resources' ids), ``x`` + the
    UTF-8 bytes in hex, or ``h`` + SHA-256 when longer than ``MAX_VALUE_BYTES``.

    >>> encoded("R51"), encoded("44352ee8-649e-50c2-9d09-cf07b39646a3")
    ('x523531', 'v44352ee8649e50c29d09cf07b39646a3')
    """
    if len(value) == 36 and _UUID.fullmatch(value):
        return "v" + value.replace("-", "")
    data = value.encode()
    if len(data) > MAX_VALUE_BYTES:
        return "h" + hashlib.sha256(data).hexdigest()
    return "x" + data.hex()


@lru_cache(maxsize=4096)
def _scope(resource_type: str, param: str) -> str:
    return encoded(resource_type) + encoded(param)


def _followed(head: str) -> str:
    """``head`` followed by any encoded value (a prefix query for each separator)."""
    return f"{head}x* OR {head}v* OR {head}h*"


@lru_cache(maxsize=65536)
def token_terms(resource_type: str, param: str, system: str, code: str) -> tuple[str, str]:
    """The terms of one token value: by code then system (``q``; a query by code alone is a
    prefix of it), and by system alone (``u``).

    >>> token_terms("Condition", "code", "s", "R51")
    ('qx436f6e646974696f6ex636f6465x523531x73', 'ux436f6e646974696f6ex636f6465x73')
    """
    scope = _scope(resource_type, param)
    return f"q{scope}{encoded(code)}{encoded(system)}", f"u{scope}{encoded(system)}"


def token_query(resource_type: str, param: str, system: str | None, code: str | None) -> str:
    """The MATCH expression of a token search value (``system`` ``None``: any system;
    ``code`` ``None``: any code of that system)."""
    scope = _scope(resource_type, param)
    if system is None:
        return _followed(f"q{scope}{encoded(code or '')}")
    if code is None:
        return f"u{scope}{encoded(system)}"
    return f"q{scope}{encoded(code)}{encoded(system)}"


@lru_cache(maxsize=65536)
def ref_terms(resource_type: str, param: str, ref_type: str, ref_id: str) -> str:
    """The term of one reference value: by id then type (a query by id is a prefix of it)."""
    return f"s{_scope(resource_type, param)}{encoded(ref_id)}{encoded(ref_type)}"


def ref_query(resource_type: str, param: str, ref_type: str | None, ref_id: str) -> str:
    """The MATCH expression of a reference search value (``ref_type`` ``None``: any type)."""
    head = f"s{_scope(resource_type, param)}{encoded(ref_id)}"
    return _followed(head) if ref_type is None else head + encoded(ref_type)


def id_term(resource_type: str, resource_id: str) -> str:
    """The term of a resource's own type and id (how the SQLite store finds a row by key)."""
    return f"i{encoded(resource_type)}{encoded(resource_id)}"


def ids_query(keys: Iterable[tuple[str, str]]) -> str:
    """The MATCH expression of the rows of ``(type, id)`` keys."""
    return any_of([id_term(t, i) for t, i in keys])


def resource_terms(resource_type: str, resource_id: str, values: SearchValues) -> list[str]:
    """Every term of one resource: its key, its token and reference values (``extract``)."""
    terms: set[str] = {id_term(resource_type, resource_id)}
    for param, system, code in values.tokens:
        terms.update(token_terms(resource_type, param, system, code))
    for param, ref_type, ref_id in values.refs:
        terms.add(ref_terms(resource_type, param, ref_type, ref_id))
    return sorted(terms)


# --------------------------------------------------------------------------- one resource's index

#: ``_Path.kind``: what a path's values are
_TOKEN, _REFERENCE, _DATE = 0, 1, 2
_KINDS = {"token": _TOKEN, "reference": _REFERENCE, "date": _DATE}


class _Path:
    """One indexed path of a resource type, resolved once (``_paths``): the parameter, what
    its values are, the top-level element (``""``: ``steps`` are walked, as ``extract.walk``
    does), the reference types kept, and the heads of its terms (``q``/``u``/``s`` + scope)."""

    def __init__(
        self, resource_type: str, name: str, kind: int, path: str, targets: tuple[str, ...]
    ) -> None:
        scope = _scope(resource_type, name)
        self.name = name
        self.kind = kind
        self.top = path if "." not in path and "[" not in path else ""
        self.steps = path_steps(path)
        self.targets = targets
        self.q = "q" + scope
        self.u = "u" + scope
        self.s = "s" + scope


_PATHS: dict[str, list[_Path]] = {}


def _paths(resource_type: str) -> list[_Path]:
    """The indexed paths of a type, in ``extract``'s order (made once per type)."""
    found = _PATHS.get(resource_type)
    if found is None:
        found = []
        for param in STANDARD_PARAMS.get(resource_type, {}).values():
            kind = _KINDS.get(param.kind)
            if param.computed or kind is None:
                continue
            for path in param.paths:
                found.append(_Path(resource_type, param.name, kind, path, param.targets))
        _PATHS[resource_type] = found
    return found


def _walked(resource: dict[str, Any], path: _Path) -> list[Any]:
    """The values at ``path`` (``extract.walk``), ``None`` left out."""
    if path.top:
        value = resource.get(path.top)
        if value is None:
            return []
        if isinstance(value, list):
            return [v for v in value if v is not None]
        return [value]
    return walked(resource, path.steps)


_ENCODED: dict[str, str] = {}


def _encoded(value: str) -> str:
    """``encoded``, memoised in a plain dict (cheaper to call than ``lru_cache``)."""
    found = _ENCODED.get(value)
    if found is None:
        if len(_ENCODED) >= 65536:
            _ENCODED.clear()
        found = _ENCODED[value] = encoded(value)
    return found


def _token_terms(out: set[str], q: str, u: str, value: Any) -> None:
    """Add the terms of the tokens of one value (``extract._add_tokens``: a code, Coding,
    CodeableConcept or Identifier) to ``out``."""
    if isinstance(value, str):
        out.add(q + _encoded(value) + "x")
        out.add(u + "x")
    elif isinstance(value, bool):
        out.add(q + ("x74727565x" if value else "x66616c7365x"))  # "true", "false"
        out.add(u + "x")
    elif isinstance(value, dict):
        if "coding" in value or ("text" in value and "system" not in value):
            codings = value.get("coding") or []
            for coding in codings:
                _token_terms(out, q, u, coding)
            return
        if "value" in value and "code" not in value:  # Identifier
            code = str(value["value"])
        else:  # Coding (a display-only tag is searchable by its display)
            found = value.get("code") or value.get("display")
            if not found:
                return
            code = str(found)
        system = _encoded(str(value.get("system") or ""))
        out.add(q + _encoded(code) + system)
        out.add(u + system)


def resource_index(
    resource_type: str, resource: dict[str, Any]
) -> tuple[str, list[tuple[str, str, str]]]:
    """The term index text (``terms_text(resource_terms(...))``) and the sorted date values
    ``(param, low, high)`` of one resource, in one pass over its planned paths: the same as
    ``extract`` then ``resource_terms``, without the intermediate token and reference rows.
    A stored resource (``LazyResource``) is parsed first."""
    resource = parsed(resource)
    body_type = str(resource.get("resourceType"))
    if body_type != resource_type:  # never from a store (its key is the body's); as it was
        values = extract(resource)
        text = terms_text(resource_terms(resource_type, str(resource["id"]), values))
        return text, values.dates
    terms: set[str] = {id_term(resource_type, str(resource["id"]))}
    meta = resource.get("meta")
    tags = meta.get("tag") if isinstance(meta, dict) else None
    if tags:
        scope = _scope(resource_type, "_tag")
        q, u = "q" + scope, "u" + scope
        for tag in tags if isinstance(tags, list) else [tags]:
            if tag is None:
                continue
            _token_terms(terms, q, u, tag)
            if isinstance(tag, dict) and tag.get("code") and tag.get("display"):
                _token_terms(terms, q, u, str(tag["display"]))
    dates: set[tuple[str, str, str]] = set()
    for path in _paths(resource_type):
        found = _walked(resource, path)
        if not found:
            continue
        kind = path.kind
        if kind == _TOKEN:
            for value in found:
                _token_terms(terms, path.q, path.u, value)
        elif kind == _REFERENCE:
            for value in found:
                if isinstance(value, dict):
                    reference = value.get("reference")
                    if isinstance(reference, str):
                        ref = parsed_ref(reference)
                        if ref is not None and (not path.targets or ref[0] in path.targets):
                            terms.add(path.s + _encoded(ref[1]) + _encoded(ref[0]))
        else:
            for value in found:
                for low, high in date_values(value):
                    dates.add((path.name, low, high))
    return " ".join(sorted(terms)), sorted(dates)


# --------------------------------------------------------------------------- NLP index


class NlpRow(NamedTuple):
    """One stored NLP index row: the columns the 25 parameters read (``nlp_rows``)."""

    op: int
    text: str | None
    text_norm: str | None
    category: str | None
    type: str | None
    score: float | None
    code: str | None
    description: str | None
    description_norm: str | None
    concept_score: float | None


@lru_cache(maxsize=65536)
def nlp_exact_term(kind: str, op: int, value: str) -> str:
    """A code (``k``), category (``g``) or type (``y``) of one operation."""
    return f"{kind}{op}{encoded(value)}"


@lru_cache(maxsize=65536)
def nlp_prefix_term(kind: str, op: int, value: str) -> str | None:
    """A normalised text (``t``) or description (``w``); ``None`` when too long for a term
    (a prefix must stay a prefix: no hashing, no UUID form)."""
    data = value.encode()
    if len(data) > MAX_VALUE_BYTES:
        return None
    return f"{kind}{op}x{data.hex()}"


def long_marker(kind: str, op: int) -> str:
    """The marker of a document with a ``kind`` value too long for its term."""
    return f"z{kind}{op}"


def presence_term(op: int, field: str) -> str:
    """A document has a row of ``op`` with ``field`` not null."""
    return f"m{op}{PRESENCE[field]}"


#: ``PRESENCE`` fields by bit (``nlp_terms``): text, category, type, score, concept_code,
#: concept_description, concept_score
_PRESENCE_BITS = tuple(PRESENCE)
#: a term of a value of one column and operation, by (letter, op), then value (``_column``)
_TERMS: dict[tuple[str, int], dict[str, str]] = {}


def _column(letter: str, op: int) -> dict[str, str]:
    """The memo of the terms of one column (``letter``) and operation: value -> term."""
    cache = _TERMS.get((letter, op))
    if cache is None or len(cache) >= 65536:
        cache = _TERMS[(letter, op)] = {}
    return cache


def _add_terms(terms: set[str], letter: str, op: int, values: set[str | None], exact: bool) -> None:
    """Add the terms of ``values`` (but ``None``) of one column and operation:
    ``nlp_exact_term`` (``exact``), else ``nlp_prefix_term`` (its ``long_marker`` when too
    long)."""
    cache = _column(letter, op)
    for value in values:
        if value is None:
            continue
        found = cache.get(value)
        if found is None:
            if exact:
                found = nlp_exact_term(letter, op, value)
            else:
                prefix = nlp_prefix_term(letter, op, value)
                found = prefix if prefix is not None else long_marker(letter, op)
            cache[value] = found
        terms.add(found)


def nlp_terms(rows: Iterable[NlpRow]) -> list[str]:
    """Every term of one document's NLP rows: per operation, the distinct values of its
    category (``g``), type (``y``) and code (``k``) columns, its normalised texts (``t``) and
    descriptions (``w``), and which ``PRESENCE`` columns some row fills (``m``)."""
    # per operation: its distinct values of g, y, k, t, w (and None), and the presence bits
    # of its rows (bit i: column i of ``PRESENCE`` not null in some row)
    values: dict[int, tuple[set[str | None], ...]] = {}
    bits: dict[int, int] = {}
    for op, text, text_norm, category, kind, score, code, desc, desc_norm, concept in rows:
        sets = values.get(op)
        if sets is None:
            sets = values[op] = (set(), set(), set(), set(), set())
            bits[op] = 0
        sets[0].add(category)
        sets[1].add(kind)
        sets[2].add(code)
        sets[3].add(text_norm)
        sets[4].add(desc_norm)
        bits[op] |= (
            (text is not None)
            | (category is not None) << 1
            | (kind is not None) << 2
            | (score is not None) << 3
            | (code is not None) << 4
            | (desc is not None) << 5
            | (concept is not None) << 6
        )
    terms: set[str] = set()
    for op, (categories, kinds, codes, texts, descs) in values.items():
        present = bits[op]
        for bit, field in enumerate(_PRESENCE_BITS):
            if present >> bit & 1:
                terms.add(presence_term(op, field))
        _add_terms(terms, "g", op, categories, True)
        _add_terms(terms, "y", op, kinds, True)
        _add_terms(terms, "k", op, codes, True)
        _add_terms(terms, "t", op, texts, False)
        _add_terms(terms, "w", op, descs, False)
    return sorted(terms)


#: ``NlpRow`` of its fields as one tuple (``tuple.__new__``: no Python frame, as ``_make``)
_new_row = cast(Callable[[tuple[Any, ...]], NlpRow], partial(tuple.__new__, NlpRow))

#: One ``IndexRow``'s stored fields (``api.store.sql.nlp_rows``): operation name, text,
#: category, type, score, concept code, description and score
IndexFields = tuple[str, str | None, str | None, str | None, Any, str | None, str | None, Any]


def distinct_rows(
    fields: Iterable[IndexFields], normalized: Callable[[str | None], str | None]
) -> list[NlpRow]:
    """``NlpRow`` of each distinct ``fields`` (first occurrences, in order): the operation's
    number, and the texts and descriptions with their ``normalized`` form. A NaN score is
    ``None`` (``api.store.sql.nlp_rows``); rows that differ only by a NaN are then one."""
    norms: dict[str, str | None] = {}
    found: list[NlpRow] = []
    nan = False
    for op, text, category, kind, score, code, desc, cscore in dict.fromkeys(fields):
        text_norm: str | None = text
        if text:
            text_norm = norms.get(text)
            if text_norm is None:
                text_norm = norms[text] = normalized(text)
        dnorm: str | None = desc
        if desc:
            dnorm = norms.get(desc)
            if dnorm is None:
                dnorm = norms[desc] = normalized(desc)
        if score != score or cscore != cscore:
            nan = True
        row = (OPERATIONS[op], text, text_norm, category, kind, score, code, desc, dnorm, cscore)
        found.append(_new_row(row))
    if nan:
        found = list(dict.fromkeys([_no_nan(row) for row in found]))
    return found


def _no_nan(row: NlpRow) -> NlpRow:
    score, concept = row.score, row.concept_score
    if score is not None and score != score:
        row = row._replace(score=None)
    if concept is not None and concept != concept:
        row = row._replace(concept_score=None)
    return row


# --------------------------------------------------------------------------- MATCH expressions


def any_of(terms: Sequence[str]) -> str:
    """An FTS5 MATCH expression: any of ``terms`` (exact tokens, or ``term*`` prefixes)."""
    return " OR ".join(terms) if len(terms) > 1 else terms[0]


def all_of(expressions: Sequence[str]) -> str:
    """An FTS5 MATCH expression: every one of ``expressions``."""
    if len(expressions) == 1:
        return expressions[0]
    return " AND ".join(f"({e})" for e in expressions)


def terms_text(terms: Sequence[str]) -> str:
    """The column value of a row of the term index."""
    return " ".join(terms)
