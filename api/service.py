"""process_document(doc, *, engine, store, index, policy, clock) -> Outcome: the imperative shell.

Gather inputs (text, previous NLP state), call the pure ``enrich_document``, apply its outputs in
one write. Used by the FHIR write path, the webhook workers and the batch command.
"""

from __future__ import annotations

import base64
import binascii
import logging
import re
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from api.errors import FhirError
from api.store.base import (
    AtomicEnrichmentStore,
    EnrichmentWrite,
    FhirStore,
    NlpIndex,
    NlpState,
    Resource,
)
from enrich.core import enrich_document, needs_processing
from enrich.fhir import validate_resource
from enrich.policy import EnrichmentPolicy
from enrich.text import content_hash, decode_text, extract_text
from nlp.base import NlpEngine
from nlp.schema import NlpResult

log = logging.getLogger(__name__)

Action = Literal["created", "updated", "unchanged"]
#: Deepest JSON nesting accepted in a DocumentReference (real ones stay under 20 levels).
MAX_DEPTH = 64
_BINARY_REF = re.compile(r"^(?:.*/)?Binary/([A-Za-z0-9\-.]{1,64})$")


@dataclass
class Outcome:
    """What one ``process_document`` call did.

    Attributes:
        action: ``created`` | ``updated`` | ``unchanged`` (loop guard: nothing written).
        document: the document as stored (``meta`` set by the store when it tells it).
        nlp_status: ``SUCCESS`` | ``VALIDATION_ERROR`` | ``UNSUPPORTED_CONTENT`` (``None`` when
            unchanged).
        generated: ``Type/id`` of the generated resources written.
        retired: ``Type/id`` of resources deleted because no longer produced.
        engine_called: whether the engine ran (``False``: loop guard or reuse of the stored
            result for the same text).
        seconds: wall time of the call.
    """

    action: Action
    document: Resource
    nlp_status: str | None = None
    generated: list[str] = field(default_factory=list)
    retired: list[str] = field(default_factory=list)
    engine_called: bool = False
    seconds: float = 0.0


class SerializedEngine:
    """Wraps an engine whose ``analyze`` must not run concurrently (spaCy pipelines)."""

    def __init__(self, engine: NlpEngine) -> None:
        self.inner = engine
        self.name = engine.name
        self.version = engine.version
        self._lock = threading.Lock()

    def analyze(self, text: str) -> NlpResult:
        """``inner.analyze`` under a lock."""
        with self._lock:
            return self.inner.analyze(text)


def nesting_depth(value: Any) -> int:
    """Depth of nested objects/arrays, computed without recursion.

    >>> nesting_depth({"a": [{"b": 1}]}), nesting_depth("x")
    (3, 0)
    """
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            children: Any = node.values()
        elif isinstance(node, list):
            children = node
        else:
            continue
        deepest = max(deepest, depth + 1)
        stack.extend((child, depth + 1) for child in children)
    return deepest


def check_document(doc: Any) -> Resource:
    """The body as a DocumentReference dict, validated with R4B.

    Raises:
        FhirError: ``[NLP400]`` not a JSON object, not a DocumentReference, or nested deeper
            than ``MAX_DEPTH`` levels.
        enrich.fhir.FhirValidationError: ``[NLP210]`` invalid content (-> 400).
    """
    if not isinstance(doc, dict):
        raise FhirError("NLP400", "the body must be a JSON object")
    if doc.get("resourceType") != "DocumentReference":
        raise FhirError("NLP400", "the body must be a DocumentReference")
    if nesting_depth(doc) > MAX_DEPTH:
        raise FhirError("NLP400", f"the resource is nested deeper than {MAX_DEPTH} levels")
    try:
        validate_resource(doc)
    except RecursionError:
        raise FhirError("NLP400", "the resource is nested too deeply") from None
    return doc


def read_text(doc: Resource, store: FhirStore) -> str | None:
    """The document's text; a ``url`` attachment is read from ``store`` when it is a Binary.

    Only relative (or same-server) ``Binary/<id>`` URLs are followed: never arbitrary URLs.
    """
    extracted = extract_text(doc)
    if extracted is None:
        return None
    if not extracted.needs_fetch:
        return extracted.text
    match = _BINARY_REF.match(extracted.url or "")
    if match is None:
        return None
    try:
        binary = store.read("Binary", match.group(1))
    except Exception:
        log.info("binary of a document could not be read")
        return None
    data = binary.get("data") if isinstance(binary, dict) else None
    if not isinstance(data, str):
        return None
    try:
        raw = base64.b64decode(data, validate=False)
    except (binascii.Error, ValueError):
        return None
    content_type = str((binary or {}).get("contentType") or extracted.content_type)
    text, _ = decode_text(raw, content_type)
    return text if text.strip() else None


