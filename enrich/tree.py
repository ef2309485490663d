"""The aws-cm tree and its NLP index rows, built from the NLP result (spec §1, DESIGN D2).

Compiled with mypyc (``GROUPS`` in ``nlp/local/native.py``), as the raw-response writers it
calls: everything here takes the engine's result (pydantic models, read through their
``__dict__``), strings and numbers, and builds new dicts; it never receives a stored resource
(the readers of documents stay in ``enrich.extensions``). Values are typed ``object`` where a
result made without validation (``model_construct``) may hold another type than declared: the
output then is what the uncompiled builders wrote (tests compare both).

The builders also produce the NLP index rows of what they write (``rows``): the same rows
``enrich.extensions.read_index_rows`` reads back from the tree (tests check both agree),
without a second walk.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Final, TypeVar

from pydantic import BaseModel

from enrich import urls
from enrich.index import IndexRow, Operation
from enrich.rawresponse import java_float, to_java_string
from nlp.schema import (
    DetectEntitiesV2Response,
    InferICD10CMResponse,
    InferRxNormResponse,
    NlpResult,
)

Json = dict[str, Any]

SUCCESS: Final = "SUCCESS"

_HL_DECIMALS: Final[dict[float, float]] = {}  # positive inputs only (see rawresponse.java_float)
# Tree pieces that repeat (a trait or a concept element: the same few hundred values across
# documents) are built once and shared by every tree that holds them. Nothing mutates a
# written tree in place (a new run writes a new tree; ``api.service.with_status`` changes
# only the status/message pair, never cached); the caches are bounded like ``hl_decimal``'s.
_CACHE_MAX: Final = 65536
_K = TypeVar("_K", bound=tuple[object, ...])
_V = TypeVar("_V")


def hl_decimal(x: float) -> float:
    """A score as HealthLake writes it: the float32 shortest repr (``0.9815994``).

    Returned as a float whose ``repr`` is exactly that decimal, so ``json.dumps`` writes the
    same digits as ``Decimal(java_float(x))`` would, with no custom encoder.

    >>> hl_decimal(0.9815993905067444)
    0.9815994
    """
    if x > 0.0:  # scores: memoised by the exact input value
        cached = _HL_DECIMALS.get(x)
        if cached is None:
            if len(_HL_DECIMALS) >= _CACHE_MAX:
                _HL_DECIMALS.clear()
            cached = float(java_float(x))
            _HL_DECIMALS[x] = cached
        return cached
    return float(java_float(x))


# --- values as the readers convert them (``read_index_rows``) ----------------------------------


def as_num(value: object) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float | Decimal):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def as_int(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    num = as_num(value)
    return int(num) if num is not None and num == int(num) else None


def as_str(value: object) -> str | None:
    return value if isinstance(value, str) else None


# --- index rows -------------------------------------------------------------------------------

# Index rows are built like ``IndexRow(**fields)`` without validation: the builders pass
# values of the field types, converted as ``read_index_rows`` does, in field order (tests
# compare both, including ``model_fields_set``). pydantic keeps a model's state in slots:
# their descriptors set them directly.
_set: Final = object.__setattr__
_object_new: Final = object.__new__
_set_fields_set: Final = BaseModel.__dict__["__pydantic_fields_set__"].__set__
_set_extra: Final = BaseModel.__dict__["__pydantic_extra__"].__set__
_set_private: Final = BaseModel.__dict__["__pydantic_private__"].__set__


def _index_row(fields: dict[str, Any], fields_set: set[str]) -> IndexRow:
    """An IndexRow of ``fields`` (every field, in field order); ``fields_set``: the given ones.

    ``fields_set`` is shared by the rows of one shape (``_fields_set``): rows are frozen, so
    nothing adds to it (``model_copy`` copies it).
    """
    row: IndexRow = _object_new(IndexRow)
    _set(row, "__dict__", fields)
    _set_fields_set(row, fields_set)
    _set_extra(row, None)
    _set_private(row, None)
    return row


#: The scalar fields of an entity's row, by bit of the builders' ``given`` masks.
_SCALAR_FIELDS: Final = (
    "entity_id",
    "text",
    "category",
    "type",
    "score",
    "begin_offset",
    "end_offset",
)
_CONCEPT_FIELDS: Final = ("concept_index", "concept_code", "concept_description", "concept_score")
_FIELDS_SETS: Final[dict[tuple[int, bool], set[str]]] = {}


def _fields_set(given: int, concept: bool) -> set[str]:
    """The given fields of a row whose scalars ``given`` (bit i: ``_SCALAR_FIELDS[i]``) are
    set, with the concept fields when ``concept`` (one shared set per shape)."""
    key = (given, concept)
    found = _FIELDS_SETS.get(key)
    if found is None:
        names = {"operation", "entity_index", "traits"}
        for i, f in enumerate(_SCALAR_FIELDS):
            if given >> i & 1:
                names.add(f)
        if concept:
            names.update(_CONCEPT_FIELDS)
        found = names
        _FIELDS_SETS[key] = names
    return found


#: An entity's scalars: (attribute, URL, value key, bit of ``given``, IndexRow field)
_Scalars = tuple[tuple[str, str, str, int, str], ...]
#: IndexRow's fields in field order, none given (a row starts as a copy)
_ROW_TEMPLATE: Final[dict[str, Any]] = dict.fromkeys(IndexRow.model_fields)
_ROW_TEMPLATE["traits"] = ()


# --- the tree ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class EntityUrls:
    """The URLs of one operation's entity elements (and the scalars in tree order)."""

    entity: str
    trait_list: str
    trait: str
    trait_name: str
    trait_score: str
    concept_list: str
    concept: str
    code: str
    description: str
    concept_score: str
    scalars: _Scalars


