"""Transaction and batch Bundles posted to the base URL (``POST /``).

A transaction is all-or-nothing: its entries run inside one database transaction (each
enrichment is a savepoint) in FHIR order (DELETE, POST, PUT, GET); ``urn:uuid:`` references to
created entries are rewritten to the assigned ids. A batch runs each entry on its own and reports
errors per entry as OperationOutcomes.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from api import interactions as ix
from api.errors import FhirError, log_unexpected, to_fhir_error
from api.interactions import Ctx, Reply
from api.store.base import Resource

log = logging.getLogger(__name__)

_ORDER = {"DELETE": 0, "POST": 1, "PUT": 2, "PATCH": 2, "GET": 3, "HEAD": 3}
_REASONS = {200: "OK", 201: "Created", 204: "No Content"}


def _split_url(ctx: Ctx, url: str) -> tuple[list[str], list[tuple[str, str]]]:
    if ctx.base_url and url.startswith(ctx.base_url):
        url = url[len(ctx.base_url) :]
    parts = urlsplit(url)
    segments = [s for s in parts.path.split("/") if s]
    return segments, parse_qsl(parts.query, keep_blank_values=True)


def run_entry(ctx: Ctx, entry: Any, assigned: dict[str, str]) -> Reply:
    """One entry: dispatch on ``request.method`` and ``request.url``."""
    if not isinstance(entry, dict) or not isinstance(entry.get("request"), dict):
        raise FhirError("NLP400", "every entry needs a request")
    request = entry["request"]
    method = str(request.get("method", "")).upper()
    url = request.get("url")
    if not isinstance(url, str) or not url:
        raise FhirError("NLP400", "entry request without url")
    segments, items = _split_url(ctx, url)
    body = entry.get("resource")
    if not segments:
        raise FhirError("NLP400", "entry url names no resource type")
    rtype = segments[0]
    if method == "GET":
        if len(segments) == 1:
            return ix.search(ctx, rtype, items)
        if len(segments) == 2:
            return ix.read(ctx, rtype, segments[1])
        if len(segments) == 3 and segments[2] == "_history":
            return ix.history(ctx, rtype, segments[1], items)
        if len(segments) == 4 and segments[2] == "_history":
            return ix.vread(ctx, rtype, segments[1], segments[3])
    elif method == "POST" and len(segments) == 1:
        full_url = entry.get("fullUrl")
        return ix.create(
            ctx,
            rtype,
            body,
            if_none_exist=request.get("ifNoneExist"),
            assigned_id=assigned.get(full_url) if isinstance(full_url, str) else None,
        )
    elif method == "PUT":
        if len(segments) == 2:
            return ix.update(
                ctx, rtype, segments[1], body, if_match=ix.parse_if_match(request.get("ifMatch"))
            )
        if len(segments) == 1 and items:
            return ix.conditional_update(ctx, rtype, items, body)
    elif method == "DELETE" and len(segments) == 2:
        return ix.delete(ctx, rtype, segments[1])
    raise FhirError("NLP400", f"unsupported entry: {method} {'/'.join(segments[:1])}")


def _rewrite(node: Any, mapping: dict[str, str]) -> Any:
    """A copy of ``node`` with ``reference`` values found in ``mapping`` replaced (iterative:
    a deeply nested entry cannot exhaust the stack)."""
    root: list[Any] = [None]
    stack: list[tuple[Any, Any, Any]] = [(node, root, 0)]
    while stack:
        value, parent, key = stack.pop()
        if isinstance(value, dict):
            copy: dict[str, Any] = {}
            parent[key] = copy
            for name, child in value.items():
                if name == "reference" and isinstance(child, str) and child in mapping:
                    copy[name] = mapping[child]
                else:
                    stack.append((child, copy, name))
        elif isinstance(value, list):
            items: list[Any] = [None] * len(value)
            parent[key] = items
            stack.extend((child, items, i) for i, child in enumerate(value))
        else:
            parent[key] = value
    return root[0]


def _identity(ctx: Ctx, entry: Any) -> str | None:
    """The resource an entry writes (``Type/id`` of a PUT/DELETE/PATCH, the ``fullUrl`` of a
    POST), ``None`` for reads and conditional writes (checked once resolved)."""
    if not isinstance(entry, dict) or not isinstance(entry.get("request"), dict):
        return None
    method = str(entry["request"].get("method", "")).upper()
    url = entry["request"].get("url")
    if method == "POST":
        full_url = entry.get("fullUrl")
        return f"POST {full_url}" if isinstance(full_url, str) and full_url else None
    if method in ("PUT", "DELETE", "PATCH") and isinstance(url, str):
        segments, items = _split_url(ctx, url)
        if len(segments) == 2 and not items:
            return "/".join(segments)
    return None


def _written_identity(reply: Reply) -> str | None:
    body = reply.body
    if reply.status in (200, 201) and body and body.get("resourceType") and body.get("id"):
        return f"{body['resourceType']}/{body['id']}"
    return None


def _response_entry(ctx: Ctx, reply: Reply) -> Resource:
    status = f"{reply.status} {_REASONS.get(reply.status, '')}".strip()
    response: Resource = {"status": status}
    if "Location" in reply.headers:
        response["location"] = reply.headers["Location"].removeprefix(ctx.base_url + "/")
    if "ETag" in reply.headers:
        response["etag"] = reply.headers["ETag"]
    if "Last-Modified" in reply.headers:
        response["lastModified"] = reply.headers["Last-Modified"]
    entry: Resource = {}
    if reply.body is not None:
        body = reply.body
        if body.get("resourceType") and body.get("id"):
            entry["fullUrl"] = f"{ctx.base_url}/{body['resourceType']}/{body['id']}"
        entry["resource"] = body
    entry["response"] = response
    return entry


def process_bundle(ctx: Ctx, bundle: Any) -> Reply:
    """``POST /`` with a ``transaction`` or ``batch`` Bundle."""
    if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
        raise FhirError("NLP400", "POST to the base URL takes a Bundle")
    kind = bundle.get("type")
    if kind not in ("transaction", "batch"):
        raise FhirError("NLP400", "the Bundle type must be transaction or batch")
    entries = bundle.get("entry") or []
    if not isinstance(entries, list):
        raise FhirError("NLP400", "Bundle.entry must be a list")
    if kind == "batch":
        return Reply(200, _batch(ctx, entries))
    return Reply(200, _transaction(ctx, entries))


def _batch(ctx: Ctx, entries: list[Any]) -> Resource:
    out: list[Resource] = []
    for entry in entries:
        try:
            out.append(_response_entry(ctx, run_entry(ctx, entry, {})))
        except Exception as exc:
            err = to_fhir_error(exc)
            if err.status >= 500:  # the entry's failure is the service's: log it (no PHI)
                log_unexpected(exc, "POST", "/ (batch entry)")
            out.append(
                {
                    "response": {
                        "status": str(err.status),
                        "outcome": {
                            "resourceType": "OperationOutcome",
                            "issue": [
                                {
                                    "severity": "error",
                                    "code": err.issue_code,
                                    "diagnostics": str(err),
                                }
                            ],
                        },
                    }
                }
            )
    return {"resourceType": "Bundle", "type": "batch-response", "entry": out}


def _transaction(ctx: Ctx, entries: list[Any]) -> Resource:
    assigned: dict[str, str] = {}
    mapping: dict[str, str] = {}
    identities: set[str] = set()
    for entry in entries:
        if not isinstance(entry, dict):
            raise FhirError("NLP400", "every entry must be an object")
        identity = _identity(ctx, entry)
        if identity is not None:
            if identity in identities:
                raise FhirError("NLP400", f"the transaction names {identity} more than once")
            identities.add(identity)
        request = entry.get("request") or {}
        full_url = entry.get("fullUrl")
        resource = entry.get("resource")
        if (
            isinstance(request, dict)
            and str(request.get("method", "")).upper() == "POST"
            and isinstance(full_url, str)
            and full_url.startswith("urn:uuid:")
            and isinstance(resource, dict)
        ):
            new_id = str(uuid.uuid4())
            assigned[full_url] = new_id
            mapping[full_url] = f"{resource.get('resourceType')}/{new_id}"
    prepared = [_rewrite(e, mapping) if mapping else e for e in entries]
    order = sorted(
        range(len(prepared)),
        key=lambda i: _ORDER.get(
            str((prepared[i].get("request") or {}).get("method", "")).upper(), 9
        ),
    )
    replies: dict[int, Reply] = {}
    written: set[str] = set()
    with ctx.store.transaction():
        for i in order:
            replies[i] = run_entry(ctx, prepared[i], assigned)
            method = str((prepared[i].get("request") or {}).get("method", "")).upper()
            target = _written_identity(replies[i]) if method in ("PUT", "POST") else None
            if target is not None:
                if target in written:  # e.g. a conditional update resolving to a written one
                    raise FhirError("NLP400", f"the transaction writes {target} more than once")
                written.add(target)
    return {
        "resourceType": "Bundle",
        "type": "transaction-response",
        "entry": [_response_entry(ctx, replies[i]) for i in range(len(prepared))],
    }