def _exists(store: Any, resource_type: str, resource_id: str) -> bool:
    """Whether a current (not deleted) version exists.

    Asks ``current_version`` when the store has it: the body is not loaded and parsed.
    """
    latest = getattr(store, "current_version", None)
    if latest is None:
        return store.read(resource_type, resource_id) is not None
    version: tuple[str, bool] | None = latest(resource_type, resource_id)
    return version is not None and not version[1]


def process_document(
    doc: Resource,
    *,
    engine: NlpEngine,
    store: FhirStore,
    index: NlpIndex,
    policy: EnrichmentPolicy,
    clock: Callable[[], datetime],
    if_match: str | None = None,
    reuse: bool = True,
    skip_unchanged: bool = True,
    validate: bool = True,
) -> Outcome:
    """Enrich one DocumentReference and write it with everything it generates.

    Args:
        doc: the DocumentReference (an id is assigned when missing; the dict is not mutated).
        engine: the NLP engine.
        store: where to write (an ``AtomicEnrichmentStore`` writes index and state too, in
            the same transaction).
        index: the NLP index (state of previous runs; rows for non-atomic stores).
        policy: generation profile and rules.
        clock: UTC now.
        if_match: expected current version (atomic stores only) -> ``VersionConflict``.
        reuse: reuse the stored NLP result when the text and engine are unchanged.
        skip_unchanged: loop guard: when the document already carries our processing record
            for this text and engine, write nothing (webhook/batch). The FHIR write path passes
            ``False``: the client's other changes must still be stored.
        validate: validate the input with R4B first.

    Raises:
        FhirError, FhirValidationError: bad input (400).
        nlp.base.EngineError: the engine failed (nothing written).
        api.store.base.StoreError: the write failed (nothing written).
    """
    started = time.perf_counter()
    if validate:
        check_document(doc)
    doc = dict(doc)
    if not isinstance(doc.get("id"), str) or not doc["id"]:
        doc["id"] = str(uuid.uuid4())
    doc_id = str(doc["id"])
    text = read_text(doc, store)
    text_hash = content_hash(text) if text is not None else None
    if skip_unchanged and not needs_processing(
        doc, text_hash, engine.name, engine.version, profile=policy.profile
    ):
        log.info("document %s unchanged: nothing to do", doc_id)
        return Outcome("unchanged", doc, seconds=time.perf_counter() - started)

    result: NlpResult | None = None
    engine_called = False
    if text is not None:
        previous = index.state(doc_id) if reuse else None
        if (
            previous is not None
            and previous.result is not None
            and previous.text_hash == text_hash
            and previous.engine_name == engine.name
            and previous.engine_version == engine.version
        ):
            result = NlpResult.model_validate(previous.result)
        else:
            result = engine.analyze(text)
            engine_called = True

    enrichment = enrich_document(
        doc,
        result,
        policy=policy,
        now=clock(),
        engine_name=engine.name,
        engine_version=engine.version,
        text=text,
    )
    state = NlpState(
        status=enrichment.status,
        text_hash=enrichment.text_hash,
        engine_name=engine.name,
        engine_version=engine.version,
        result=result.to_aws() if result is not None else None,
    )
    if isinstance(store, AtomicEnrichmentStore):
        existed = _exists(store, "DocumentReference", doc_id)
        stored = store.apply(
            EnrichmentWrite(
                document=enrichment.document,
                generated=enrichment.generated,
                retired=enrichment.retired,
                rows=enrichment.index_rows,
                state=state,
                if_match=if_match,
            )
        )
        action: Action = "updated" if existed else "created"
    else:
        stored = store.save_all(enrichment.resources(), delete=enrichment.retired)
        index.replace(doc_id, enrichment.index_rows, state=state)
        action = "updated"
    seconds = time.perf_counter() - started
    log.info(
        "document %s %s: status %s, %d generated, %d retired, engine %s, %.1f ms",
        doc_id,
        action,
        enrichment.status,
        len(enrichment.generated),
        len(enrichment.retired),
        "called" if engine_called else "skipped",
        seconds * 1000,
    )
    return Outcome(
        action=action,
        document=stored[0] if stored else enrichment.document,
        nlp_status=enrichment.status,
        generated=[f"{r['resourceType']}/{r['id']}" for r in enrichment.generated],
        retired=list(enrichment.retired),
        engine_called=engine_called,
        seconds=seconds,
    )