#: (attribute, URL suffix, value key, bit of ``given``, IndexRow field) in the tree's order:
#: DetectEntitiesV2 entities; ontology entities have no category or type, the score last
_DETECT_ORDER: Final[_Scalars] = (
    ("id", "-id", "valueInteger", 1, "entity_id"),
    ("text", "-text", "valueString", 2, "text"),
    ("category", "-category", "valueString", 4, "category"),
    ("type", "-type", "valueString", 8, "type"),
    ("score", "-score", "valueDecimal", 16, "score"),
    ("begin_offset", "-begin-offset", "valueInteger", 32, "begin_offset"),
    ("end_offset", "-end-offset", "valueInteger", 64, "end_offset"),
)
_ONTOLOGY_ORDER: Final[_Scalars] = tuple(_DETECT_ORDER[i] for i in (0, 1, 5, 6, 4))


def entity_urls(
    base: str, entity: str, concept_el: str, concept_child: str, order: _Scalars
) -> EntityUrls:
    e = base + entity
    return EntityUrls(
        entity=e,
        trait_list=e + "-TraitList",
        trait=e + "-Trait",
        trait_name=e + "-Trait-Name",
        trait_score=e + "-Trait-Score",
        concept_list=e + "-ConceptList",
        concept=base + concept_el,
        code=base + concept_child + "Code",
        description=base + concept_child + "Description",
        concept_score=base + concept_child + "Score",
        scalars=tuple((a, e + suffix, k, bit, f) for a, suffix, k, bit, f in order),
    )


DE_URLS: Final = entity_urls(urls.DETECT, urls.DE_ENTITY, "", "", _DETECT_ORDER)
ICD10_URLS: Final = entity_urls(
    urls.ICD10, urls.ICD10_ENTITY, urls.ICD10_CONCEPT, urls.ICD10_CONCEPT_CHILD, _ONTOLOGY_ORDER
)
RXNORM_URLS: Final = entity_urls(
    urls.RXNORM,
    urls.RXNORM_ENTITY,
    urls.RXNORM_CONCEPT,
    urls.RXNORM_CONCEPT_CHILD,
    _ONTOLOGY_ORDER,
)
_DETECT: Final = urls.DETECT
_ICD10: Final = urls.ICD10
_RXNORM: Final = urls.RXNORM
_RAW_RESPONSE: Final = urls.RAW_RESPONSE
_MODEL_VERSION: Final = urls.MODEL_VERSION

#: (trait URL, name, score) -> (element, name for the row or None, nodes)
_TraitPiece = tuple[Json, str | None, int]
_TRAITS: Final[dict[tuple[str, object, object], _TraitPiece]] = {}
#: (concept URL, code, description, score) -> (element, (code, description, score), nodes)
_ConceptRow = tuple[object, object, float | None]
_ConceptPiece = tuple[Json, _ConceptRow, int]
_CONCEPTS: Final[dict[tuple[str, object, object, object], _ConceptPiece]] = {}


