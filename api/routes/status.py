"""GET /status: intake queue depth, lag, failures, dead letters and throughput."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request

from api.deps import IntakeDep, SettingsDep, require_token

# Same bearer check as the FHIR API when api_tokens are configured (D15).
router = APIRouter(tags=["status"], dependencies=[Depends(require_token)])


@router.get("/status")
def status(request: Request, settings: SettingsDep, queue: IntakeDep) -> dict[str, Any]:
    """Service and intake health (counts and timings only; no resource content)."""
    state = request.app.state
    engine = getattr(state, "engine", None)
    workers = getattr(state, "workers", None)
    return {
        "status": "ok",
        "engine": {
            "name": getattr(engine, "name", None),
            "version": getattr(engine, "version", None),
        },
        "upstream": settings.upstream,
        "workers": {
            "configured": settings.intake_workers,
            "alive": workers.alive if workers is not None else 0,
        },
        **queue.status(),
    }


@router.get("/status/dead-letters")
def dead_letters(queue: IntakeDep, limit: int = 50) -> dict[str, Any]:
    """The most recent dead-lettered notifications (reference, attempts, coded error)."""
    return {"dead_letters": queue.dead_letters(max(1, min(limit, 500)))}
