"""DocumentReference extensions: the aws-cm tree, system-generated-resources, our processing record.

Builders write exactly the shapes of spec §1 / DESIGN D2; readers match leniently by URL suffix
so that documents exported from a real HealthLake data store can be read too.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from enrich import tree, urls
from enrich.index import IndexRow, Operation
from enrich.tree import ICD10_URLS as _ICD10_URLS
from enrich.tree import RXNORM_URLS as _RXNORM_URLS
from enrich.tree import as_int as _int
from enrich.tree import as_num as _num
from enrich.tree import as_str as _str
from enrich.tree import (
    aws_cm_extension_counted,
    hl_decimal,  # noqa: F401 (tests)
)
from enrich.tree import cacheable as _cacheable  # noqa: F401 (tests)
from enrich.tree import concept_piece as _concept_piece  # noqa: F401 (tests)
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
# The aws-cm tree and its index rows are built by ``enrich.tree`` (compiled: it never receives
# a stored resource); here the thin entries the rest of the project and the tests call.


def _s(url: str, value: str | None) -> list[Json]:
    return [] if value is None else [{"url": url, "valueString": value}]


def detect_entities_extension(
    response: DetectEntitiesV2Response, rows: list[IndexRow] | None = None
) -> Json:
    """The ``detect-entities/`` branch (D2); its index rows are appended to ``rows``."""
    return tree.detect_entities_counted(response, rows)[0]


def infer_icd10_extension(
    response: InferICD10CMResponse, rows: list[IndexRow] | None = None
) -> Json:
    """The ``infer-icd10/`` branch, exactly as the seed shows it (spec §1.3)."""
    return tree.ontology_counted(urls.ICD10, _ICD10_URLS, "infer-icd10", response, rows)[0]


def infer_rxnorm_extension(
    response: InferRxNormResponse, rows: list[IndexRow] | None = None
) -> Json:
    """The ``infer-rxnorm/`` branch (D2: ``-Concept`` element, ``-Concepts-*`` children)."""
    return tree.ontology_counted(urls.RXNORM, _RXNORM_URLS, "infer-rxnorm", response, rows)[0]


def aws_cm_extension(
    result: NlpResult | None, status: str, message: str, rows: list[IndexRow] | None = None
) -> Json:
    """The whole ``aws-cm/`` extension: the three branches (when ``SUCCESS``) then status/message.

    A missing operation response (``None``) gives no branch for that operation. The index rows
    of the tree (``read_index_rows`` of a document carrying it) are appended to ``rows``.
    """
    return aws_cm_extension_counted(result, status, message, rows)[0]


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
