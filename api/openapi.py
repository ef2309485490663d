"""The service's OpenAPI (``GET /openapi.json``, ``/docs``) as the FHIR API really is.

FastAPI alone sees the generic ``/{resource_type}...`` routes, bodies read by a dependency and
query parameters read from the request: a client generator (or schemathesis) would learn
nothing from it. :func:`fhir_openapi` keeps the non-FHIR operations FastAPI describes (webhook,
status, probes, metrics, metadata) and describes the FHIR ones per resource type: concrete
paths (``/DocumentReference/{id}``), every search parameter of the type as a query parameter
(and as the form body of ``_search``), the resource bodies as JSON schemas (the elements the
service reads, ``additionalProperties`` allowed), the OperationOutcome of every error.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from api.search_params import COMMON_PARAMS, NLP_PARAMS, SEARCHABLE_TYPES, STANDARD_PARAMS

FHIR_JSON = "application/fhir+json"
ID_PATTERN = r"^[A-Za-z0-9\-.]{1,64}$"
#: Types clients write (DocumentReference enriched, Binary stored as sent).
WRITABLE = ("DocumentReference", "Binary")

_REF = {
    "type": "object",
    "properties": {"reference": {"type": "string"}, "display": {"type": "string"}},
}
_CODING = {
    "type": "object",
    "properties": {"system": {"type": "string"}, "code": {"type": "string"},
                   "display": {"type": "string"}},
}  # fmt: skip
_CONCEPT = {"type": "object", "properties": {"coding": {"type": "array", "items": _CODING},
                                             "text": {"type": "string"}}}  # fmt: skip
_META = {"type": "object", "properties": {"versionId": {"type": "string"},
                                          "tag": {"type": "array", "items": _CODING}}}  # fmt: skip
_ATTACHMENT = {
    "type": "object",
    "properties": {
        "contentType": {"type": "string", "examples": ["text/plain; charset=utf-8", "text/html"]},
        "data": {"type": "string", "contentEncoding": "base64"},
        "url": {"type": "string", "examples": ["Binary/b1"]},
        "language": {"type": "string"},
        "title": {"type": "string"},
    },
}


def _resource(name: str, properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {
            "resourceType": {"type": "string", "enum": [name]},
            "id": {"type": "string", "pattern": ID_PATTERN},
            "meta": _META,
            **properties,
        },
        "required": ["resourceType", *required],
        "additionalProperties": True,
    }


SCHEMAS: dict[str, dict[str, Any]] = {
    "DocumentReference": _resource(
        "DocumentReference",
        {
            "status": {"type": "string", "enum": ["current", "superseded", "entered-in-error"]},
            "docStatus": {
                "type": "string",
                "enum": ["preliminary", "final", "amended", "entered-in-error"],
            },
            "type": _CONCEPT,
            "category": {"type": "array", "items": _CONCEPT},
            "subject": _REF,
            "date": {"type": "string", "format": "date-time"},
            "identifier": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {"system": {"type": "string"}, "value": {"type": "string"}},
                },
            },
            "content": {
                "type": "array",
                "minItems": 1,
                "items": {
                    "type": "object",
                    "properties": {"attachment": _ATTACHMENT},
                    "required": ["attachment"],
                },
            },
            "context": {
                "type": "object",
                "properties": {"encounter": {"type": "array", "items": _REF}},
            },
        },
        ["status", "content"],
    ),
    "Binary": _resource(
        "Binary",
        {
            "contentType": {"type": "string"},
            "data": {"type": "string", "contentEncoding": "base64"},
        },
        ["contentType"],
    ),
    "Parameters": _resource(
        "Parameters",
        {
            "parameter": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "name": {"type": "string", "enum": ["text"]},
                        "valueString": {"type": "string"},
                    },
                },
            }
        },
        [],
    ),
    "OperationOutcome": _resource(
        "OperationOutcome",
        {
            "issue": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "severity": {"type": "string"},
                        "code": {"type": "string"},
                        "diagnostics": {"type": "string", "pattern": r"^\[NLP\d{3}\]"},
                    },
                },
            }
        },
        ["issue"],
    ),
}
SCHEMAS["Bundle"] = _resource(
    "Bundle",
    {
        "type": {"type": "string", "enum": ["transaction", "batch"]},
        "entry": {"type": "array", "items": {"type": "object", "properties": {
            "fullUrl": {"type": "string"},
            "resource": {"oneOf": [{"$ref": "#/components/schemas/DocumentReference"},
                                   {"$ref": "#/components/schemas/Binary"}]},
            "request": {"type": "object", "required": ["method", "url"], "properties": {
                "method": {"type": "string", "enum": ["GET", "POST", "PUT", "DELETE"]},
                "url": {"type": "string", "examples": ["DocumentReference/d1",
                                                       "DocumentReference?patient=p1"]},
                "ifMatch": {"type": "string"}, "ifNoneExist": {"type": "string"}}}}}},
    },
    ["type"],
)  # fmt: skip


def _ref(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json_body(name: str, *, required: bool = True) -> dict[str, Any]:
    return {"required": required, "content": {FHIR_JSON: {"schema": _ref(name)}}}


def _answers(success: str, ok_schema: dict[str, Any] | None = None) -> dict[str, Any]:
    outcome = {"content": {FHIR_JSON: {"schema": _ref("OperationOutcome")}}}
    answers: dict[str, Any] = {
        success: {"description": "success"}
        | ({"content": {FHIR_JSON: {"schema": ok_schema}}} if ok_schema else {}),
        "4XX": {"description": "OperationOutcome: [NLP4xx] client error", **outcome},
    }
    return answers


def _param(name: str, where: str, schema: dict[str, Any], doc: str = "") -> dict[str, Any]:
    param = {"name": name, "in": where, "required": where == "path", "schema": schema}
    if doc:
        param["description"] = doc
    return param


_STRING = {"type": "string"}
_ID = {"type": "string", "pattern": ID_PATTERN}
_COUNT = {"type": "integer", "minimum": 0, "maximum": 1000}
_OFFSET = {"type": "integer", "minimum": 0}


def search_parameters(resource_type: str) -> list[dict[str, Any]]:
    """Every search parameter of ``resource_type`` as an OpenAPI query parameter."""
    params = [_param(p.name, "query", _STRING, p.description) for p in COMMON_PARAMS.values()]
    params += [
        _param(p.name, "query", _STRING, p.description)
        for p in STANDARD_PARAMS[resource_type].values()
    ]
    if resource_type == "DocumentReference":
        params += [_param(p.name, "query", _STRING, p.description) for p in NLP_PARAMS.values()]
    includes = [f"{resource_type}:{p.name}" for p in STANDARD_PARAMS[resource_type].values()
                if p.kind == "reference"]  # fmt: skip
    revincludes = [f"{other}:{p.name}" for other, ps in STANDARD_PARAMS.items()
                   for p in ps.values() if p.kind == "reference"]  # fmt: skip
    params += [
        _param("_count", "query", _COUNT, "page size"),
        _param("_offset", "query", _OFFSET, "paging offset"),
        _param("_includeOffset", "query", _OFFSET, "where this page's included resources start"),
        _param("_sort", "query", {"type": "string", "enum": ["_id", "-_id", "_lastUpdated",
                                                             "-_lastUpdated"]}),
        _param("_summary", "query", {"type": "string", "enum": ["count", "false"]}),
        _param("_include", "query", {"type": "string", "enum": includes or ["none"]}),
        _param("_revinclude", "query", {"type": "string", "enum": revincludes}),
    ]  # fmt: skip
    return params


def _fhir_paths() -> dict[str, dict[str, Any]]:
    paths: dict[str, dict[str, Any]] = {}
    for rtype in (*SEARCHABLE_TYPES, "Binary"):
        writable = rtype in WRITABLE
        instance = f"/{rtype}/{{id}}"
        id_param = _param("id", "path", _ID)
        body = _json_body(rtype)
        type_ops: dict[str, Any] = {}
        if rtype != "Binary":
            params = search_parameters(rtype)
            bundle = {"type": "object"}
            type_ops["get"] = {
                "operationId": f"search{rtype}",
                "tags": [rtype],
                "parameters": params,
                "responses": _answers("200", bundle),
            }
            form = {"type": "object", "properties": {p["name"]: p["schema"] for p in params}}
            paths[f"/{rtype}/_search"] = {"post": {
                "operationId": f"searchPost{rtype}", "tags": [rtype],
                "requestBody": {"required": False, "content": {
                    "application/x-www-form-urlencoded": {"schema": form}}},
                "responses": _answers("200", bundle)}}  # fmt: skip
        if writable:
            type_ops["post"] = {
                "operationId": f"create{rtype}", "tags": [rtype], "requestBody": body,
                "parameters": [_param("If-None-Exist", "header", _STRING),
                               _param("Prefer", "header", {"type": "string", "enum": [
                                   "return=minimal", "return=representation",
                                   "return=OperationOutcome"]})],
                "responses": _answers("201", _ref(rtype))}  # fmt: skip
            if rtype == "DocumentReference":
                type_ops["put"] = {
                    "operationId": "conditionalUpdateDocumentReference", "tags": [rtype],
                    "requestBody": body,
                    "parameters": [_param("identifier", "query", _STRING),
                                   _param("_id", "query", _STRING)],
                    "responses": _answers("200", _ref(rtype))}  # fmt: skip
        if type_ops:
            paths[f"/{rtype}"] = type_ops
        item: dict[str, Any] = {
            "get": {"operationId": f"read{rtype}", "tags": [rtype], "parameters": [id_param],
                    "responses": _answers("200", _ref(rtype))},
        }  # fmt: skip
        if writable:
            item["put"] = {
                "operationId": f"update{rtype}", "tags": [rtype], "requestBody": body,
                "parameters": [id_param, _param("If-Match", "header", _STRING),
                               _param("Prefer", "header", _STRING)],
                "responses": _answers("200", _ref(rtype))}  # fmt: skip
            item["delete"] = {"operationId": f"delete{rtype}", "tags": [rtype],
                              "parameters": [id_param], "responses": _answers("204")}  # fmt: skip
        paths[instance] = item
        paths[f"{instance}/_history"] = {"get": {
            "operationId": f"history{rtype}", "tags": [rtype],
            "parameters": [id_param, _param("_count", "query", _COUNT),
                           _param("_offset", "query", _OFFSET)],
            "responses": _answers("200", {"type": "object"})}}  # fmt: skip
        paths[f"{instance}/_history/{{vid}}"] = {"get": {
            "operationId": f"vread{rtype}", "tags": [rtype],
            "parameters": [id_param, _param("vid", "path", {"type": "string"})],
            "responses": _answers("200", _ref(rtype))}}  # fmt: skip
    paths["/DocumentReference/{id}/$nlp"] = {"get": {
        "operationId": "nlpResult", "tags": ["DocumentReference"],
        "parameters": [_param("id", "path", _ID)], "responses": _answers("200")}}  # fmt: skip
    paths["/"] = {"post": {"operationId": "transactionOrBatch", "tags": ["FHIR"],
                           "requestBody": _json_body("Bundle"),
                           "responses": _answers("200", {"type": "object"})}}  # fmt: skip
    paths["/$analyze"] = {"post": {
        "operationId": "analyze", "tags": ["operations"],
        "requestBody": {"required": True, "content": {
            "text/plain": {"schema": {"type": "string", "minLength": 1}},
            FHIR_JSON: {"schema": _ref("Parameters")}}},
        "responses": _answers("200", {"type": "object"})}}  # fmt: skip
    return paths


def fhir_openapi(app: FastAPI) -> dict[str, Any]:
    """The OpenAPI document of ``app`` with the FHIR operations described per type (cached)."""
    if app.openapi_schema is not None:
        return app.openapi_schema
    schema = get_openapi(
        title=app.title, version=app.version, summary=app.summary, routes=app.routes
    )
    generic = [p for p in schema.get("paths", {}) if p == "/" or "{resource_type}" in p
               or p in ("/$analyze", "/DocumentReference/{resource_id}/$nlp")]  # fmt: skip
    for path in generic:
        del schema["paths"][path]
    webhook = schema["paths"].get("/webhook", {}).get("post")
    if webhook is not None:
        webhook["requestBody"] = {"required": False, "content": {FHIR_JSON: {"schema": {
            "oneOf": [_ref("DocumentReference"), {"type": "object", "properties": {
                "resourceType": {"type": "string", "enum": ["Bundle"]},
                "type": {"type": "string", "enum": ["history", "subscription-notification"]},
                "entry": {"type": "array", "items": {"type": "object"}}}}]}}}}  # fmt: skip
    schema["paths"].update(_fhir_paths())
    schema.setdefault("components", {}).setdefault("schemas", {}).update(SCHEMAS)
    app.openapi_schema = schema
    return schema


def install(app: FastAPI) -> None:
    """Serve :func:`fhir_openapi` as the app's OpenAPI document."""
    app.openapi = lambda: fhir_openapi(app)  # type: ignore[method-assign]
