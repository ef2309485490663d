"""The application service "enrich one document": prepare (text, loop guard), enrich, apply.

Gather inputs (text, previous NLP state), call the pure ``enrich_document``, apply its outputs in
one write. The FHIR API (enrich on write), the webhook workers (write back) and the batch command
(``prepare_document`` in the planner, ``write_enrichment`` in the store sink) all go through it.
It raises its own coded errors (``InvalidDocumentError``); ``api.errors`` maps them to HTTP.
"""

from __future__ import annotations

import base64
import binascii
import logging
import re
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from api.clock import Clock
from api.jsonbody import nesting_depth
from api.store.base import (
    AtomicEnrichmentStore,
    EnrichmentWrite,
    FhirStore,
    NlpIndex,
    NlpState,
    Resource,
    ResourceReader,
    ServiceStore,
    StoreError,
)
from api.store.sql import ref_key
from enrich import extensions as ext
from enrich.core import Enrichment, enrich_document, needs_processing
from enrich.fhir import validate_resource
from enrich.policy import EnrichmentPolicy
from enrich.rawresponse import aws_json
from enrich.text import content_hash, decode_text, extract_text
from enrich.urls import AWS_CM, MESSAGE, STATUS
from nlp.base import NlpEngine
from nlp.codes import CodedError
from nlp.schema import NlpResult

log = logging.getLogger(__name__)

Action = Literal["created", "updated", "unchanged"]
#: Deepest JSON nesting accepted in a DocumentReference (real ones stay under 20 levels).
MAX_DEPTH = 64
#: A FHIR logical id (R4 ``id``: 1 to 64 of letters, digits, ``-`` and ``.``).
FHIR_ID = re.compile(r"[A-Za-z0-9\-.]{1,64}")
_BINARY_REF = re.compile(r"^(?:.*/)?Binary/([A-Za-z0-9\-.]{1,64})$")
#: Required code bindings of DocumentReference that R4B model validation does not check.
_CODES: dict[str, frozenset[str]] = {
    "status": frozenset({"current", "superseded", "entered-in-error"}),
    "docStatus": frozenset({"preliminary", "final", "amended", "entered-in-error"}),
}
_RELATES_TO = frozenset({"replaces", "transforms", "signs", "appends"})


class InvalidDocumentError(CodedError):
    """The input is not a DocumentReference the service can take (``[NLP400]``)."""

    code = "NLP400"


class TextUnavailableError(CodedError):
    """The note lives in a Binary that cannot be read now: nothing is written, the document
    is not marked ``UNSUPPORTED_CONTENT`` and the intake retries it (``transient``).

    ``[NLP612]`` (422): the Binary does not exist (yet); ``[NLP613]`` (503): reading it failed.
    """

    code = "NLP613"
    transient = True


@dataclass(frozen=True)
class Limits:
    """What one document may cost (``Settings.max_*``); beyond a limit the document is stored
    with status ``VALIDATION_ERROR`` and a message saying which, and nothing is generated.

    Attributes:
        max_note_chars: longest text analysed (the engine is not called beyond it).
        max_generated_resources: most resources generated from one document.
        max_index_rows: most NLP index rows (entities, attributes, concepts) of one document.
    """

    max_note_chars: int = 200_000
    max_generated_resources: int = 2_500
    max_index_rows: int = 40_000

    def note_refusal(self, text: str | None) -> str | None:
        """Why ``text`` is not analysed (``[NLP231]``), or ``None`` when it is within the limit."""
        limit = self.max_note_chars
        if text is None or len(text) <= limit:
            return None
        return (
            f"[NLP231] The note has {len(text)} characters, more than the {limit} this service "
            "analyses (DOCREF_NLP_MAX_NOTE_CHARS): it is stored without NLP."
        )

    def output_refusal(self, enrichment: Enrichment) -> str | None:
        """Why ``enrichment``'s output is not written (``[NLP232]``), or ``None``."""
        if len(enrichment.generated) > self.max_generated_resources:
            return (
                f"[NLP232] The NLP result would generate {len(enrichment.generated)} resources, "
                f"more than the {self.max_generated_resources} allowed per document "
                "(DOCREF_NLP_MAX_GENERATED_RESOURCES): none were generated."
            )
        if len(enrichment.index_rows) > self.max_index_rows:
            return (
                f"[NLP232] The NLP result has {len(enrichment.index_rows)} index entries, more "
                f"than the {self.max_index_rows} allowed per document "
                "(DOCREF_NLP_MAX_INDEX_ROWS): none were generated."
            )
        return None


