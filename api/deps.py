"""FastAPI dependencies: ``Annotated[..., Depends(...)]`` aliases on ``app.state``, auth, body."""

from __future__ import annotations

import hmac
import json
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Depends, Request

from api.clock import Clock
from api.errors import FhirError
from api.intake.queue import IntakeQueue
from api.interactions import Ctx
from api.service import DocumentService
from api.settings import Settings
from api.store.base import NlpIndex, ServiceStore
from enrich.policy import EnrichmentPolicy
from nlp.base import NlpEngine

MAX_BODY_BYTES = 32 * 1024 * 1024
_JSON_TYPES = ("application/fhir+json", "application/json", "application/json+fhir")


def _state(name: str) -> Callable[[Request], Any]:
    """A dependency returning ``app.state.<name>`` (503 while the lifespan has not built it)."""

    def dependency(request: Request) -> Any:
        value = getattr(request.app.state, name, None)
        if value is None:
            raise FhirError("NLP503", "the service is starting or stopping", issue_code="transient")
        return value

    dependency.__name__ = f"get_{name}"
    return dependency


SettingsDep = Annotated[Settings, Depends(_state("settings"))]
StoreDep = Annotated[ServiceStore, Depends(_state("store"))]
IndexDep = Annotated[NlpIndex, Depends(_state("index"))]
EngineDep = Annotated[NlpEngine, Depends(_state("engine"))]
PolicyDep = Annotated[EnrichmentPolicy, Depends(_state("policy"))]
ClockDep = Annotated[Clock, Depends(_state("clock"))]
DocumentsDep = Annotated[DocumentService, Depends(_state("documents"))]
IntakeDep = Annotated[IntakeQueue, Depends(_state("intake"))]


def base_url(request: Request, settings: Settings) -> str:
    """The public base URL: ``settings.base_url`` or the request's own."""
    return (settings.base_url or str(request.base_url)).rstrip("/")


def get_ctx(
    request: Request,
    settings: SettingsDep,
    store: StoreDep,
    index: IndexDep,
    documents: DocumentsDep,
) -> Ctx:
    """Everything an interaction needs."""
    return Ctx(store, index, documents, settings, base_url(request, settings))


CtxDep = Annotated[Ctx, Depends(get_ctx)]


def require_token(request: Request, settings: SettingsDep) -> None:
    """Bearer check on the FHIR API when ``api_tokens`` are configured (D15).

    Raises:
        FhirError: ``[NLP401]`` missing or unknown token.
    """
    if not settings.api_tokens:
        return
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() == "bearer" and token:
        for known in settings.api_tokens:
            if hmac.compare_digest(token.encode(), known.encode()):
                return
    raise FhirError(
        "NLP401",
        "a valid bearer token is required",
        issue_code="login",
        headers={"WWW-Authenticate": 'Bearer realm="docref-nlp"'},
    )


async def raw_body(request: Request) -> bytes:
    """The request body (at most ``MAX_BODY_BYTES``)."""
    length = request.headers.get("content-length")
    if length and length.isdigit() and int(length) > MAX_BODY_BYTES:
        raise FhirError("NLP413", f"body larger than {MAX_BODY_BYTES} bytes")
    body = await request.body()
    if len(body) > MAX_BODY_BYTES:
        raise FhirError("NLP413", f"body larger than {MAX_BODY_BYTES} bytes")
    return body


async def json_body(request: Request) -> Any:
    """The body parsed as JSON (``application/fhir+json`` or ``application/json``).

    Raises:
        FhirError: ``[NLP415]`` other media type, ``[NLP400]`` empty or invalid JSON.
    """
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type and content_type not in _JSON_TYPES:
        raise FhirError("NLP415", "send application/fhir+json")
    body = await raw_body(request)
    if not body.strip():
        raise FhirError("NLP400", "the request has no body")
    try:
        return json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        raise FhirError("NLP400", "the body is not valid JSON") from None


BodyDep = Annotated[Any, Depends(json_body)]
RawBodyDep = Annotated[bytes, Depends(raw_body)]
