"""HTML responses of the viewer: Jinja2 (autoescaped), security headers, static files, errors."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2
from fastapi import Request
from fastapi.responses import FileResponse, HTMLResponse, Response

from api.search_values import SearchError
from api.store.base import StoreError
from enrich.fhir import FhirValidationError
from nlp.base import EngineError
from nlp.codes import CodedError

HERE = Path(__file__).resolve().parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"

#: No inline script or style, nothing from another origin, forms post to us only.
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    # pages hold note text (PHI): never cached
    "Cache-Control": "no-store",
}
_STATIC_TYPES = {
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".svg": "image/svg+xml",
}
_STATIC_NAME = re.compile(r"^[a-z0-9][a-z0-9.-]{0,60}$")


class UiError(Exception):
    """An error page: HTTP status and ``[NLPxxx] message`` (never note text)."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"[{code}] {message}")
        self.status = status
        self.code = code


class LoginRequired(Exception):  # noqa: N818
    """Redirect to the login page (tokens are configured and none was presented)."""

    def __init__(self, next_path: str) -> None:
        super().__init__("login required")
        self.next_path = next_path


def secure(response: Response) -> Response:
    """Add the viewer's security headers."""
    for name, value in SECURITY_HEADERS.items():
        response.headers[name] = value
    return response


def _score(value: Any) -> str:
    return "–" if value is None else f"{float(value):.3f}"


def _pretty(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=False)


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    """The template environment: autoescape everywhere, undefined names are errors."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["score"] = _score
    env.filters["pretty"] = _pretty
    return env


def page(request: Request, template: str, *, status: int = 200, **context: Any) -> Response:
    """Render ``template`` with ``context`` as a secured HTML response."""
    html = (
        environment()
        .get_template(template)
        .render(
            path=request.url.path,
            signed_in=bool(getattr(request.state, "ui_signed_in", False)),
            **context,
        )
    )
    return secure(HTMLResponse(html, status_code=status))


def json_page(value: Any, media_type: str = "application/json") -> Response:
    """A JSON document (FHIR resource, NLP result) with the security headers."""
    body = json.dumps(value, indent=2, ensure_ascii=False)
    return secure(Response(body, media_type=media_type))


def static_file(name: str) -> Response:
    """A file of ``static/`` (CSS, JS); anything else is 404."""
    path = STATIC / name
    media_type = _STATIC_TYPES.get(path.suffix)
    if not _STATIC_NAME.match(name) or media_type is None or not path.is_file():
        raise UiError(404, "NLP803", "no such file")
    response = FileResponse(path, media_type=media_type)
    return secure(response)


def error_page(request: Request, exc: Exception) -> Response:
    """The error page of a ``UiError``."""
    status = exc.status if isinstance(exc, UiError) else 500
    return page(request, "error.html", status=status, message=str(exc), http_status=status)


@contextmanager
def ui_errors() -> Iterator[None]:
    """Turn the service's coded errors into error pages (no note text in any message)."""
    try:
        yield
    except SearchError as exc:
        raise UiError(400, "NLP402", str(exc).split("] ", 1)[-1]) from exc
    except FhirValidationError as exc:
        raise UiError(400, exc.code, str(exc).split("] ", 1)[-1]) from exc
    except EngineError as exc:
        status = 503 if exc.transient else 502
        raise UiError(status, exc.code, str(exc).split("] ", 1)[-1]) from exc
    except StoreError as exc:
        raise UiError(502, exc.code or "NLP502", "the store failed") from exc
    except CodedError as exc:  # the API's and the application service's (FhirError, ...)
        raise UiError(exc.status, exc.code, str(exc).split("] ", 1)[-1]) from exc