@dataclass(frozen=True)
class BinaryContent:
    """The bytes of a Binary an attachment ``url`` names, and the Binary's contentType."""

    data: bytes
    content_type: str | None = None


#: Reads the Binary an attachment ``url`` names (``None``: not readable, or not followed).
BinaryFetch = Callable[[str], BinaryContent | None]


@dataclass(frozen=True)
class Prepared:
    """A document ready for the engine.

    Attributes:
        document: the document (a copy with an id when the service assigned one).
        text: its text, ``None`` when it has no usable text (``UNSUPPORTED_CONTENT``).
        text_hash: SHA-256 of ``text`` (``None`` without text).
        unchanged: loop guard: the document already carries our processing record for this
            text, engine and profile (our own write-back, a duplicate).
        unresolved: the text is behind an attachment ``url`` that could not be read.
    """

    document: Resource
    text: str | None
    text_hash: str | None
    unchanged: bool
    unresolved: bool = False


@dataclass
class Enriched:
    """One enrichment ready to write, whether the engine ran for it, and ``Outcome.notes``."""

    write: EnrichmentWrite
    engine_called: bool
    notes: list[str] = field(default_factory=list)


def with_status(enrichment: Enrichment, status: str, message: str) -> Enrichment:
    """``enrichment`` with another aws-cm ``status``/``message`` pair (in its document too)."""
    for extension in enrichment.document.get("extension") or []:
        if isinstance(extension, dict) and extension.get("url") == AWS_CM:
            for child in extension.get("extension") or []:
                if child.get("url") == STATUS:
                    child["valueString"] = status
                elif child.get("url") == MESSAGE:
                    child["valueString"] = message
    enrichment.status, enrichment.message = status, message
    return enrichment


@dataclass
class Outcome:
    """What one ``DocumentService.process`` call did.

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
        notes: coded sentences (no PHI) on why the result is what it is, e.g. ``[NLP233]`` no
            subject, hence no generated resources; the API answers them as OperationOutcome
            issues, the intake records them with the job's outcome.
    """

    action: Action
    document: Resource
    nlp_status: str | None = None
    generated: list[str] = field(default_factory=list)
    retired: list[str] = field(default_factory=list)
    engine_called: bool = False
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)


def check_id(resource_id: Any, what: str = "the id") -> str:
    """``resource_id`` when it is a FHIR id (1-64 letters, digits, ``-``, ``.``).

    Raises:
        InvalidDocumentError: ``[NLP400]`` otherwise.
    """
    if not isinstance(resource_id, str) or not FHIR_ID.fullmatch(resource_id):
        raise InvalidDocumentError(f"{what} must be 1 to 64 letters, digits, '-' or '.' (FHIR id)")
    return resource_id


def _check_codes(doc: Resource) -> None:
    for name, allowed in _CODES.items():
        value = doc.get(name)
        if value is not None and value not in allowed:
            raise InvalidDocumentError(
                f"DocumentReference.{name} must be one of {', '.join(sorted(allowed))}"
            )
    for relation in doc.get("relatesTo") or []:
        if isinstance(relation, dict) and relation.get("code") not in _RELATES_TO:
            raise InvalidDocumentError(
                f"DocumentReference.relatesTo.code must be one of {', '.join(sorted(_RELATES_TO))}"
            )


