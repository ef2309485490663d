"""POST /webhook: R4 rest-hook bodies and R5 Backport notification Bundles -> durable intake."""

from __future__ import annotations

import hmac
import json
import logging
import re
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from api.deps import raw_body
from api.intake import IntakeQueue, Notice

log = logging.getLogger(__name__)

router = APIRouter(tags=["webhook"])

TARGET = "DocumentReference"
SECRET_HEADER = "X-Webhook-Secret"
_NOTIFICATION_BUNDLE_TYPES = frozenset({"history", "subscription-notification"})
_IGNORED_EVENTS = frozenset({"handshake", "heartbeat", "query-status", "query-event"})
_REF = re.compile(
    r"(?:^|/)(?P<type>[A-Z][A-Za-z]+)/(?P<id>[A-Za-z0-9\-.]{1,64})"
    r"(?:/_history/(?P<vid>[A-Za-z0-9\-.]{1,64}))?/?(?:[?#].*)?$"
)


class NotificationError(ValueError):
    """A webhook body we cannot use; the message is coded (``[NLP6xx]``)."""


@dataclass
class Parsed:
    """A notification reduced to what the queue needs.

    Attributes:
        kind: ``event`` | ``heartbeat`` | ``handshake`` | ``query-status`` | ``query-event``
            | ``ping`` (empty rest-hook body) | ``resource`` (R4 rest-hook with the resource).
        notices: DocumentReferences to process (full or id-only), de-duplicated within the body.
        ignored: Entries naming other resource types.
    """

    kind: str
    notices: list[Notice] = field(default_factory=list)
    ignored: int = 0


def parse_reference(url: str) -> tuple[str, str, str | None] | None:
    """``(type, id, versionId)`` of a literal reference or URL, or ``None``.

    >>> parse_reference("http://fhir.example/r4/DocumentReference/abc/_history/3")
    ('DocumentReference', 'abc', '3')
    >>> parse_reference("DocumentReference/abc")
    ('DocumentReference', 'abc', None)
    >>> parse_reference("urn:uuid:1234") is None
    True
    """
    m = _REF.search(url)
    return (m["type"], m["id"], m["vid"]) if m else None


def _status_type(status: dict[str, Any]) -> str | None:
    if status.get("resourceType") == "SubscriptionStatus":
        value = status.get("type")
        return str(value) if value else None
    for p in status.get("parameter") or []:
        if isinstance(p, dict) and p.get("name") == "type":
            value = p.get("valueCode")
            return str(value) if value else None
    return None


def _focus_references(status: dict[str, Any]) -> list[str]:
    refs: list[str] = []
    if status.get("resourceType") == "SubscriptionStatus":
        for event in status.get("notificationEvent") or []:
            ref = ((event or {}).get("focus") or {}).get("reference")
            if isinstance(ref, str):
                refs.append(ref)
        return refs
    for p in status.get("parameter") or []:
        if isinstance(p, dict) and p.get("name") == "notification-event":
            for part in p.get("part") or []:
                if isinstance(part, dict) and part.get("name") == "focus":
                    ref = (part.get("valueReference") or {}).get("reference")
                    if isinstance(ref, str):
                        refs.append(ref)
    return refs


def _full_notice(resource: dict[str, Any], source: str) -> Notice:
    rid = resource.get("id")
    if not isinstance(rid, str) or not rid:
        raise NotificationError(f"[NLP602] notified {TARGET} has no id")
    version = (resource.get("meta") or {}).get("versionId")
    return Notice(TARGET, rid, str(version) if version else None, resource, source)


