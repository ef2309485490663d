"""Exceptions -> OperationOutcome JSON + HTTP status; ``install(app)`` registers the handlers.

Every error body is an OperationOutcome whose ``diagnostics`` starts with a stable code
(``[NLP404] ...``). Unknown exceptions give ``[NLP500]`` and log only the exception class, the
route template and the method: never the message, body or query (they may carry PHI, D14).
"""

from __future__ import annotations

import json
import logging
import re
import time
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.search import SearchError
from api.settings import SettingsError
from api.store.codec import json_default
from enrich.core import EnrichError
from enrich.fhir import FhirValidationError
from nlp.base import EngineError
from nlp.codes import CodedError, code_in, status_of

log = logging.getLogger(__name__)

FHIR_JSON = "application/fhir+json"

_ISSUE_CODES = {
    400: "invalid",
    401: "login",
    403: "forbidden",
    404: "not-found",
    405: "not-supported",
    409: "conflict",
    410: "deleted",
    412: "conflict",
    413: "too-long",
    415: "not-supported",
    422: "processing",
    500: "exception",
    502: "transient",
    503: "transient",
}


class FhirError(CodedError):
    """An error the FHIR API reports as an OperationOutcome; the status is the code's
    (``nlp.codes``).

    Args:
        code: registered code such as ``NLP404``.
        message: human text (no PHI).
        issue_code: FHIR ``IssueType`` (default: derived from the status).
        headers: extra response headers (``WWW-Authenticate``, ``Retry-After``).
    """

    def __init__(
        self,
        code: str,
        message: str,
        *,
        issue_code: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message, code=code)
        self.message = message
        self.issue_code = issue_code or _ISSUE_CODES.get(self.status, "processing")
        self.headers = headers or {}


def operation_outcome(
    message: str, *, severity: str = "error", code: str = "invalid"
) -> dict[str, Any]:
    """An OperationOutcome with one issue (``message`` starts with ``[NLPxxx]``)."""
    return {
        "resourceType": "OperationOutcome",
        "issue": [
            {
                "severity": severity,
                "code": code,
                "details": {"text": message},
                "diagnostics": message,
            }
        ],
    }


def fhir_response(
    body: dict[str, Any] | None,
    status: int = 200,
    headers: dict[str, str] | None = None,
    *,
    media_type: str = FHIR_JSON,
) -> Response:
    """A ``application/fhir+json`` response (no body for ``None``), as :func:`response_json`."""
    content = b"" if body is None else response_json(body)
    return Response(content=content, status_code=status, headers=headers, media_type=media_type)


