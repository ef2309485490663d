"""Webhook notifications: R4 rest-hook bodies and R5 Backport notification Bundles -> notices.

``receive`` parses a body and persists what it names in the intake queue (one committed
transaction) and tells what became of it; the route only checks the secret and answers.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from typing import Any

from api.intake.queue import IntakeQueue, Notice
from api.jsonbody import JsonBodyError, nesting_depth, parse_json
from nlp.codes import CodedError

log = logging.getLogger(__name__)

TARGET = "DocumentReference"
#: Deepest DocumentReference the intake queues (the service refuses deeper ones anyway:
#: ``api.service.MAX_DEPTH``); refused at the door, it never becomes a dead letter.
MAX_RESOURCE_DEPTH = 64
#: The most entries one notification Bundle may carry (real ones carry one to a few hundred).
MAX_ENTRIES = 10_000
_NOTIFICATION_BUNDLE_TYPES = frozenset({"history", "subscription-notification"})
_IGNORED_EVENTS = frozenset({"handshake", "heartbeat", "query-status", "query-event"})
_ID = re.compile(r"[A-Za-z0-9\-.]{1,64}")
_REF = re.compile(
    r"(?:^|/)(?P<type>[A-Z][A-Za-z]+)/(?P<id>[A-Za-z0-9\-.]{1,64})"
    r"(?:/_history/(?P<vid>[A-Za-z0-9\-.]{1,64}))?/?(?:[?#].*)?$"
)


class NotificationError(CodedError):
    """A webhook body we cannot use (``[NLP601]``..``[NLP603]``: answered 400)."""

    code = "NLP601"


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
        raise NotificationError(f"notified {TARGET} has no id", code="NLP602")
    if not _ID.fullmatch(rid):
        raise NotificationError(f"notified {TARGET} has an invalid id", code="NLP602")
    if nesting_depth(resource) > MAX_RESOURCE_DEPTH:
        raise NotificationError(
            f"notified {TARGET} is nested deeper than {MAX_RESOURCE_DEPTH} levels", code="NLP601"
        )
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
        raise NotificationError("webhook body is not a FHIR resource", code="NLP601")
    rtype = body["resourceType"]
    if rtype == TARGET:
        return Parsed("resource", [_full_notice(body, "rest-hook")])
    if rtype != "Bundle":
        return Parsed("resource", ignored=1)
    raw_entries = body.get("entry") or []
    if not isinstance(raw_entries, list):
        raise NotificationError("Bundle.entry must be a list", code="NLP603")
    if len(raw_entries) > MAX_ENTRIES:
        message = f"more than {MAX_ENTRIES} entries in one notification"
        raise NotificationError(message, code="NLP603")
    entries = [e for e in raw_entries if isinstance(e, dict)]
    status = (entries[0].get("resource") or {}) if entries else {}
    if body.get("type") not in _NOTIFICATION_BUNDLE_TYPES or status.get("resourceType") not in (
        "Parameters",
        "SubscriptionStatus",
    ):
        raise NotificationError(
            "Bundle is not a subscription notification (type history or "
            "subscription-notification with a SubscriptionStatus first)",
            code="NLP603",
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


def receive(
    queue: IntakeQueue, body: bytes, *, max_depth: int = 1_000
) -> tuple[int, dict[str, Any]]:
    """Parse a webhook body, persist its notices (fsync'd commit), summarise: ``(status, body)``.

    202 when something new was queued; 200 when nothing was (heartbeat, handshake, duplicates).

    Raises:
        NotificationError: an unusable body (``[NLP601]`` not JSON or not FHIR, nested deeper
            than ``max_depth``, ...).
    """
    try:
        data = parse_json(body, max_depth=max_depth) if body.strip() else None
    except JsonBodyError as exc:
        reason = str(exc).removeprefix("[NLP400] ")
        raise NotificationError(f"webhook body refused: {reason}", code="NLP601") from None
    parsed = parse_notification(data)
    if not parsed.notices:
        log.info(
            "webhook: %s acknowledged, nothing queued (%d ignored)", parsed.kind, parsed.ignored
        )
        return 200, {"status": "ignored", "kind": parsed.kind, "accepted": 0, "duplicates": 0,
                     "ignored": parsed.ignored}  # fmt: skip
    result = queue.enqueue(parsed.notices)
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
    return (202 if result.accepted else 200), summary
