"""POST /webhook: check the shared secret, hand the body to the durable intake, answer."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from api.deps import IntakeDep, SettingsDep, raw_body, secret_matches
from api.errors import FhirError
from api.intake.notifications import receive

router = APIRouter(tags=["webhook"])

SECRET_HEADER = "X-Webhook-Secret"


def secret_ok(request: Request, secret: str | None) -> bool:
    """The shared secret (``X-Webhook-Secret: s`` or ``Authorization: Bearer s``) matches.

    No secret configured means no check: settings refuse to bind beyond loopback without one.
    """
    if not secret:
        return True
    given = request.headers.get(SECRET_HEADER)
    if given is None:
        auth = request.headers.get("Authorization", "")
        given = auth[7:] if auth[:7].lower() == "bearer " else None
    return given is not None and secret_matches(given, (secret,))


@router.post("/webhook", status_code=202)
async def webhook(request: Request, settings: SettingsDep, queue: IntakeDep) -> JSONResponse:
    """Accept a notification: persist it (fsync'd commit), then answer 202 with a summary.

    Answers 200 when nothing new was queued (heartbeat, handshake, duplicates), 400 for an
    unusable body, 401 for a missing or wrong shared secret. The blocking part (parse,
    database commit) runs in the threadpool (``api.intake.notifications.receive``).
    """
    if not settings.webhook_secret and not settings.is_loopback:
        # D15: beyond loopback the webhook only works with a shared secret (defence in depth:
        # Settings.check_exposure already refuses to start so).
        message = "webhook disabled: set DOCREF_NLP_WEBHOOK_SECRET"
        raise FhirError("NLP605", message, issue_code="security")
    if not secret_ok(request, settings.webhook_secret):
        raise FhirError("NLP604", "webhook shared secret missing or wrong", issue_code="login")
    body = await raw_body(request)  # 413 beyond settings.max_body_bytes
    status, summary = await run_in_threadpool(
        receive, queue, body, max_depth=settings.max_json_depth
    )
    return JSONResponse(summary, status_code=status)