def response_json(body: Any) -> bytes:
    """A response body as compact UTF-8 JSON: orjson (a search page's unparsed bodies spliced
    as stored, ``api.store.codec``), or ``json`` for what orjson refuses (integers beyond 64
    bits, keys that are not strings), compact too.

    >>> response_json({"a": [1, 0.5, "é"]}).decode(), response_json({"n": 2**70}).decode()
    ('{"a":[1,0.5,"é"]}', '{"n":1180591620717411303424}')
    """
    try:
        return orjson.dumps(body, default=json_default, option=orjson.OPT_PASSTHROUGH_SUBCLASS)
    except (orjson.JSONEncodeError, TypeError):
        return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def outcome_response(
    status: int,
    message: str,
    *,
    issue_code: str | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    """An OperationOutcome response (``message`` already starts with its code)."""
    severity = "fatal" if status >= 500 else "error"
    body = operation_outcome(
        message, severity=severity, code=issue_code or _ISSUE_CODES.get(status, "processing")
    )
    return fhir_response(body, status, headers)


def to_fhir_error(exc: Exception) -> FhirError:
    """Map a known exception to a FhirError with its registered status (unknown: ``[NLP500]``).

    Every error of the service carries a code: the layers' own (``CodedError``: engines,
    stores, the application service), FHIR validation (``[NLP210]``), enrichment
    (``[NLP2xx]``), search (``[NLP40x]``) and settings (``[NLP9xx]``) messages.
    """
    if isinstance(exc, FhirError):
        return exc
    if isinstance(exc, FhirValidationError):
        return FhirError(exc.code, _strip(str(exc)), issue_code="structure")
    if isinstance(exc, EnrichError):
        return FhirError(exc.code, _strip(str(exc)))
    if isinstance(exc, EngineError) and exc.transient:
        return FhirError(exc.code, _strip(str(exc)), headers={"Retry-After": "5"})
    if isinstance(exc, CodedError):
        return FhirError(exc.code, _strip(str(exc)))
    if isinstance(exc, SearchError):
        return FhirError(code_in(str(exc)) or "NLP402", _strip(str(exc)))
    if isinstance(exc, SettingsError):
        return FhirError(code_in(str(exc)) or "NLP900", _strip(str(exc)))
    return FhirError("NLP500", "internal error (logged without details)")


def _strip(text: str) -> str:
    return re.sub(r"^\[NLP\d{3}\]", "", text).strip()


def error_response(exc: Exception) -> Response:
    """The OperationOutcome response of any exception."""
    err = to_fhir_error(exc)
    return outcome_response(err.status, str(err), issue_code=err.issue_code, headers=err.headers)


def _route(request: Request) -> str:
    route = request.scope.get("route")
    return str(getattr(route, "path", "?"))


def install(app: FastAPI) -> None:
    """Register the exception handlers on ``app``."""

    async def on_known(request: Request, exc: Exception) -> Response:
        err = to_fhir_error(exc)
        if err.status >= 500:
            log.warning(
                "request failed: %s %s -> %s %s",
                request.method,
                _route(request),
                err.status,
                err.code,
            )
        return error_response(err)

    async def on_validation(request: Request, exc: Exception) -> Response:  # noqa: ARG001
        fields = []
        if isinstance(exc, RequestValidationError):
            fields = [".".join(str(p) for p in e.get("loc", ())) for e in exc.errors()[:5]]
        return outcome_response(400, f"[NLP400] invalid request: {', '.join(fields) or 'input'}")

    async def on_http(request: Request, exc: Exception) -> Response:  # noqa: ARG001
        status = exc.status_code if isinstance(exc, StarletteHTTPException) else 500
        messages = {
            404: "[NLP404] no such endpoint",
            405: "[NLP405] method not allowed here",
        }
        code = f"NLP{status}" if status_of(f"NLP{status}") == status else "NLP500"
        message = messages.get(status, f"[{code}] request failed")
        headers = getattr(exc, "headers", None)
        return outcome_response(status, message, headers=dict(headers) if headers else None)

    for known in (CodedError, SearchError, FhirValidationError, EnrichError, SettingsError):
        app.add_exception_handler(known, on_known)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_middleware(CatchAllMiddleware)


def log_unexpected(exc: BaseException, method: str, route: str) -> None:
    """Log an unhandled exception: class, innermost frame, method, route; never its message."""
    tb = exc.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    where = f"{tb.tb_frame.f_code.co_filename}:{tb.tb_lineno}" if tb else "?"
    log.error("unhandled %s at %s during %s %s", type(exc).__name__, where, method, route)


class CatchAllMiddleware:
    """Logs one line per request (method, route template, status, ms: no query string, which
    may carry PHI), counts it in ``app.state.metrics`` (``api.observability.Metrics``), and
    turns any unhandled exception into ``[NLP500]`` without re-raising."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        began = time.perf_counter()
        status: int | None = None

        async def tracking_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as exc:
            log_unexpected(exc, str(scope.get("method")), _scope_route(scope))
            if status is None:
                status = 500
                await error_response(exc)(scope, receive, send)
        finally:
            seconds = time.perf_counter() - began
            route = _scope_route(scope)
            log.info("%s %s %s %.1f ms", scope.get("method"), route, status, seconds * 1000)
            metrics = getattr(getattr(scope.get("app"), "state", None), "metrics", None)
            if metrics is not None:
                metrics.observe_request(str(scope.get("method")), route, status or 0, seconds)


def _scope_route(scope: Scope) -> str:
    return str(getattr(scope.get("route"), "path", "?"))
