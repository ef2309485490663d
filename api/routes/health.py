"""Liveness, readiness and Prometheus metrics: ``GET /livez``, ``/readyz``, ``/metrics``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response

from api.deps import require_token
from api.errors import outcome_response
from api.observability import CONTENT_TYPE

router = APIRouter(tags=["health"])


@router.get("/livez", summary="liveness: the process answers")
async def livez() -> dict[str, str]:
    """200 while the process serves requests (no database call: a slow database must not get
    the process restarted)."""
    return {"status": "ok"}


@router.get("/readyz", summary="readiness: services built, database reachable, workers alive")
def readyz(request: Request) -> Response:
    """200 when the service can take traffic: built (not starting or stopping), its database
    answers, and the configured intake workers run; else 503 with the failed check."""
    state = request.app.state
    services = getattr(state, "services", None)
    checks: dict[str, Any] = {"started": services is not None}
    if services is not None:
        try:
            with services.db.read() as conn:
                conn.execute("SELECT 1").fetchone()
            checks["database"] = True
        except Exception:
            checks["database"] = False
        workers = getattr(state, "workers", None)
        wanted = services.settings.intake_workers
        checks["workers"] = wanted == 0 or (workers is not None and workers.alive == wanted)
    if all(checks.values()):
        return JSONResponse({"status": "ready", "checks": checks})
    failed = ", ".join(name for name, ok in checks.items() if not ok)
    return outcome_response(503, f"[NLP503] not ready: {failed}", issue_code="transient")


@router.get("/metrics", summary="Prometheus metrics", dependencies=[Depends(require_token)])
def metrics(request: Request) -> Response:
    """The Prometheus exposition text (requests, latency, queue, documents, engine, upstream);
    behind the API token when tokens are configured."""
    registry = getattr(request.app.state, "metrics", None)
    if registry is None:
        return outcome_response(503, "[NLP503] the service is starting or stopping")
    return Response(registry.render(), media_type=CONTENT_TYPE)
