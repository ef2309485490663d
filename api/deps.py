"""FastAPI dependencies: ``Annotated[..., Depends(...)]`` aliases on ``app.state``, auth, body.

They are ``async`` because they never block: FastAPI runs a plain ``def`` dependency in its
thread pool, a hop per dependency and request (about 1 ms of a read by id was spent so).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Iterable
from typing import Annotated, Any

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from api.clock import Clock
from api.errors import FhirError
from api.intake.queue import IntakeQueue
from api.interactions import Ctx
from api.jsonbody import parse_json
from api.service import DocumentService
from api.settings import Settings
from api.store.base import NlpIndex, ServiceStore
from enrich.policy import EnrichmentPolicy
from nlp.base import NlpEngine

_JSON_TYPES = ("application/fhir+json", "application/json", "application/json+fhir")


def _state(name: str) -> Callable[[Request], Any]:
    """A dependency returning ``app.state.<name>`` (503 while the lifespan has not built it)."""

    async def dependency(request: Request) -> Any:
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


async def get_ctx(
    request: Request,
    settings: SettingsDep,
    store: StoreDep,
    index: IndexDep,
    documents: DocumentsDep,
) -> Ctx:
    """Everything an interaction needs."""
    return Ctx(store, index, documents, settings, base_url(request, settings))


CtxDep = Annotated[Ctx, Depends(get_ctx)]


async def require_token(request: Request, settings: SettingsDep) -> None:
    """Bearer check on the FHIR API when ``api_tokens`` are configured (D15).

    Raises:
        FhirError: ``[NLP401]`` missing or unknown token.
    """
    if not settings.api_tokens:
        return
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer" and secret_matches(token.strip(), settings.api_tokens):
        return
    raise FhirError(
        "NLP401",
        "a valid bearer token is required",
        issue_code="login",
        headers={"WWW-Authenticate": 'Bearer realm="docref-nlp"'},
    )


def secret_matches(given: str, known: Iterable[str]) -> bool:
    """Whether ``given`` is one of ``known``, in constant time: SHA-256 digests of equal length
    are compared, and every known secret is compared (no early exit tells which one matched).

    >>> secret_matches("a" * 16, ["b" * 16, "a" * 16]), secret_matches("", ["b" * 16])
    (True, False)
    """
    if not given:
        return False
    digest = hashlib.sha256(given.encode("utf-8", "surrogatepass")).digest()
    found = False
    for secret in known:
        expected = hashlib.sha256(secret.encode("utf-8", "surrogatepass")).digest()
        found |= hmac.compare_digest(digest, expected)
    return found


def _max_body(request: Request) -> int:
    settings = getattr(request.app.state, "settings", None)
    limit = getattr(settings, "max_body_bytes", None)
    return int(limit) if isinstance(limit, int) else Settings().max_body_bytes


async def raw_body(request: Request) -> bytes:
    """The request body, read as it streams in and refused (``[NLP413]``) as soon as it
    exceeds ``settings.max_body_bytes``: a declared or a chunked body alike."""
    limit = _max_body(request)
    too_large = FhirError("NLP413", f"body larger than {limit} bytes (DOCREF_NLP_MAX_BODY_BYTES)")
    length = request.headers.get("content-length")
    if length and length.isdigit() and int(length) > limit:
        raise too_large
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_large
        chunks.append(chunk)
    return b"".join(chunks)


def max_json_depth(request: Request) -> int:
    """``settings.max_json_depth`` of the running app."""
    settings = getattr(request.app.state, "settings", None)
    depth = getattr(settings, "max_json_depth", None)
    return int(depth) if isinstance(depth, int) else Settings().max_json_depth


async def json_body(request: Request) -> Any:
    """The body parsed as JSON (``application/fhir+json`` or ``application/json``), in a worker
    thread (a large body does not hold the event loop; the nesting limit does not depend on
    the depth of the server's own stack).

    Raises:
        FhirError: ``[NLP415]`` other media type, ``[NLP400]`` empty body.
        api.jsonbody.JsonBodyError: ``[NLP400]`` invalid JSON, too deep, unreadable numbers.
    """
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type and content_type not in _JSON_TYPES:
        raise FhirError("NLP415", "send application/fhir+json")
    body = await raw_body(request)
    if not body.strip():
        raise FhirError("NLP400", "the request has no body")
    return await run_in_threadpool(parse_json, body, max_depth=max_json_depth(request))


BodyDep = Annotated[Any, Depends(json_body)]
RawBodyDep = Annotated[bytes, Depends(raw_body)]
