"""DocumentReference extensions: the aws-cm tree, system-generated-resources, our processing record.

Builders write exactly the shapes of spec §1 / DESIGN D2; readers match leniently by URL suffix
so that documents exported from a real HealthLake data store can be read too.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

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


def hl_decimal(x: float) -> float:
    """A score as HealthLake writes it: the float32 shortest repr (``0.9815994``).

    Returned as a float whose ``repr`` is exactly that decimal, so ``json.dumps`` writes the
    same digits as ``Decimal(java_float(x))`` would, with no custom encoder.

    >>> hl_decimal(0.9815993905067444)
    0.9815994
    """
    return float(java_float(x))


def count_nested(value: object) -> int:
    """Count JSON object and array nodes (HealthLake's "nested objects", spec §1.5 [D]).

    >>> count_nested({"a": [{"b": 1}, {"c": []}]})
    5
    """
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


def _s(url: str, value: str | None) -> list[Json]:
    return [] if value is None else [{"url": url, "valueString": value}]


def _i(url: str, value: int | None) -> list[Json]:
    return [] if value is None else [{"url": url, "valueInteger": value}]


def _d(url: str, value: float | None) -> list[Json]:
    return [] if value is None else [{"url": url, "valueDecimal": hl_decimal(value)}]


def _complex(url: str, children: list[Json]) -> list[Json]:
    return [{"url": url, "extension": children}] if children else []


def _branch_head(base: str, model: Any) -> list[Json]:
    return [
        {"url": base + urls.RAW_RESPONSE, "valueString": to_java_string(model)},
        *_s(base + urls.MODEL_VERSION, model.model_version),
    ]


def detect_entities_extension(response: DetectEntitiesV2Response) -> Json:
    """The ``detect-entities/`` branch (D2)."""
    b, e = urls.DETECT, urls.DETECT + urls.DE_ENTITY
    children = _branch_head(b, response)
    for ent in response.entities:
        traits = [
            {
                "url": e + "-Trait",
                "extension": [*_s(e + "-Trait-Name", t.name), *_d(e + "-Trait-Score", t.score)],
            }
            for t in ent.traits or []
        ]
        children += _complex(
            e,
            [
                *_i(e + "-id", ent.id),
                *_s(e + "-text", ent.text),
                *_s(e + "-category", ent.category),
                *_s(e + "-type", ent.type),
                *_d(e + "-score", ent.score),
                *_i(e + "-begin-offset", ent.begin_offset),
                *_i(e + "-end-offset", ent.end_offset),
                *_complex(e + "-TraitList", traits),
            ],
        )
    return {"url": b, "extension": children}


def _ontology_extension(
    base: str,
    entity: str,
    concept_el: str,
    concept_child: str,
    response: InferICD10CMResponse | InferRxNormResponse,
) -> Json:
    e = base + entity
    children = _branch_head(base, response)
    for ent in response.entities:
        concepts = [
            {
                "url": base + concept_el,
                "extension": [
                    *_s(base + concept_child + "Code", c.code),
                    *_s(base + concept_child + "Description", c.description),
                    *_d(base + concept_child + "Score", c.score),
                ],
            }
            for c in ent.concepts or []
        ]
        children += _complex(
            e,
            [
                *_i(e + "-id", ent.id),
                *_s(e + "-text", ent.text),
                *_i(e + "-begin-offset", ent.begin_offset),
                *_i(e + "-end-offset", ent.end_offset),
                *_d(e + "-score", ent.score),
                *_complex(e + "-ConceptList", concepts),
            ],
        )
    return {"url": base, "extension": children}


def infer_icd10_extension(response: InferICD10CMResponse) -> Json:
    """The ``infer-icd10/`` branch, exactly as the seed shows it (spec §1.3)."""
    return _ontology_extension(
        urls.ICD10, urls.ICD10_ENTITY, urls.ICD10_CONCEPT, urls.ICD10_CONCEPT_CHILD, response
    )


def infer_rxnorm_extension(response: InferRxNormResponse) -> Json:
    """The ``infer-rxnorm/`` branch (D2: ``-Concept`` element, ``-Concepts-*`` children)."""
    return _ontology_extension(
        urls.RXNORM, urls.RXNORM_ENTITY, urls.RXNORM_CONCEPT, urls.RXNORM_CONCEPT_CHILD, response
    )


def status_children(status: str, message: str) -> list[Json]:
    """The ``status/`` + ``message/`` pair."""
    return [
        {"url": urls.STATUS, "valueString": status},
        {"url": urls.MESSAGE, "valueString": message},
    ]


def aws_cm_extension(result: NlpResult | None, status: str, message: str) -> Json:
    """The whole ``aws-cm/`` extension: the three branches (when ``SUCCESS``) then status/message.

    A missing operation response (``None``) gives no branch for that operation.
    """
    children: list[Json] = []
    if status == SUCCESS and result is not None:
        if result.detect_entities is not None:
            children.append(detect_entities_extension(result.detect_entities))
        if result.icd10cm is not None:
            children.append(infer_icd10_extension(result.icd10cm))
        if result.rxnorm is not None:
            children.append(infer_rxnorm_extension(result.rxnorm))
    return {"url": urls.AWS_CM, "extension": children + status_children(status, message)}


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