def check_document(doc: Any) -> Resource:
    """The input as a DocumentReference dict, validated with R4B, its id and the required
    code bindings (``status``, ``docStatus``, ``relatesTo.code``) checked too.

    Raises:
        InvalidDocumentError: ``[NLP400]`` not a JSON object, not a DocumentReference, nested
            deeper than ``MAX_DEPTH`` levels, an id that is not a FHIR id, a code outside its
            required value set.
        enrich.fhir.FhirValidationError: ``[NLP210]`` invalid content.
    """
    if not isinstance(doc, dict):
        raise InvalidDocumentError("the body must be a JSON object")
    if doc.get("resourceType") != "DocumentReference":
        raise InvalidDocumentError("the body must be a DocumentReference")
    if nesting_depth(doc) > MAX_DEPTH:
        raise InvalidDocumentError(f"the resource is nested deeper than {MAX_DEPTH} levels")
    if doc.get("id") is not None:
        check_id(doc["id"])
    try:
        validate_resource(doc)
    except RecursionError:
        raise InvalidDocumentError("the resource is nested too deeply") from None
    _check_codes(doc)
    return doc


def _decode_binary(binary: Any) -> BinaryContent | None:
    data = binary.get("data") if isinstance(binary, dict) else None
    if not isinstance(data, str):
        return None
    try:
        raw = base64.b64decode(data, validate=False)
    except (binascii.Error, ValueError):
        return None
    content_type = binary.get("contentType")
    return BinaryContent(raw, str(content_type) if content_type else None)


def read_binary(store: ResourceReader, url: str) -> BinaryContent | None:
    """The Binary that an attachment ``url`` names, read from ``store``, strictly.

    Only relative (or same-server) ``Binary/<id>`` URLs are followed: never arbitrary URLs
    (``None``: not followed). A Binary without decodable data gives ``None`` too (its content
    is unusable, and reading it again gives the same).

    Raises:
        TextUnavailableError: ``[NLP612]`` the Binary does not exist (yet), ``[NLP613]``
            reading it failed.
        api.store.base.StoreError: the store's own coded failure (upstream unavailable, ...).
    """
    match = _BINARY_REF.match(url)
    if match is None:
        return None
    try:
        binary = store.read("Binary", match.group(1))
    except StoreError:
        raise
    except Exception as exc:
        log.warning("binary of a document could not be read: %s", type(exc).__name__)
        raise TextUnavailableError("the attachment's Binary could not be read") from None
    if binary is None:
        raise TextUnavailableError(
            f"the attachment names Binary/{match.group(1)}, which does not exist (yet)",
            code="NLP612",
        )
    return _decode_binary(binary)


def binary_content(store: ResourceReader, url: str) -> BinaryContent | None:
    """:func:`read_binary`, leniently (the batch planner): any failure gives ``None``, which the
    planner reports per document (``[NLP611]``) without writing it."""
    try:
        return read_binary(store, url)
    except (TextUnavailableError, StoreError):
        log.info("binary of a document could not be read")
        return None


def document_text(doc: Resource, fetch: BinaryFetch) -> tuple[str | None, bool]:
    """The text of a document (DESIGN §1 step 2) and whether a ``url`` attachment was unreadable.

    The text is the first ``text/*`` attachment: inline data, or the Binary its ``url`` names
    (read with ``fetch``; decoded with the Binary's contentType, else the attachment's).
    """
    extracted = extract_text(doc)
    if extracted is None or not extracted.needs_fetch or extracted.url is None:
        return (extracted.text if extracted is not None else None), False
    binary = fetch(extracted.url)
    if binary is None:
        return None, True
    text, _ = decode_text(binary.data, binary.content_type or extracted.content_type)
    return (text if text.strip() else None), False


