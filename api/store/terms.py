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
from collections.abc import Iterable, Sequence
from functools import lru_cache
from itertools import groupby
from operator import itemgetter
from typing import NamedTuple

from api.search_params import COMMON_PARAMS, STANDARD_PARAMS
from api.store.extract import SearchValues

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


#: ``NlpRow`` columns: those whose distinct values are terms (exact, or normalised texts as
#: prefixes), and the column that tells each ``PRESENCE`` field
_EXACT_COLUMNS = (("g", 3), ("y", 4), ("k", 6))
_TEXT_COLUMNS = (("t", 2), ("w", 8))
_PRESENCE_COLUMNS = (
    ("text", 1),
    ("category", 3),
    ("type", 4),
    ("score", 5),
    ("concept_code", 6),
    ("concept_description", 7),
    ("concept_score", 9),
)


def nlp_terms(rows: Iterable[NlpRow]) -> list[str]:
    """Every term of one document's NLP rows: the distinct values of each column, taken
    column by column for each run of rows of one operation (``zip``, ``set``: no Python
    step per row; a document's ~200 rows hold some 100 values)."""
    exact: dict[tuple[str, int], set[str | None]] = {}
    texts: dict[tuple[str, int], set[str | None]] = {}
    present: set[str] = set()
    for op, run in groupby(rows, itemgetter(0)):
        columns = list(zip(*run, strict=True))
        count = len(columns[0])
        for letter, i in _EXACT_COLUMNS:
            exact.setdefault((letter, op), set()).update(columns[i])
        for letter, i in _TEXT_COLUMNS:
            texts.setdefault((letter, op), set()).update(columns[i])
        present.update(
            presence_term(op, field)
            for field, i in _PRESENCE_COLUMNS
            if columns[i].count(None) < count
        )
    terms: set[str] = present
    for (letter, op), values in exact.items():
        terms.update(nlp_exact_term(letter, op, v) for v in values if v is not None)
    for (letter, op), values in texts.items():
        for value in values:
            if value is None:
                continue
            term = nlp_prefix_term(letter, op, value)
            terms.add(term if term is not None else long_marker(letter, op))
    return sorted(terms)


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