def _branch_head(base: str, model: Any) -> list[Json]:
    head: list[Json] = [{"url": base + _RAW_RESPONSE, "valueString": to_java_string(model)}]
    version = model.model_version
    if version is not None:
        head.append({"url": base + _MODEL_VERSION, "valueString": version})
    return head


def trait_piece(u: EntityUrls, name: object, score: object) -> _TraitPiece:
    """A trait element, the name its row lists (a non-empty string) and its node count."""
    parts: list[Json] = []
    if name is not None:
        parts.append({"url": u.trait_name, "valueString": name})
    if score is not None:
        parts.append({"url": u.trait_score, "valueDecimal": hl_decimal(score)})  # type: ignore[arg-type]
    listed: str | None = None
    if isinstance(name, str) and name:
        listed = name
    return {"url": u.trait, "extension": parts}, listed, 2 + len(parts)


def concept_piece(u: EntityUrls, code: object, description: object, score: object) -> _ConceptPiece:
    """A concept element, its row's (code, description, score) and its node count."""
    parts: list[Json] = []
    row_code: object = None
    row_description: object = None
    row_score: float | None = None
    if code is not None:
        parts.append({"url": u.code, "valueString": code})
        row_code = as_str(code)
    if description is not None:
        parts.append({"url": u.description, "valueString": description})
        row_description = as_str(description)
    if score is not None:
        row_score = hl_decimal(score)  # type: ignore[arg-type]
        parts.append({"url": u.concept_score, "valueDecimal": row_score})
    element: Json = {"url": u.concept, "extension": parts}
    return element, (row_code, row_description, row_score), 2 + len(parts)


def cacheable(key: tuple[object, ...]) -> bool:
    """Whether a piece may be kept under ``key`` (a URL, texts, then a score): its texts are
    strings (or ``None``), equal only to strings, and its score a positive float (or
    ``None``): ``0.0 == -0.0`` are written differently, ``NaN`` equals nothing. A key equal to
    a kept one then gives the same piece (``1 == 1.0`` and ``True`` give ``hl_decimal`` 1.0)."""
    score = key[-1]
    if score is not None and not (type(score) is float and score > 0.0):
        return False
    return all(v is None or type(v) is str for v in key[1:-1])


def _keep(cache: dict[_K, _V], key: _K, piece: _V) -> None:
    """Keep a new ``piece`` in ``cache`` under ``key`` when it may be (``cacheable``; the cache
    is emptied at ``_CACHE_MAX``). Callers look the key up first."""
    if cacheable(key):
        if len(cache) >= _CACHE_MAX:
            cache.clear()
        cache[key] = piece


def _entity(
    d: dict[str, Any], u: EntityUrls, operation: Operation, index: int
) -> tuple[list[Json], dict[str, Any], int]:
    """An entity's scalar children in tree order, its row's fields (every field, in field
    order; no concept, no traits yet) and the mask of the scalars given (``_fields_set``)."""
    kids: list[Json] = []
    given = 0
    fields = dict(_ROW_TEMPLATE)
    fields["operation"] = operation
    fields["entity_index"] = index
    for attr, url, key, bit, field in u.scalars:
        value: object = d[attr]
        if value is None:
            continue
        if bit == 16:  # the score: HealthLake's float32 digits, in the tree and the row
            score = hl_decimal(value)  # type: ignore[arg-type]
            fields[field] = score
            kids.append({"url": url, key: score})
        else:
            if key == "valueString":
                fields[field] = value if type(value) is str else as_str(value)
            else:
                fields[field] = value if type(value) is int else as_int(value)
            kids.append({"url": url, key: value})
        given |= bit
    return kids, fields, given