def read_text(doc: Resource, store: ResourceReader) -> str | None:
    """The text of a document whose ``Binary/<id>`` attachment lives in ``store``."""
    return document_text(doc, lambda url: binary_content(store, url))[0]


def prepare_document(
    doc: Resource,
    *,
    fetch: BinaryFetch,
    engine_name: str,
    engine_version: str,
    profile: str | None = None,
) -> Prepared:
    """The text of a document (:func:`document_text`) and the loop guard's verdict (DESIGN §1
    step 3).

    Two empty hashes (no text now, none recorded) count as unchanged only for documents whose
    result cannot change on a retry: no text attachment, a ``url`` this service never follows,
    unusable inline data. A ``Binary/<id>`` that could not be read never gets here: the
    service's ``fetch`` raises (``TextUnavailableError``), so the document is retried instead
    of being recorded as ``UNSUPPORTED_CONTENT`` and then skipped forever.

    Args:
        doc: the DocumentReference (with its id).
        fetch: reads the Binary of a ``url`` attachment.
        engine_name: engine the loop guard compares with the processing record.
        engine_version: its version.
        profile: generation profile, compared too when given.
    """
    text, unresolved = document_text(doc, fetch)
    text_hash = content_hash(text) if text is not None else None
    unchanged = not needs_processing(doc, text_hash, engine_name, engine_version, profile=profile)
    return Prepared(doc, text, text_hash, unchanged, unresolved)


def sourced_from(store: FhirStore, document_id: str, refs: Sequence[str]) -> list[str]:
    """The ``refs`` a re-enrichment may retire: stored resources that name the document.

    ``retired`` comes from the document's system-generated-resources extension, which the
    client writes (a document migrated from HealthLake lists the resources HealthLake
    generated, stored here as plain resources). A claimed ref is retired only when the stored
    resource references ``DocumentReference/<document_id>`` (its source-document-reference,
    derivation, evidence, Linkage item or Provenance entity); never a DocumentReference, and
    never a resource generated from another document, which names that one.
    """
    if not refs:
        return []
    claimed = dict.fromkeys(refs)
    if isinstance(store, ServiceStore):  # it retires what it recorded under the document itself
        for ref in store.generated_from(document_id):
            claimed.pop(ref, None)
    doc_ref = f"DocumentReference/{document_id}"
    kept: list[str] = []
    for ref in claimed:
        resource_type, resource_id = ref_key(ref)
        if resource_type == "DocumentReference" or not resource_id or "/" in resource_id:
            continue
        stored = store.read(resource_type, resource_id)
        if stored is not None and _references(stored, doc_ref):
            kept.append(ref)
    return kept


