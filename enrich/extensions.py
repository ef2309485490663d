"""DocumentReference extensions: the aws-cm tree, system-generated-resources, our processing record.

Builders write exactly the shapes of spec §1 / DESIGN D2; readers match leniently by URL suffix
so that documents exported from a real HealthLake data store can be read too.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

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

SUCCESS = "SUCCESS"
VALIDATION_ERROR = "VALIDATION_ERROR"
UNSUPPORTED_CONTENT = "UNSUPPORTED_CONTENT"
STATUSES = (SUCCESS, VALIDATION_ERROR, UNSUPPORTED_CONTENT)

SUCCESS_MESSAGE = "The Amazon HealthLake integrated medical NLP operation was successful."
UNSUPPORTED_MESSAGE = (
    "The DocumentReference has no text attachment that the integrated medical NLP operation "
    "can read."
)


def validation_error_message(count: int, limit: int) -> str:
    """HealthLake's VALIDATION_ERROR message (spec §1.5).

    >>> validation_error_message(10937, 10000)
    'Resource led to too many nested objects after NLP operation processed the document. 10937 nested objects exceeds the limit of 10000.'
    """  # noqa: E501
    return (
        "Resource led to too many nested objects after NLP operation processed the document. "
        f"{count} nested objects exceeds the limit of {limit}."
    )


_HL_DECIMALS: dict[float, float] = {}  # positive inputs only (see rawresponse.java_float)


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
            if len(_HL_DECIMALS) >= 65536:
                _HL_DECIMALS.clear()
            cached = _HL_DECIMALS[x] = float(java_float(x))
        return cached
    return float(java_float(x))


def count_nested(value: object) -> int:
    """Count JSON object and array nodes (HealthLake's "nested objects", spec §1.5 [D]).

    >>> count_nested({"a": [{"b": 1}, {"c": []}]})
    5
    """
    if not isinstance(value, dict | list):
        return 0
    return _count(value, 0)


_MAX_RECURSION = 200  # deeper subtrees are counted without recursion


def _count(node: dict[Any, Any] | list[Any], depth: int) -> int:
    count = 1
    for item in node.values() if isinstance(node, dict) else node:
        if isinstance(item, dict | list):
            count += _count(item, depth + 1) if depth < _MAX_RECURSION else _count_flat(item)
    return count


def _count_flat(value: object) -> int:
    count = 0
    stack: list[object] = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            count += 1
            stack.extend(v for v in item.values() if isinstance(v, dict | list))
        elif isinstance(item, list):
            count += 1
            stack.extend(v for v in item if isinstance(v, dict | list))
    return count


# --- builders -------------------------------------------------------------------------------
#
# The builders also produce the NLP index rows of what they write (``rows``): the same rows
# ``read_index_rows`` reads back from the tree (tests check both agree), without a second walk.


def _s(url: str, value: str | None) -> list[Json]:
    return [] if value is None else [{"url": url, "valueString": value}]


def _branch_head(base: str, model: Any) -> list[Json]:
    return [
        {"url": base + urls.RAW_RESPONSE, "valueString": to_java_string(model)},
        *_s(base + urls.MODEL_VERSION, model.model_version),
    ]


# Index rows are built like ``IndexRow(**fields)`` without validation: the builders pass
# values of the field types, converted as ``read_index_rows`` does, in field order (tests
# compare both, including ``model_fields_set``). pydantic keeps a model's state in slots:
# their descriptors set them directly.
_set = object.__setattr__
_object_new = object.__new__
_set_fields_set = BaseModel.__dict__["__pydantic_fields_set__"].__set__
_set_extra = BaseModel.__dict__["__pydantic_extra__"].__set__
_set_private = BaseModel.__dict__["__pydantic_private__"].__set__


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
_SCALAR_FIELDS = (
    "entity_id",
    "text",
    "category",
    "type",
    "score",
    "begin_offset",
    "end_offset",
)
_CONCEPT_FIELDS = ("concept_index", "concept_code", "concept_description", "concept_score")
_FIELDS_SETS: dict[tuple[int, bool], set[str]] = {}


def _fields_set(given: int, concept: bool) -> set[str]:
    """The given fields of a row whose scalars ``given`` (bit i: ``_SCALAR_FIELDS[i]``) are
    set, with the concept fields when ``concept`` (one shared set per shape)."""
    found = _FIELDS_SETS.get((given, concept))
    if found is None:
        names = {"operation", "entity_index", "traits"}
        names.update(f for i, f in enumerate(_SCALAR_FIELDS) if given >> i & 1)
        if concept:
            names.update(_CONCEPT_FIELDS)
        found = _FIELDS_SETS[(given, concept)] = names
    return found


def _as_str(value: object) -> str | None:
    return value if type(value) is str else _str(value)


#: a cached ``hl_decimal``, else None (only positive keys are stored)
_hl_cached = _HL_DECIMALS.get


@dataclass(frozen=True)
class _EntityUrls:
    entity: str
    id: str
    text: str
    category: str
    type: str
    score: str
    begin: str
    end: str
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
_DETECT_ORDER = (
    ("id", "-id", "valueInteger", 1, "entity_id"),
    ("text", "-text", "valueString", 2, "text"),
    ("category", "-category", "valueString", 4, "category"),
    ("type", "-type", "valueString", 8, "type"),
    ("score", "-score", "valueDecimal", 16, "score"),
    ("begin_offset", "-begin-offset", "valueInteger", 32, "begin_offset"),
    ("end_offset", "-end-offset", "valueInteger", 64, "end_offset"),
)
_ONTOLOGY_ORDER = tuple(_DETECT_ORDER[i] for i in (0, 1, 5, 6, 4))


def _entity_urls(
    base: str, entity: str, concept_el: str, concept_child: str, order: _Scalars
) -> _EntityUrls:
    e = base + entity
    scalar_urls = {
        "id": e + "-id",
        "text": e + "-text",
        "category": e + "-category",
        "type": e + "-type",
        "score": e + "-score",
        "begin": e + "-begin-offset",
        "end": e + "-end-offset",
    }
    return _EntityUrls(
        entity=e,
        **scalar_urls,
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


_DE_URLS = _entity_urls(urls.DETECT, urls.DE_ENTITY, "", "", _DETECT_ORDER)
_ICD10_URLS = _entity_urls(
    urls.ICD10, urls.ICD10_ENTITY, urls.ICD10_CONCEPT, urls.ICD10_CONCEPT_CHILD, _ONTOLOGY_ORDER
)
_RXNORM_URLS = _entity_urls(
    urls.RXNORM,
    urls.RXNORM_ENTITY,
    urls.RXNORM_CONCEPT,
    urls.RXNORM_CONCEPT_CHILD,
    _ONTOLOGY_ORDER,
)

# Tree pieces that repeat (a trait or a concept element: the same few hundred values across
# documents) are built once and shared by every tree that holds them. Nothing mutates a
# written tree in place (a new run writes a new tree; ``api.service.with_status`` changes
# only the status/message pair, never cached); the caches are bounded like ``hl_decimal``'s.
_CACHE_MAX = 65536
#: (trait URL, name, score) -> (element, name for the row or None, nodes)
_TRAITS: dict[tuple[str, object, object], tuple[Json, str | None, int]] = {}
#: (concept URL, code, description, score) -> (element, (code, description, score), nodes)
_CONCEPTS: dict[
    tuple[str, object, object, object],
    tuple[Json, tuple[str | None, str | None, float | None], int],
] = {}


def _trait_piece(u: _EntityUrls, name: object, score: object) -> tuple[Json, str | None, int]:
    """A trait element, the name its row lists (a non-empty string) and its node count."""
    parts: list[Json] = []
    if name is not None:
        parts.append({"url": u.trait_name, "valueString": name})
    if score is not None:
        parts.append({"url": u.trait_score, "valueDecimal": hl_decimal(score)})  # type: ignore[arg-type]
    listed = _as_str(name) if name is not None else None
    return {"url": u.trait, "extension": parts}, listed or None, 2 + len(parts)


def _concept_piece(
    u: _EntityUrls, code: object, description: object, score: object
) -> tuple[Json, tuple[str | None, str | None, float | None], int]:
    """A concept element, its row's (code, description, score) and its node count."""
    parts: list[Json] = []
    row_code = row_description = row_score = None
    if code is not None:
        parts.append({"url": u.code, "valueString": code})
        row_code = _as_str(code)
    if description is not None:
        parts.append({"url": u.description, "valueString": description})
        row_description = _as_str(description)
    if score is not None:
        row_score = hl_decimal(score)  # type: ignore[arg-type]
        parts.append({"url": u.concept_score, "valueDecimal": row_score})
    element = {"url": u.concept, "extension": parts}
    return element, (row_code, row_description, row_score), 2 + len(parts)


def _cacheable(key: tuple[object, ...]) -> bool:
    """Whether a piece may be kept under ``key`` (a URL, texts, then a score): its texts are
    strings (or ``None``), equal only to strings, and its score a positive float (or
    ``None``): ``0.0 == -0.0`` are written differently, ``NaN`` equals nothing. A key equal to
    a kept one then gives the same piece (``1 == 1.0`` and ``True`` give ``hl_decimal`` 1.0)."""
    score = key[-1]
    if score is not None and not (type(score) is float and score > 0.0):
        return False
    return all(v is None or type(v) is str for v in key[1:-1])


#: An entity's scalars: (attribute, URL, value key, bit of ``given``, IndexRow field)
_Scalars = tuple[tuple[str, str, str, int, str], ...]
#: IndexRow's fields in field order, none given (a row starts as a copy)
_ROW_TEMPLATE: dict[str, Any] = dict.fromkeys(IndexRow.model_fields)
_ROW_TEMPLATE["traits"] = ()


def _entity(
    d: dict[str, Any], u: _EntityUrls, operation: Operation, index: int
) -> tuple[list[Json], dict[str, Any], int]:
    """An entity's scalar children in tree order, its row's fields (every field, in field
    order; no concept, no traits yet) and the mask of the scalars given (``_fields_set``)."""
    kids: list[Json] = []
    add = kids.append
    given = 0
    fields = dict(_ROW_TEMPLATE)
    fields["operation"] = operation
    fields["entity_index"] = index
    for attr, url, key, bit, field in u.scalars:
        value = d[attr]
        if value is None:
            continue
        if bit == 16:  # the score: HealthLake's float32 digits, in the tree and the row
            value = _hl_cached(value) or hl_decimal(value)
            fields[field] = value
        elif key == "valueString":
            fields[field] = value if type(value) is str else _str(value)
        else:
            fields[field] = value if type(value) is int else _int(value)
        add({"url": url, key: value})
        given |= bit
    return kids, fields, given


def _new_piece(
    cache: dict[Any, Any], key: tuple[object, ...], build: Callable[..., Any], *args: object
) -> Any:
    """``build(*args)``, kept in ``cache`` under ``key`` when it may be (``_cacheable``; the
    cache is emptied at ``_CACHE_MAX``). Callers look the key up first."""
    piece = build(*args)
    if _cacheable(key):
        if len(cache) >= _CACHE_MAX:
            cache.clear()
        cache[key] = piece
    return piece


def detect_entities_extension(
    response: DetectEntitiesV2Response, rows: list[IndexRow] | None = None
) -> Json:
    """The ``detect-entities/`` branch (D2); its index rows are appended to ``rows``."""
    return _detect_entities(response, rows)[0]


def _detect_entities(
    response: DetectEntitiesV2Response, rows: list[IndexRow] | None
) -> tuple[Json, int]:
    """The branch and its ``count_nested``, in one pass over the entities."""
    u = _DE_URLS
    children = _branch_head(urls.DETECT, response)
    nodes = 2 + len(children)
    index = 0
    for ent in response.entities:
        d = ent.__dict__
        kids, fields, given = _entity(d, u, "detect-entities", index)
        traits = d["traits"]
        if traits:
            elements: list[Json] = []
            listed: list[str] = []
            for t in traits:
                name, score = t.__dict__["name"], t.__dict__["score"]
                key = (u.trait_list, name, score)
                piece = _TRAITS.get(key) or _new_piece(_TRAITS, key, _trait_piece, u, name, score)
                elements.append(piece[0])
                if piece[1] is not None:
                    listed.append(piece[1])
                nodes += piece[2]
            kids.append({"url": u.trait_list, "extension": elements})
            nodes += 1
            fields["traits"] = tuple(listed)
        if kids:
            children.append({"url": u.entity, "extension": kids})
            nodes += 2 + len(kids)
            if rows is not None:
                rows.append(_index_row(fields, _fields_set(given, False)))
            index += 1
    return {"url": urls.DETECT, "extension": children}, nodes


def _ontology_extension(
    base: str,
    u: _EntityUrls,
    operation: Operation,
    response: InferICD10CMResponse | InferRxNormResponse,
    rows: list[IndexRow] | None,
) -> tuple[Json, int]:
    """The branch and its ``count_nested``, in one pass over the entities."""
    children = _branch_head(base, response)
    nodes = 2 + len(children)
    index = 0
    for ent in response.entities:
        d = ent.__dict__
        kids, fields, given = _entity(d, u, operation, index)
        concepts = d["concepts"]
        found: list[tuple[str | None, str | None, float | None]] = []
        if concepts:
            elements: list[Json] = []
            for c in concepts:
                cd = c.__dict__
                code, description, score = cd["code"], cd["description"], cd["score"]
                key = (u.concept_list, code, description, score)
                piece = _CONCEPTS.get(key) or _new_piece(
                    _CONCEPTS, key, _concept_piece, u, code, description, score
                )
                elements.append(piece[0])
                found.append(piece[1])
                nodes += piece[2]
            kids.append({"url": u.concept_list, "extension": elements})
            nodes += 1
        if kids:
            children.append({"url": u.entity, "extension": kids})
            nodes += 2 + len(kids)
            if rows is not None:
                if not found:
                    rows.append(_index_row(fields, _fields_set(given, False)))
                shape = _fields_set(given, True)
                for i, (code, description, score) in enumerate(found):
                    rows.append(
                        _index_row(
                            {
                                **fields,
                                "concept_index": i,
                                "concept_code": code,
                                "concept_description": description,
                                "concept_score": score,
                            },
                            shape,
                        )
                    )
            index += 1
    return {"url": base, "extension": children}, nodes


def infer_icd10_extension(
    response: InferICD10CMResponse, rows: list[IndexRow] | None = None
) -> Json:
    """The ``infer-icd10/`` branch, exactly as the seed shows it (spec §1.3)."""
    return _ontology_extension(urls.ICD10, _ICD10_URLS, "infer-icd10", response, rows)[0]


def infer_rxnorm_extension(
    response: InferRxNormResponse, rows: list[IndexRow] | None = None
) -> Json:
    """The ``infer-rxnorm/`` branch (D2: ``-Concept`` element, ``-Concepts-*`` children)."""
    return _ontology_extension(urls.RXNORM, _RXNORM_URLS, "infer-rxnorm", response, rows)[0]


def status_children(status: str, message: str) -> list[Json]:
    """The ``status/`` + ``message/`` pair."""
    return [
        {"url": urls.STATUS, "valueString": status},
        {"url": urls.MESSAGE, "valueString": message},
    ]


def aws_cm_extension(
    result: NlpResult | None, status: str, message: str, rows: list[IndexRow] | None = None
) -> Json:
    """The whole ``aws-cm/`` extension: the three branches (when ``SUCCESS``) then status/message.

    A missing operation response (``None``) gives no branch for that operation. The index rows
    of the tree (``read_index_rows`` of a document carrying it) are appended to ``rows``.
    """
    return aws_cm_extension_counted(result, status, message, rows)[0]


def aws_cm_extension_counted(
    result: NlpResult | None, status: str, message: str, rows: list[IndexRow] | None = None
) -> tuple[Json, int]:
    """``aws_cm_extension`` and its ``count_nested``, counted while building (no second walk)."""
    children: list[Json] = []
    nodes = 0
    if status == SUCCESS and result is not None:
        branches: list[tuple[Json, int]] = []
        if result.detect_entities is not None:
            branches.append(_detect_entities(result.detect_entities, rows))
        if result.icd10cm is not None:
            branches.append(
                _ontology_extension(urls.ICD10, _ICD10_URLS, "infer-icd10", result.icd10cm, rows)
            )
        if result.rxnorm is not None:
            branches.append(
                _ontology_extension(urls.RXNORM, _RXNORM_URLS, "infer-rxnorm", result.rxnorm, rows)
            )
        for branch, count in branches:
            children.append(branch)
            nodes += count
    children += status_children(status, message)
    return {"url": urls.AWS_CM, "extension": children}, nodes + 2 + 2


def system_generated_resources_extension(linkage_ref: str, refs: Sequence[str]) -> Json:
    """``system-generated-resources/``: the linkage first, then one nlp-entity per resource."""
    return {
        "url": urls.SGR,
        "extension": [
            {"url": urls.LINKAGE, "valueReference": {"reference": linkage_ref}},
            *({"url": urls.NLP_ENTITY, "valueReference": {"reference": r}} for r in refs),
        ],
    }


@dataclass(frozen=True)
class ProjectInfo:
    """What our processing-record extension says about the last run."""

    text_hash: str | None
    engine_name: str | None
    engine_version: str | None
    profile: str | None = None
    processed_at: str | None = None
    provenance: str | None = None


def project_extension(info: ProjectInfo) -> Json:
    """Our processing record: text SHA-256, engine name/version, profile, time, Provenance."""
    children = [
        *_s(urls.PROJECT_TEXT_SHA256, info.text_hash),
        *_s(urls.PROJECT_ENGINE_NAME, info.engine_name),
        *_s(urls.PROJECT_ENGINE_VERSION, info.engine_version),
        *_s(urls.PROJECT_PROFILE, info.profile),
    ]
    if info.processed_at is not None:
        children.append({"url": urls.PROJECT_PROCESSED_AT, "valueDateTime": info.processed_at})
    if info.provenance is not None:
        ref = {"reference": info.provenance}
        children.append({"url": urls.PROJECT_PROVENANCE, "valueReference": ref})
    return {"url": urls.PROJECT_EXT, "extension": children}


OWN_EXTENSION_URLS = frozenset({urls.AWS_CM, urls.SGR, urls.PROJECT_EXT})


# --- lenient readers -------------------------------------------------------------------------


def _last(url: object) -> str:
    return str(url).rstrip("/").rsplit("/", 1)[-1].lower() if isinstance(url, str) else ""


def _children(ext: object) -> list[Json]:
    if isinstance(ext, dict):
        kids = ext.get("extension")
        if isinstance(kids, list):
            return [k for k in kids if isinstance(k, dict)]
    return []


def find_extension(resource: Json, url: str) -> Json | None:
    """The first top-level extension with ``url`` (trailing slash ignored)."""
    want = url.rstrip("/")
    for ext in _children(resource):
        if str(ext.get("url", "")).rstrip("/") == want:
            return ext
    return None


def _num(value: object) -> float | None:
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


def _int(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    num = _num(value)
    return int(num) if num is not None and num == int(num) else None


def _str(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _operation(url: object) -> Operation | None:
    u = str(url).lower()
    if "detect-entities" in u or "detectentities" in u:
        return "detect-entities"
    if "infer-icd10" in u:
        return "infer-icd10"
    if "infer-rxnorm" in u:
        return "infer-rxnorm"
    return None


def _value(ext: Json) -> object:
    for key in ("valueString", "valueDecimal", "valueInteger", "valueCode"):
        if key in ext:
            return ext[key]
    return None


def _read_concept(el: Json) -> tuple[str | None, str | None, float | None]:
    code = desc = None
    score = None
    for child in _children(el):
        last = _last(child.get("url"))
        if last.endswith("-code"):
            code = _str(_value(child))
        elif last.endswith("-description"):
            desc = _str(_value(child))
        elif last.endswith("-score"):
            score = _num(_value(child))
    return code, desc, score


def _read_traits(el: Json) -> tuple[str, ...]:
    names: list[str] = []
    for trait in _children(el):
        for child in _children(trait):
            if _last(child.get("url")).endswith("-name"):
                name = _str(_value(child))
                if name:
                    names.append(name)
    return tuple(names)


# Entity children by URL suffix (first match wins: "-begin-offset" before "-id" etc.).
_ENTITY_FIELDS: tuple[tuple[str, str, Callable[[object], object]], ...] = (
    ("-begin-offset", "begin_offset", _int),
    ("-end-offset", "end_offset", _int),
    ("-id", "entity_id", _int),
    ("-text", "text", _str),
    ("-category", "category", _str),
    ("-type", "type", _str),
    ("-score", "score", _num),
)


def _entity_rows(op: Operation, index: int, el: Json) -> list[IndexRow]:
    fields: dict[str, Any] = {}
    concepts: list[tuple[str | None, str | None, float | None]] = []
    traits: tuple[str, ...] = ()
    for child in _children(el):
        last = _last(child.get("url"))
        value = _value(child)
        if last.endswith("conceptlist"):
            concepts = [_read_concept(c) for c in _children(child)]
        elif last.endswith("traitlist"):
            traits = _read_traits(child)
        else:
            for suffix, name, convert in _ENTITY_FIELDS:
                if last.endswith(suffix):
                    fields[name] = convert(value)
                    break
    if not concepts:
        return [IndexRow(operation=op, entity_index=index, traits=traits, **fields)]
    return [
        IndexRow(
            operation=op,
            entity_index=index,
            traits=traits,
            concept_index=i,
            concept_code=code,
            concept_description=desc,
            concept_score=score,
            **fields,
        )
        for i, (code, desc, score) in enumerate(concepts)
    ]


def read_index_rows(doc: Json) -> list[IndexRow]:
    """Flatten the aws-cm tree of a document into NLP index rows (lenient, by URL suffix).

    Entity elements are the children of an operation branch whose last URL segment ends in
    ``-entity``; concept children are matched by ``-Code`` / ``-Description`` / ``-Score``
    whatever their ``Concept``/``Concepts`` infix.
    """
    tree = find_extension(doc, urls.AWS_CM)
    rows: list[IndexRow] = []
    for branch in _children(tree):
        op = _operation(branch.get("url"))
        if op is None:
            continue
        index = 0
        for el in _children(branch):
            if _last(el.get("url")).endswith("-entity") and _children(el):
                rows += _entity_rows(op, index, el)
                index += 1
    return rows


def _aws_cm_value(doc: Json, name: str) -> str | None:
    for child in _children(find_extension(doc, urls.AWS_CM)):
        if _last(child.get("url")) == name:
            return _str(_value(child))
    return None


def read_status(doc: Json) -> str | None:
    """The ``aws-cm/status/`` value, or ``None`` when the document was never decorated."""
    return _aws_cm_value(doc, "status")


def read_message(doc: Json) -> str | None:
    """The ``aws-cm/message/`` value."""
    return _aws_cm_value(doc, "message")


def read_project_info(doc: Json) -> ProjectInfo | None:
    """Our processing record, or ``None`` when this service never processed the document."""
    ext = find_extension(doc, urls.PROJECT_EXT)
    if ext is None:
        return None
    values: dict[str, str | None] = {}
    for child in _children(ext):
        url = str(child.get("url", ""))
        if "valueReference" in child:
            ref = child["valueReference"]
            values[url] = _str(ref.get("reference")) if isinstance(ref, dict) else None
        else:
            values[url] = _str(child.get("valueString", child.get("valueDateTime")))
    return ProjectInfo(
        text_hash=values.get(urls.PROJECT_TEXT_SHA256),
        engine_name=values.get(urls.PROJECT_ENGINE_NAME),
        engine_version=values.get(urls.PROJECT_ENGINE_VERSION),
        profile=values.get(urls.PROJECT_PROFILE),
        processed_at=values.get(urls.PROJECT_PROCESSED_AT),
        provenance=values.get(urls.PROJECT_PROVENANCE),
    )


def read_generated_refs(doc: Json) -> list[str]:
    """``Type/id`` references listed in system-generated-resources (Linkage first)."""
    refs: list[str] = []
    for child in _children(find_extension(doc, urls.SGR)):
        ref = child.get("valueReference")
        if isinstance(ref, dict) and isinstance(ref.get("reference"), str):
            refs.append(ref["reference"])
    return refs


def without_own_extensions(extensions: Iterable[Json]) -> list[Json]:
    """The extensions that are not ours (aws-cm, system-generated-resources, processing record)."""
    return [
        e
        for e in extensions
        if str(e.get("url", "")).rstrip("/") not in {u.rstrip("/") for u in OWN_EXTENSION_URLS}
    ]