def detect_entities_counted(
    response: DetectEntitiesV2Response, rows: list[IndexRow] | None
) -> tuple[Json, int]:
    """The ``detect-entities/`` branch (D2) and its ``count_nested``, in one pass over the
    entities; its index rows are appended to ``rows``."""
    u = DE_URLS
    trait_list = u.trait_list
    children = _branch_head(_DETECT, response)
    nodes = 2 + len(children)
    index = 0
    for ent in response.entities:
        d: dict[str, Any] = ent.__dict__
        kids, fields, given = _entity(d, u, "detect-entities", index)
        traits = d["traits"]
        if traits:
            elements: list[Json] = []
            listed: list[str] = []
            for t in traits:
                td: dict[str, Any] = t.__dict__
                name: object = td["name"]
                score: object = td["score"]
                key = (trait_list, name, score)
                piece = _TRAITS.get(key)
                if piece is None:
                    piece = trait_piece(u, name, score)
                    _keep(_TRAITS, key, piece)
                element, row_name, count = piece
                elements.append(element)
                if row_name is not None:
                    listed.append(row_name)
                nodes += count
            kids.append({"url": trait_list, "extension": elements})
            nodes += 1
            fields["traits"] = tuple(listed)
        if kids:
            children.append({"url": u.entity, "extension": kids})
            nodes += 2 + len(kids)
            if rows is not None:
                rows.append(_index_row(fields, _fields_set(given, False)))
            index += 1
    return {"url": _DETECT, "extension": children}, nodes


def ontology_counted(
    base: str,
    u: EntityUrls,
    operation: Operation,
    response: InferICD10CMResponse | InferRxNormResponse,
    rows: list[IndexRow] | None,
) -> tuple[Json, int]:
    """An ontology branch (``infer-icd10/``, ``infer-rxnorm/``) and its ``count_nested``, in
    one pass over the entities; its index rows are appended to ``rows``."""
    concept_list = u.concept_list
    children = _branch_head(base, response)
    nodes = 2 + len(children)
    index = 0
    for ent in response.entities:
        d: dict[str, Any] = ent.__dict__
        kids, fields, given = _entity(d, u, operation, index)
        concepts = d["concepts"]
        found: list[_ConceptRow] = []
        if concepts:
            elements: list[Json] = []
            for c in concepts:
                cd: dict[str, Any] = c.__dict__
                code: object = cd["code"]
                description: object = cd["description"]
                score: object = cd["score"]
                key = (concept_list, code, description, score)
                piece = _CONCEPTS.get(key)
                if piece is None:
                    piece = concept_piece(u, code, description, score)
                    _keep(_CONCEPTS, key, piece)
                element, row, count = piece
                elements.append(element)
                found.append(row)
                nodes += count
            kids.append({"url": concept_list, "extension": elements})
            nodes += 1
        if kids:
            children.append({"url": u.entity, "extension": kids})
            nodes += 2 + len(kids)
            if rows is not None:
                if not found:
                    rows.append(_index_row(fields, _fields_set(given, False)))
                else:
                    shape = _fields_set(given, True)
                    for i, (row_code, row_description, row_score) in enumerate(found):
                        one = dict(fields)
                        one["concept_index"] = i
                        one["concept_code"] = row_code
                        one["concept_description"] = row_description
                        one["concept_score"] = row_score
                        rows.append(_index_row(one, shape))
            index += 1
    return {"url": base, "extension": children}, nodes


def status_children(status: str, message: str) -> list[Json]:
    """The ``status/`` + ``message/`` pair."""
    return [
        {"url": urls.STATUS, "valueString": status},
        {"url": urls.MESSAGE, "valueString": message},
    ]


def aws_cm_extension_counted(
    result: NlpResult | None, status: str, message: str, rows: list[IndexRow] | None = None
) -> tuple[Json, int]:
    """The whole ``aws-cm/`` extension (the three branches when ``SUCCESS``, then
    status/message) and its ``count_nested``, counted while building (no second walk)."""
    children: list[Json] = []
    nodes = 0
    if status == SUCCESS and result is not None:
        branches: list[tuple[Json, int]] = []
        detect = result.detect_entities
        if detect is not None:
            branches.append(detect_entities_counted(detect, rows))
        icd10 = result.icd10cm
        if icd10 is not None:
            branches.append(ontology_counted(_ICD10, ICD10_URLS, "infer-icd10", icd10, rows))
        rxnorm = result.rxnorm
        if rxnorm is not None:
            branches.append(ontology_counted(_RXNORM, RXNORM_URLS, "infer-rxnorm", rxnorm, rows))
        for branch, count in branches:
            children.append(branch)
            nodes += count
    children += status_children(status, message)
    return {"url": urls.AWS_CM, "extension": children}, nodes + 2 + 2
