"""What the viewer's pages show, gathered from the store, the index and the engines.

The imperative shell of the viewer: reads documents, stored NLP results and generated
resources, runs engines for the playground and the compare view (writing nothing), and hands
the pure view models (``api.ui.annotate``, ``api.ui.compare``) to the templates.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from api.service import check_document, read_text
from api.store.base import FhirStore, NlpState
from api.ui.annotate import AnnotatedNote, ReportContext, annotate
from api.ui.compare import Comparison, compare
from api.ui.engines import STORED, EngineRegistry
from api.ui.render import UiError
from enrich.core import enrich_document, generated_by
from enrich.extensions import ProjectInfo, read_message, read_project_info, read_status
from enrich.policy import EnrichmentPolicy
from enrich.rawresponse import aws_json
from enrich.text import content_hash
from nlp.base import NlpEngine
from nlp.schema import NlpResult

#: Longest text the playground and the compare view analyse (characters).
MAX_TEXT = 100_000
PLAYGROUND_ID = "playground"
PROFILES = ("clinical", "healthlake")


class ViewerIndex(Protocol):
    def state(self, document_id: str) -> NlpState | None: ...


@dataclass
class DocumentView:
    """Everything the document page shows."""

    doc: dict[str, Any]
    text: str | None
    note: AnnotatedNote | None
    info: ProjectInfo | None
    status: str | None
    message: str | None
    stale: bool
    has_result: bool
    missing: list[str] = field(default_factory=list)

    @property
    def id(self) -> str:
        return str(self.doc.get("id"))

    @property
    def subject(self) -> str | None:
        subject = self.doc.get("subject")
        reference = subject.get("reference") if isinstance(subject, dict) else None
        return str(reference) if reference else None

    @property
    def version(self) -> str:
        meta = self.doc.get("meta")
        return str(meta.get("versionId", "")) if isinstance(meta, dict) else ""

    @property
    def report(self) -> str:
        """Document-level bug report: ids, engine, counts; no note text."""
        info = self.info
        lines = [
            "docref-nlp viewer: bug report (no note text included)",
            f"source: DocumentReference/{self.id} version {self.version or '-'}",
            f"engine: {info.engine_name if info else '-'} {info.engine_version if info else '-'}",
            f"profile: {info.profile if info else '-'}",
            f"nlp status: {self.status or '-'}",
        ]
        if self.note is not None:
            lines.append(
                f"entities: {len(self.note.entities)}, attributes: {len(self.note.attributes)}, "
                f"generated resources: {len(self.note.resources)}"
            )
        if self.stale:
            lines.append("warning: the stored result was computed on another text")
        lines.append("what is wrong (describe without patient details): ")
        return "\n".join(lines)


def stored_result(index: ViewerIndex, doc_id: str) -> tuple[NlpResult | None, NlpState | None]:
    state = index.state(doc_id)
    if state is None or state.result is None:
        return None, state
    return NlpResult.model_validate(state.result), state


def read_document(store: FhirStore, doc_id: str) -> dict[str, Any]:
    """The stored DocumentReference.

    Raises:
        UiError: ``[NLP803]`` no such (live) document.
    """
    doc = store.read("DocumentReference", doc_id)
    if doc is None:
        raise UiError(404, "NLP803", f"DocumentReference/{doc_id[:64]} is not in the store")
    return doc


def document_view(store: FhirStore, index: ViewerIndex, doc_id: str) -> DocumentView:
    """The document page: note, stored result, generated resources, processing record."""
    doc = read_document(store, doc_id)
    text = read_text(doc, store)
    result, state = stored_result(index, doc_id)
    info = read_project_info(doc)
    status = read_status(doc)
    resources: list[dict[str, Any]] = []
    missing: list[str] = []
    for ref in generated_by(doc):
        rtype, _, rid = ref.partition("/")
        resource = store.read(rtype, rid)
        if resource is None:
            missing.append(ref)
        else:
            resources.append(resource)
    note = None
    if text is not None:
        version = (doc.get("meta") or {}).get("versionId", "-")
        context = ReportContext(
            source=f"DocumentReference/{doc_id} version {version}",
            engine=f"{info.engine_name} {info.engine_version}" if info else "-",
            profile=(info.profile or "-") if info else "-",
            status=status,
        )
        note = annotate(text, result, resources, context=context)
    stale = bool(
        state is not None and text is not None and state.text_hash not in (None, content_hash(text))
    )
    return DocumentView(
        doc, text, note, info, status, read_message(doc), stale, result is not None, missing
    )


# --------------------------------------------------------------------------- playground


@dataclass
class PlaygroundInput:
    text: str
    engine: str
    profile: str
    upload: bytes | None = None


@dataclass
class PlaygroundView:
    doc: dict[str, Any]
    text: str
    engine: NlpEngine
    profile: str
    note: AnnotatedNote
    result: dict[str, Any]
    bundle: dict[str, Any]
    status: str


def newlines(text: str) -> str:
    r"""Browsers send textarea lines with CRLF; notes are analysed with LF (offsets count).

    >>> newlines("a\r\nb\rc")
    'a\nb\nc'
    """
    return text.replace("\r\n", "\n").replace("\r", "\n")


def playground_document(text: str) -> dict[str, Any]:
    """Pasted text as a DocumentReference (fixed id and subject, so resources are generated)."""
    data = base64.b64encode(text.encode("utf-8")).decode("ascii")
    return {
        "resourceType": "DocumentReference",
        "id": PLAYGROUND_ID,
        "status": "current",
        "subject": {"reference": f"Patient/{PLAYGROUND_ID}"},
        "content": [{"attachment": {"contentType": "text/plain; charset=utf-8", "data": data}}],
    }


def uploaded_document(raw: bytes) -> dict[str, Any]:
    """An uploaded DocumentReference JSON, validated (an id is given when it has none).

    Raises:
        UiError: ``[NLP801]`` not JSON; FhirError / FhirValidationError: not a valid
            DocumentReference (shown by ``ui_errors``).
    """
    try:
        data = json.loads(raw.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError, RecursionError):  # ValueError: 4,300+ digit ints
        raise UiError(400, "NLP801", "the uploaded file is not UTF-8 JSON") from None
    doc = dict(check_document(data))
    if not isinstance(doc.get("id"), str) or not doc["id"]:
        doc["id"] = PLAYGROUND_ID
    return doc


def _policy(profile: str, running: EnrichmentPolicy) -> EnrichmentPolicy:
    if profile not in PROFILES:
        raise UiError(400, "NLP801", f"unknown profile {profile[:20]!r}")
    return running if running.profile == profile else EnrichmentPolicy(profile=profile)


def playground(
    form: PlaygroundInput,
    *,
    store: FhirStore,
    registry: EngineRegistry,
    running: NlpEngine,
    policy: EnrichmentPolicy,
    clock: Callable[[], datetime],
) -> PlaygroundView:
    """Analyse pasted text or an uploaded document; build the Bundle; store nothing."""
    if form.upload:
        doc = uploaded_document(form.upload)
        text = read_text(doc, store)
        if text is None:
            raise UiError(422, "NLP807", "the document has no text/* attachment to analyse")
    else:
        text = newlines(form.text)
        if not text.strip():
            raise UiError(422, "NLP807", "paste a note or upload a DocumentReference")
        doc = playground_document(text)
    if len(text) > MAX_TEXT:
        raise UiError(413, "NLP806", f"the playground analyses at most {MAX_TEXT:,} characters")
    rules = _policy(form.profile, policy)
    engine = registry.get(form.engine, running)
    result = engine.analyze(text)
    enrichment = enrich_document(
        doc,
        result,
        policy=rules,
        now=clock(),
        engine_name=engine.name,
        engine_version=engine.version,
        text=text,
    )
    context = ReportContext(
        source="playground text (not stored)",
        engine=f"{engine.name} {engine.version}",
        profile=rules.profile,
        status=enrichment.status,
    )
    note = annotate(text, result, enrichment.generated, context=context)
    return PlaygroundView(
        doc=doc,
        text=text,
        engine=engine,
        profile=rules.profile,
        note=note,
        result=aws_json(result),
        bundle=enrichment.transaction_bundle(),
        status=enrichment.status,
    )


# --------------------------------------------------------------------------- compare


@dataclass
class Side:
    key: str
    label: str
    note: AnnotatedNote


@dataclass
class CompareView:
    doc_id: str | None
    a: Side
    b: Side
    comparison: Comparison


def compare_view(
    text: str,
    keys: tuple[str, str],
    *,
    registry: EngineRegistry,
    running: NlpEngine,
    stored: tuple[NlpResult | None, NlpState | None] | None = None,
    doc_id: str | None = None,
) -> CompareView:
    """Run (or read) both results of ``text`` and mark what differs."""
    if len(text) > MAX_TEXT:
        raise UiError(413, "NLP806", f"the compare view analyses at most {MAX_TEXT:,} characters")
    sides: list[Side] = []
    for key, prefix in zip(keys, ("a-", "b-"), strict=True):
        if key == STORED:
            result, state = stored or (None, None)
            if result is None or state is None:
                raise UiError(404, "NLP803", "this document has no stored NLP result")
            label = f"stored result: {state.engine_name} {state.engine_version}"
        else:
            engine = registry.get(key, running)
            result = engine.analyze(text)
            label = f"{engine.name} {engine.version}"
        sides.append(Side(key, label, annotate(text, result, prefix=prefix)))
    a, b = sides
    return CompareView(doc_id, a, b, compare(a.note, b.note))
