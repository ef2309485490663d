"""The annotated-note viewer under ``/ui/``: documents, document page, playground, compare.

``install(app)`` includes the router and the two exception handlers of its pages (error pages
and the login redirect). Include it before the FHIR router: ``/{resource_type}`` would match.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import Response

from api.ui.auth import login_redirect
from api.ui.render import LoginRequired, UiError, error_page
from api.ui.routes import router


async def _on_viewer_exception(request: Request, exc: Exception) -> Response:
    if isinstance(exc, LoginRequired):
        return login_redirect(exc)
    return error_page(request, exc)


def install(app: FastAPI) -> None:
    """Add the viewer to ``app``."""
    app.include_router(router)
    app.add_exception_handler(UiError, _on_viewer_exception)
    app.add_exception_handler(LoginRequired, _on_viewer_exception)


__all__ = ["install", "router"]