def parse_notification(body: Any) -> Parsed:
    """Classify a webhook body and list the DocumentReferences it names.

    Raises:
        NotificationError: ``NLP601`` not a FHIR resource, ``NLP602`` a resource without id,
            ``NLP603`` a Bundle that is not a subscription notification.
    """
    if body is None or body == {} or body == "":
        return Parsed("ping")
    if not isinstance(body, dict) or not isinstance(body.get("resourceType"), str):
        raise NotificationError("[NLP601] webhook body is not a FHIR resource")
    rtype = body["resourceType"]
    if rtype == TARGET:
        return Parsed("resource", [_full_notice(body, "rest-hook")])
    if rtype != "Bundle":
        return Parsed("resource", ignored=1)
    entries = [e for e in body.get("entry") or [] if isinstance(e, dict)]
    status = (entries[0].get("resource") or {}) if entries else {}
    if body.get("type") not in _NOTIFICATION_BUNDLE_TYPES or status.get("resourceType") not in (
        "Parameters",
        "SubscriptionStatus",
    ):
        raise NotificationError(
            "[NLP603] Bundle is not a subscription notification (type history or "
            "subscription-notification with a SubscriptionStatus first)"
        )
    kind = _status_type(status) or "event-notification"
    if kind in _IGNORED_EVENTS:
        return Parsed(kind)
    parsed = Parsed("event")
    seen: set[tuple[str, str]] = set()
    for entry in entries[1:]:
        resource = entry.get("resource")
        if isinstance(resource, dict) and resource.get("resourceType"):
            if resource["resourceType"] != TARGET:
                parsed.ignored += 1
                continue
            notice = _full_notice(resource, "backport-full")
        else:
            url = entry.get("fullUrl") or (entry.get("request") or {}).get("url") or ""
            ref = parse_reference(str(url))
            if ref is None:
                parsed.ignored += 1
                continue
            if ref[0] != TARGET:
                parsed.ignored += 1
                continue
            notice = Notice(TARGET, ref[1], ref[2], None, "backport-id-only")
        if (notice.resource_type, notice.resource_id) not in seen:
            seen.add((notice.resource_type, notice.resource_id))
            parsed.notices.append(notice)
    for url in _focus_references(status):  # id-only payloads name the focus here too
        ref = parse_reference(url)
        if ref is None:
            continue
        if ref[0] != TARGET:
            parsed.ignored += 1
        elif (ref[0], ref[1]) not in seen:
            seen.add((ref[0], ref[1]))
            parsed.notices.append(Notice(TARGET, ref[1], ref[2], None, "backport-id-only"))
    return parsed


def outcome(status: int, code: str, message: str, issue: str = "invalid") -> JSONResponse:
    """An OperationOutcome response whose diagnostics start with the coded message."""
    text = message if message.startswith("[") else f"[{code}] {message}"
    body = {
        "resourceType": "OperationOutcome",
        "issue": [
            {"severity": "error", "code": issue, "diagnostics": text, "details": {"text": text}}
        ],
    }
    return JSONResponse(body, status_code=status, media_type="application/fhir+json")


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
    return given is not None and hmac.compare_digest(given.encode(), secret.encode())


def intake_of(request: Request) -> IntakeQueue:
    """The app's queue (built by ``api.workers.start``; built here when workers are off)."""
    state = request.app.state
    queue = getattr(state, "intake", None)
    if queue is None:
        queue = IntakeQueue(state.db, max_attempts=state.settings.intake_max_attempts)
        state.intake = queue
    return queue


@router.post("/webhook", status_code=202)
async def webhook(request: Request) -> JSONResponse:
    """Accept a notification: persist it (fsync'd commit), then answer 202 with a summary.

    Answers 200 when nothing new was queued (heartbeat, handshake, duplicates), 400 for an
    unusable body, 401 for a missing or wrong shared secret. The blocking part (parse,
    SQLite commit) runs in the threadpool.
    """
    settings = request.app.state.settings
    if not settings.webhook_secret and not settings.is_loopback:
        # D15: beyond loopback the webhook only works with a shared secret (defence in depth:
        # Settings.check_exposure already refuses to start so).
        return outcome(403, "NLP605", "webhook disabled: set DOCREF_NLP_WEBHOOK_SECRET", "security")
    if not secret_ok(request, settings.webhook_secret):
        return outcome(401, "NLP604", "webhook shared secret missing or wrong", "login")
    body_bytes = await raw_body(request)  # 413 beyond MAX_BODY_BYTES
    return await run_in_threadpool(_accept, request, body_bytes)


def _accept(request: Request, body_bytes: bytes) -> JSONResponse:
    try:
        body = json.loads(body_bytes) if body_bytes.strip() else None
    except (ValueError, UnicodeDecodeError):
        return outcome(400, "NLP601", "webhook body is not JSON")
    try:
        parsed = parse_notification(body)
    except NotificationError as exc:
        return outcome(400, "NLP601", str(exc))
    if not parsed.notices:
        log.info(
            "webhook: %s acknowledged, nothing queued (%d ignored)", parsed.kind, parsed.ignored
        )
        return JSONResponse(
            {"status": "ignored", "kind": parsed.kind, "accepted": 0, "duplicates": 0,
             "ignored": parsed.ignored},
            status_code=200,
        )  # fmt: skip
    result = intake_of(request).enqueue(parsed.notices)
    log.info(
        "webhook: %s, %d accepted, %d duplicate(s), %d ignored",
        parsed.kind,
        len(result.accepted),
        result.duplicates,
        parsed.ignored,
    )
    summary = {
        "status": "accepted" if result.accepted else "duplicate",
        "kind": parsed.kind,
        "accepted": len(result.accepted),
        "duplicates": result.duplicates,
        "revived": result.revived,
        "ignored": parsed.ignored,
        "queued": result.accepted,
    }
    return JSONResponse(summary, status_code=202 if result.accepted else 200)
