"""FHIR REST: DocumentReference create/read/update/delete/history, read and search of every type."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, Depends, Header, Request
from fastapi.responses import Response

from api import interactions as ix
from api.deps import BodyDep, CtxDep, RawBodyDep, require_token
from api.errors import FhirError, fhir_response
from api.interactions import Reply
from api.transactions import process_bundle
from nlp.codes import code_in

router = APIRouter(tags=["fhir"], dependencies=[Depends(require_token)])
PreferHeader = Annotated[str | None, Header()]


def outcome_of(reply: Reply) -> dict[str, Any]:
    """The OperationOutcome answered for ``Prefer: return=OperationOutcome``: the enrichment's
    status and its notes (why nothing was generated, a limit), as ``information`` issues."""
    status = reply.headers.get("X-NLP-Status")
    texts = [f"NLP status {status}"] if status else []
    texts += reply.notes
    issues = [{"severity": "information", "code": "informational", "diagnostics": t} for t in texts]
    return {"resourceType": "OperationOutcome", "issue": issues or [
        {"severity": "information", "code": "informational", "diagnostics": "ok"}
    ]}  # fmt: skip


def respond(reply: Reply, prefer: str | None = None) -> Response:
    """A Reply as an HTTP response; ``Prefer: return=minimal`` drops the body of a write,
    ``Prefer: return=OperationOutcome`` answers :func:`outcome_of` instead. The codes of the
    notes are in ``X-NLP-Notes``."""
    if reply.notes:
        codes = [code_in(n) or "note" for n in reply.notes]
        reply.headers["X-NLP-Notes"] = ",".join(codes)
    wanted = (prefer or "").replace(" ", "")
    if "return=minimal" in wanted:
        return Response(status_code=reply.status, headers=reply.headers)
    if "return=OperationOutcome" in wanted and reply.status in (200, 201):
        return fhir_response(outcome_of(reply), reply.status, reply.headers)
    if reply.body is None:
        return Response(status_code=reply.status, headers=reply.headers)
    return fhir_response(reply.body, reply.status, reply.headers, media_type=reply.media_type)


def _query(request: Request) -> list[tuple[str, str]]:
    return list(request.query_params.multi_items())


@router.post("/", summary="transaction or batch Bundle")
def bundle(ctx: CtxDep, body: BodyDep) -> Response:
    return respond(process_bundle(ctx, body))


@router.get("/DocumentReference/{resource_id}/$nlp", summary="stored NLP result (Comprehend JSON)")
def nlp(ctx: CtxDep, resource_id: str) -> Response:
    return respond(ix.nlp_result(ctx, resource_id))


@router.get("/{resource_type}", summary="search")
def search(ctx: CtxDep, request: Request, resource_type: str) -> Response:
    return respond(ix.search(ctx, resource_type, _query(request)))


@router.post("/{resource_type}/_search", summary="search (form-encoded body)")
def search_post(ctx: CtxDep, request: Request, resource_type: str, raw: RawBodyDep) -> Response:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if raw.strip() and content_type not in ("application/x-www-form-urlencoded", ""):
        raise FhirError("NLP415", "POST _search takes application/x-www-form-urlencoded")
    try:
        form = parse_qsl(raw.decode("utf-8"), keep_blank_values=True) if raw else []
    except UnicodeDecodeError:
        raise FhirError("NLP400", "the form body is not UTF-8") from None
    return respond(ix.search(ctx, resource_type, [*_query(request), *form]))


@router.post("/{resource_type}", summary="create")
def create(
    ctx: CtxDep,
    resource_type: str,
    body: BodyDep,
    if_none_exist: Annotated[str | None, Header()] = None,
    prefer: PreferHeader = None,
) -> Response:
    reply = ix.create(ctx, resource_type, body, if_none_exist=if_none_exist)
    return respond(reply, prefer)


@router.put("/{resource_type}", summary="conditional update")
def conditional_update(
    ctx: CtxDep, request: Request, resource_type: str, body: BodyDep, prefer: PreferHeader = None
) -> Response:
    items = _query(request)
    if not items:
        raise FhirError("NLP400", "PUT on a type needs search criteria (or use /{type}/{id})")
    return respond(ix.conditional_update(ctx, resource_type, items, body), prefer)


@router.put("/{resource_type}/{resource_id}", summary="update (or create with this id)")
def update(
    ctx: CtxDep,
    resource_type: str,
    resource_id: str,
    body: BodyDep,
    if_match: Annotated[str | None, Header()] = None,
    prefer: PreferHeader = None,
) -> Response:
    version = ix.parse_if_match(if_match)
    return respond(ix.update(ctx, resource_type, resource_id, body, if_match=version), prefer)


@router.delete("/{resource_type}/{resource_id}", summary="delete (and what it generated)")
def delete(ctx: CtxDep, resource_type: str, resource_id: str) -> Response:
    return respond(ix.delete(ctx, resource_type, resource_id))


@router.get("/{resource_type}/{resource_id}", summary="read")
def read(ctx: CtxDep, resource_type: str, resource_id: str) -> Response:
    return respond(ix.read(ctx, resource_type, resource_id))


@router.get("/{resource_type}/{resource_id}/_history", summary="instance history")
def history(ctx: CtxDep, request: Request, resource_type: str, resource_id: str) -> Response:
    return respond(ix.history(ctx, resource_type, resource_id, _query(request)))


@router.get("/{resource_type}/{resource_id}/_history/{version_id}", summary="vread")
def vread(ctx: CtxDep, resource_type: str, resource_id: str, version_id: str) -> Response:
    return respond(ix.vread(ctx, resource_type, resource_id, version_id))