def _references(value: Any, ref: str) -> bool:
    """Whether a ``{"reference": ref}`` occurs anywhere in ``value``."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if item.get("reference") == ref:
                return True
            stack.extend(v for v in item.values() if isinstance(v, dict | list))
        elif isinstance(item, list):
            stack.extend(v for v in item if isinstance(v, dict | list))
    return False


def write_enrichment(
    store: FhirStore, index: NlpIndex | None, write: EnrichmentWrite
) -> list[Resource]:
    """Write one enrichment: ONE transaction on an atomic store (document, generated,
    deletions, index rows, state); else ``store.save_all`` then the rows in ``index``.

    Returns the stored document, then the generated resources.

    Raises:
        api.store.base.VersionConflict: ``write.if_match`` is not the current version.
        api.store.base.StoreError: the write failed (nothing written on an atomic store).
    """
    retired = sourced_from(store, str(write.document["id"]), write.retired)
    if isinstance(store, AtomicEnrichmentStore):
        # it also deletes what it recorded as generated from the document, no longer produced
        return store.apply(replace(write, retired=retired))
    stored = store.save_all([write.document, *write.generated], delete=retired)
    if index is not None:
        index.replace(str(write.document["id"]), write.rows, state=write.state)
    return stored


class DocumentService:
    """Enrich one DocumentReference and write it with everything it generates.

    Args:
        engine: the NLP engine.
        policy: generation profile and rules.
        clock: UTC now.
        store: where documents are read from (Binaries, id-only notices) and written to: the
            service store, or the upstream server of the webhook path. An
            ``AtomicEnrichmentStore`` writes the index rows and state in the same transaction.
        index: the NLP index (state of previous runs; rows for non-atomic stores).
        limits: what one document may cost (:class:`Limits`).
        observe: told the NLP status of each processed document (``None``: unchanged), e.g.
            ``api.observability.Metrics.observe_document``.
    """

    def __init__(
        self,
        *,
        engine: NlpEngine,
        policy: EnrichmentPolicy,
        clock: Clock,
        store: FhirStore,
        index: NlpIndex,
        limits: Limits | None = None,
        observe: Callable[[str | None], None] | None = None,
    ) -> None:
        self.engine = engine
        self.policy = policy
        self.clock = clock
        self.store = store
        self.index = index
        self.limits = limits or Limits()
        self.observe = observe

    def fetch(self, url: str) -> BinaryContent | None:
        """The Binary of an attachment ``url``, read strictly from this service's store
        (:func:`read_binary`: a missing or unreadable Binary raises, it is never taken for a
        document without text)."""
        return read_binary(self.store, url)

    def prepare(self, doc: Any, *, validate: bool = True) -> Prepared:
        """Validate (optionally), copy, give an id when missing, read the text, loop guard.

        Raises:
            InvalidDocumentError, FhirValidationError: bad input.
        """
        if validate:
            check_document(doc)
        doc = dict(doc)
        if not isinstance(doc.get("id"), str) or not doc["id"]:
            doc["id"] = str(uuid.uuid4())
        return prepare_document(
            doc,
            fetch=self.fetch,
            engine_name=self.engine.name,
            engine_version=self.engine.version,
            profile=self.policy.profile,
        )

    def enrich(self, prepared: Prepared, *, reuse: bool = True) -> Enriched:
        """Analyse the text (or reuse the stored result of the same text and engine) and
        enrich the document (pure ``enrich_document``).

        Raises:
            nlp.base.EngineError: the engine failed (nothing is written).
        """
        doc, text, engine = prepared.document, prepared.text, self.engine
        doc_id = str(doc["id"])
        result: NlpResult | None = None
        # the result as the state holds it: a reused one as stored (not validated and dumped
        # back), else the engine's dumped once below
        result_json: dict[str, Any] | None = None
        engine_called = False
        refusal = self.limits.note_refusal(text)
        if text is not None and refusal is None:
            previous = self.index.state(doc_id) if reuse else None
            if (
                previous is not None
                and previous.result is not None
                and previous.text_hash == prepared.text_hash
                and previous.engine_name == engine.name
                and previous.engine_version == engine.version
            ):
                result_json = previous.result
                result = NlpResult.model_validate(result_json)
            else:
                result = engine.analyze(text)
                engine_called = True
        now = self.clock()

        def run(nlp: NlpResult | None) -> Enrichment:
            return enrich_document(
                doc, nlp, policy=self.policy, now=now, engine_name=engine.name,
                engine_version=engine.version, text=text,
            )  # fmt: skip

        enrichment = run(result)
        if refusal is None:
            refusal = self.limits.output_refusal(enrichment)
        if refusal is not None:
            # Stored without NLP output: the document and its text are kept, the aws-cm status
            # says VALIDATION_ERROR and why; the engine's result (if any) stays in the state.
            enrichment = with_status(run(None), ext.VALIDATION_ERROR, refusal)
        if result_json is None and result is not None:
            result_json = aws_json(result)  # result.to_aws(), by compiled code
        state = NlpState(
            status=enrichment.status,
            text_hash=enrichment.text_hash,
            engine_name=engine.name,
            engine_version=engine.version,
            result=result_json,
        )
        write = EnrichmentWrite(
            document=enrichment.document,
            generated=enrichment.generated,
            retired=enrichment.retired,
            rows=enrichment.index_rows,
            state=state,
        )
        return Enriched(write, engine_called, notes=self._notes(doc, enrichment, refusal))

    @staticmethod
    def _notes(doc: Resource, enrichment: Enrichment, refusal: str | None) -> list[str]:
        if refusal is not None:
            return [refusal]
        if enrichment.status == ext.SUCCESS and not isinstance(doc.get("subject"), dict):
            return [
                "[NLP233] The DocumentReference has no subject: Condition, Observation and "
                "MedicationStatement need a patient, so no resources were generated (the NLP "
                "result is in the document's aws-cm extension)."
            ]
        return []

    def apply(self, write: EnrichmentWrite) -> list[Resource]:
        """Write one enrichment (see :func:`write_enrichment`)."""
        return write_enrichment(self.store, self.index, write)

    def process(
        self,
        doc: Any,
        *,
        if_match: str | None = None,
        reuse: bool = True,
        skip_unchanged: bool = True,
        validate: bool = True,
    ) -> Outcome:
        """Prepare, enrich and apply one document.

        Args:
            doc: the DocumentReference (an id is assigned when missing; it is not mutated).
            if_match: expected current version (atomic stores only) -> ``VersionConflict``.
            reuse: reuse the stored NLP result when the text and engine are unchanged.
            skip_unchanged: loop guard: when the document already carries our processing
                record for this text and engine, write nothing (webhook/batch). The FHIR write
                path passes ``False``: the client's other changes must still be stored.
            validate: validate the input with R4B first.

        Raises:
            InvalidDocumentError, FhirValidationError: bad input.
            nlp.base.EngineError: the engine failed (nothing written).
            api.store.base.StoreError: the write failed (nothing written).
        """
        started = time.perf_counter()
        prepared = self.prepare(doc, validate=validate)
        doc_id = str(prepared.document["id"])
        if prepared.unresolved:
            log.info("document %s: attachment url not followed (not Binary/<id>)", doc_id)
        if skip_unchanged and prepared.unchanged:
            log.info("document %s unchanged: nothing to do", doc_id)
            if self.observe is not None:
                self.observe(None)
            seconds = time.perf_counter() - started
            return Outcome("unchanged", prepared.document, seconds=seconds)
        enriched = self.enrich(prepared, reuse=reuse)
        write = enriched.write
        write.if_match = if_match
        existed = True
        if isinstance(self.store, AtomicEnrichmentStore):
            existed = self._exists("DocumentReference", doc_id)
        stored = self.apply(write)
        action: Action = "updated" if existed else "created"
        seconds = time.perf_counter() - started
        status = write.state.status if write.state is not None else None
        log.info(
            "document %s %s: status %s, %d generated, %d retired, engine %s, %.1f ms",
            doc_id,
            action,
            status,
            len(write.generated),
            len(write.retired),
            "called" if enriched.engine_called else "skipped",
            seconds * 1000,
        )
        for note in enriched.notes:
            log.info("document %s: %s", doc_id, note)
        if self.observe is not None:
            self.observe(status)
        return Outcome(
            action=action,
            document=stored[0] if stored else write.document,
            nlp_status=status,
            generated=[f"{r['resourceType']}/{r['id']}" for r in write.generated],
            retired=list(write.retired),
            engine_called=enriched.engine_called,
            seconds=seconds,
            notes=enriched.notes,
        )

    def _exists(self, resource_type: str, resource_id: str) -> bool:
        """Whether a current (not deleted) version exists (``current_version`` when the store
        has it: the body is not loaded and parsed)."""
        latest = getattr(self.store, "current_version", None)
        if latest is None:
            return self.store.read(resource_type, resource_id) is not None
        version: tuple[str, bool] | None = latest(resource_type, resource_id)
        return version is not None and not version[1]
