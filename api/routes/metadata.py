"""GET /metadata (CapabilityStatement) and GET /SearchParameter[/{name}] (NLP definitions)."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from api.deps import SettingsDep, base_url
from api.errors import FhirError, fhir_response
from api.search_params import (
    COMMON_PARAMS,
    NLP_PARAMS,
    SEARCHABLE_TYPES,
    STANDARD_PARAMS,
    search_parameter_resource,
)
from enrich.urls import PROJECT_BASE

router = APIRouter(tags=["metadata"])

_HL7_SP = "http://hl7.org/fhir/SearchParameter"
_CONTROL = (
    ("_count", "number", "Page size (default 50, at most 1000)"),
    ("_offset", "number", "Paging offset (used by the next/previous links)"),
    ("_sort", "string", "_id, _lastUpdated or a date parameter; '-' for descending"),
    ("_include", "special", "Type:parameter[:Target], e.g. DocumentReference:nlp-generated"),
    ("_revinclude", "special", "Type:reference-parameter, e.g. Condition:derived-from"),
    ("_summary", "token", "count"),
)  # fmt: skip


def _software_version() -> str:
    try:
        return version("docref-nlp")
    except PackageNotFoundError:
        return "0.0.0"


def _search_params(resource_type: str) -> list[dict[str, Any]]:
    params: list[dict[str, Any]] = []
    for param in COMMON_PARAMS.values():
        params.append(
            {
                "name": param.name,
                "definition": f"{_HL7_SP}/Resource-{param.name.lstrip('_')}",
                "type": "date" if param.kind == "date" else "token",
                "documentation": param.description,
            }
        )
    for param in STANDARD_PARAMS[resource_type].values():
        entry = {"name": param.name, "type": param.kind, "documentation": param.description}
        if param.computed:
            entry["definition"] = f"{PROJECT_BASE}/SearchParameter/{param.name}"
        else:
            entry["definition"] = f"{_HL7_SP}/{resource_type}-{param.name}"
        params.append(entry)
    if resource_type == "DocumentReference":
        for nlp in NLP_PARAMS.values():
            params.append(
                {
                    "name": nlp.name,
                    "definition": f"{PROJECT_BASE}/SearchParameter/{nlp.name}",
                    "type": nlp.type,
                    "documentation": nlp.description,
                }
            )
    return params


def _resource(resource_type: str) -> dict[str, Any]:
    reads = [{"code": c} for c in ("read", "vread", "history-instance", "search-type")]
    writable = resource_type == "DocumentReference"
    interactions = (
        [{"code": c} for c in ("create", "update", "delete")] + reads if writable else reads
    )
    refs = [p.name for p in STANDARD_PARAMS[resource_type].values() if p.kind == "reference"]
    rev = sorted(
        f"{other}:{p.name}"
        for other, params in STANDARD_PARAMS.items()
        for p in params.values()
        if p.kind == "reference" and (not p.targets or resource_type in p.targets)
    )
    resource: dict[str, Any] = {
        "type": resource_type,
        "interaction": interactions,
        "versioning": "versioned",
        "readHistory": True,
        "updateCreate": writable,
        "conditionalCreate": writable,
        "conditionalUpdate": writable,
        "conditionalDelete": "not-supported",
        "searchInclude": [f"{resource_type}:{name}" for name in refs],
        "searchRevInclude": rev,
        "searchParam": _search_params(resource_type),
    }
    if writable:
        resource["operation"] = [
            {
                "name": "nlp",
                "definition": f"{PROJECT_BASE}/OperationDefinition/DocumentReference-nlp",
            }
        ]
    return resource


_BINARY: dict[str, Any] = {
    "type": "Binary",
    "documentation": "Stored as sent: the text of DocumentReferences whose attachment url is "
    "Binary/<id>. Not searchable.",
    "interaction": [
        {"code": c} for c in ("create", "update", "delete", "read", "vread", "history-instance")
    ],
    "versioning": "versioned",
    "readHistory": True,
    "updateCreate": True,
}


def capability_statement(base: str, *, secured: bool) -> dict[str, Any]:
    """The server's CapabilityStatement (R4 content, validated with R4B in tests)."""
    rest: dict[str, Any] = {
        "mode": "server",
        "documentation": (
            "DocumentReference writes are enriched with clinical NLP (aws-cm extensions, "
            "generated Condition/Observation/MedicationStatement/AllergyIntolerance/Linkage/"
            "Provenance) in one transaction. NLP search: composite separator '|' (or '$'), "
            "strings FHIR string semantics, scores FHIR number semantics."
        ),
        "resource": [*(_resource(t) for t in SEARCHABLE_TYPES), _BINARY],
        "interaction": [{"code": "transaction"}, {"code": "batch"}],
        "searchParam": [
            {"name": name, "type": kind, "documentation": doc} for name, kind, doc in _CONTROL
        ],
        "operation": [
            {"name": "analyze", "definition": f"{PROJECT_BASE}/OperationDefinition/analyze"}
        ],
    }
    if secured:
        rest["security"] = {
            "cors": False,
            "description": "Bearer token required (Authorization: Bearer <token>).",
        }
    return {
        "resourceType": "CapabilityStatement",
        "id": "docref-nlp",
        "url": f"{PROJECT_BASE}/CapabilityStatement/docref-nlp",
        "name": "DocrefNlp",
        "title": "docref-nlp FHIR server",
        "status": "active",
        "date": "2026-11-22",
        "publisher": "docref-nlp",
        "kind": "instance",
        "software": {"name": "docref-nlp", "version": _software_version()},
        "implementation": {"description": "docref-nlp", "url": base},
        "fhirVersion": "4.0.1",
        "format": ["application/fhir+json", "json"],
        "rest": [rest],
    }


@router.get("/metadata", summary="CapabilityStatement")
def metadata(request: Request, settings: SettingsDep) -> Response:
    base = base_url(request, settings)
    return fhir_response(capability_statement(base, secured=bool(settings.api_tokens)))


@router.get("/SearchParameter/{name}", summary="definition of one NLP search parameter")
def search_parameter(name: str) -> Response:
    resource = search_parameter_resource(name)
    if resource is None:
        raise FhirError("NLP404", f"SearchParameter/{name} is not defined here")
    return fhir_response(resource)


@router.get("/SearchParameter", summary="all NLP search parameter definitions")
def search_parameters(request: Request, settings: SettingsDep) -> Response:
    base = base_url(request, settings)
    entries = []
    for name in NLP_PARAMS:
        resource = search_parameter_resource(name)
        entries.append(
            {
                "fullUrl": f"{base}/SearchParameter/{name}",
                "resource": resource,
                "search": {"mode": "match"},
            }
        )
    bundle = {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": len(entries),
        "link": [{"relation": "self", "url": f"{base}/SearchParameter"}],
        "entry": entries,
    }
    return fhir_response(bundle)
