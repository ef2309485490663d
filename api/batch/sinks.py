"""Where a batch run writes: the service store, an upstream FHIR server, or NDJSON for import.

A sink receives the results of one *part* at a time from the single writer (the parent
process) and must make writing the same part twice harmless or undoable (see
``api.batch.checkpoint``): store writes are upserts by deterministic id, NDJSON parts are files
named after the part number that ``discard`` deletes.
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from collections.abc import Sequence
from contextlib import nullcontext
from typing import Any, Protocol

from api.batch.model import ENRICHED, TRANSIENT_ERROR, DocResult, index_rows_of
from api.batch.storage import Storage
from api.service import write_enrichment
from api.store.base import EnrichmentWrite, FhirStore, NlpIndex, NlpState, VersionConflict
from enrich.extensions import read_project_info

log = logging.getLogger(__name__)


class ResultSink(Protocol):
    """Receives parts of results; ``discard`` undoes a part a killed run left open."""

    key: str

    def write(self, part: int, results: Sequence[DocResult]) -> None: ...

    def discard(self, part: int) -> None: ...

    def close(self) -> None: ...


def split_ref(ref: str) -> tuple[str, str]:
    """``("Condition", "abc")`` from ``"Condition/abc"``."""
    resource_type, _, resource_id = ref.partition("/")
    return resource_type, resource_id


# --- service store ----------------------------------------------------------------------------


class WritableStore(Protocol):
    """The write of ``api.store.base.FhirStore``."""

    def save_all(
        self, resources: Sequence[dict[str, Any]], *, delete: Sequence[str] = ()
    ) -> list[dict[str, Any]]: ...


class StoreSink:
    """The service store: each enriched document with its generated resources, its retired
    resources deleted, its NLP index rows and NLP state, written atomically
    (``api.service.write_enrichment``, the application service's write).

    A store with units of work (``ServiceStore.transaction``) takes ``group`` documents per
    transaction, each document in a savepoint of it: one commit (and on SQLite one write of
    the pages the documents share) for the group, and a writer lock held for a few hundred
    milliseconds at most. A store that can keep its term-index writes to the end of a
    transaction (``deferred_terms``, SQLite) does so for the group: one FTS5 segment per
    group instead of one per document (a savepoint flushes FTS5's segment).

    When the documents were read from this same store (``if_match``), each write is
    conditional on the version read: a document changed by someone else during the run is not
    overwritten; it becomes a transient error (``[NLP412]``) and the next run processes it.

    Args:
        store: The service ``FhirStore`` (an ``AtomicEnrichmentStore``).
        index: The service ``NlpIndex``; ``None`` when the store is atomic (it holds the index).
        if_match: Write only if the document is still at the ``meta.versionId`` it was read at.
        group: Documents per transaction (default 32).
    """

    key = "store"

    def __init__(
        self,
        store: FhirStore,
        index: NlpIndex | None = None,
        *,
        if_match: bool = False,
        group: int = 32,
    ) -> None:
        self.store = store
        self.index = index
        self.if_match = if_match
        self.group = max(1, group)

    def write(self, part: int, results: Sequence[DocResult]) -> None:  # noqa: ARG002
        enriched = [r for r in results if r.outcome == ENRICHED]
        unit = getattr(self.store, "transaction", None)
        deferred = getattr(self.store, "deferred_terms", None) if unit is not None else None
        for start in range(0, len(enriched), self.group):
            chunk = enriched[start : start + self.group]
            with (
                unit() if unit is not None else nullcontext(),
                deferred() if deferred is not None else nullcontext(),
            ):
                for result in chunk:
                    self._write(result)

    def _write(self, result: DocResult) -> None:
        """One document (a savepoint of the group's transaction)."""
        document, *generated = result.resources
        info = _engine_of(document)
        state = NlpState(
            status=result.enrichment_status or "SUCCESS",
            text_hash=result.text_hash or None,
            engine_name=info[0],
            engine_version=info[1],
            result=result.nlp_result,
        )
        rows = index_rows_of(result.index_rows)
        write = EnrichmentWrite(document, generated, list(result.retired), rows, state)
        version = (document.get("meta") or {}).get("versionId")
        write.if_match = str(version) if self.if_match and version is not None else None
        try:
            write_enrichment(self.store, self.index, write)
        except VersionConflict:  # its savepoint is rolled back, the group goes on
            result.fail(TRANSIENT_ERROR, "[NLP412] document changed during the run")

    def discard(self, part: int) -> None:
        """Nothing to undo: writes are upserts by deterministic id."""

    def close(self) -> None:
        """The store belongs to the caller."""


def _engine_of(document: dict[str, Any]) -> tuple[str | None, str | None]:
    info = read_project_info(document)
    return (info.engine_name, info.engine_version) if info is not None else (None, None)


# --- upstream FHIR server ---------------------------------------------------------------------


class UpstreamSink:
    """One transaction Bundle per document upstream: PUT the document and its generated
    resources, DELETE the retired ones (``HttpFhirStore.save_all``; it falls back to batch or
    ordered writes on servers without transactions and retries 429/5xx itself, D9).

    Args:
        store: The upstream ``HttpFhirStore``.
        name: Label for reports (the base URL).
    """

    def __init__(self, store: WritableStore, *, name: str) -> None:
        self.store = store
        self.key = f"upstream:{name}"

    def write(self, part: int, results: Sequence[DocResult]) -> None:  # noqa: ARG002
        for result in results:
            if result.outcome == ENRICHED:
                self.store.save_all(result.resources, delete=result.retired)

    def discard(self, part: int) -> None:
        """Nothing to undo: PUT by deterministic id and DELETE are idempotent."""

    def close(self) -> None:
        """The store belongs to the caller."""


# --- NDJSON for HealthLake StartFHIRImportJob --------------------------------------------------

IMPORT_DIR = "import"
DELETIONS_DIR = "deletions"


def part_name(part: int) -> str:
    return f"part-{part:06d}.ndjson"


def ndjson_bytes(resources: Sequence[dict[str, Any]]) -> bytes:
    """Compact JSON, one resource per line (newlines inside strings are escaped by json)."""
    return "".join(json_line(r) + "\n" for r in resources).encode()


def json_line(resource: dict[str, Any]) -> str:
    return json.dumps(resource, separators=(",", ":"), ensure_ascii=False)


class NdjsonSink:
    """NDJSON files per resource type, one file per part, ready for ``StartFHIRImportJob``.

    Layout under the location (local folder or ``s3://bucket/prefix``)::

        import/DocumentReference/part-000000.ndjson  <- import job input: <location>/import/
        import/Condition/part-000000.ndjson
        deletions/part-000000.ndjson                 <- {"resourceType", "id", "derivedFrom"}

    HealthLake import only creates or updates; the ``deletions`` list names generated resources
    a re-processed document no longer produces, to delete with the FHIR API after the import.

    Args:
        storage: Output location (:func:`api.batch.storage.open_storage`).
    """

    def __init__(self, storage: Storage) -> None:
        self.storage = storage
        self.key = f"ndjson:{storage.url}"

    def write(self, part: int, results: Sequence[DocResult]) -> None:
        by_type: dict[str, list[str]] = defaultdict(list)
        deletions: list[dict[str, Any]] = []
        for result in results:
            if result.outcome != ENRICHED:
                continue
            for ref, line in zip(result.refs, result.lines, strict=True):
                by_type[ref.partition("/")[0]].append(line)
            for ref in result.retired:
                resource_type, resource_id = split_ref(ref)
                deletions.append(
                    {
                        "resourceType": resource_type,
                        "id": resource_id,
                        "derivedFrom": f"DocumentReference/{result.doc_id}",
                    }
                )
        name = part_name(part)
        for resource_type, lines in sorted(by_type.items()):
            data = "".join(line + "\n" for line in lines).encode()
            self.storage.write(f"{IMPORT_DIR}/{resource_type}/{name}", data)
        if deletions:
            self.storage.write(f"{DELETIONS_DIR}/{name}", ndjson_bytes(deletions))

    def discard(self, part: int) -> None:
        name = part_name(part)
        self.storage.delete_partials()
        for relpath in self.storage.list():
            if relpath.rsplit("/", 1)[-1] == name:
                self.storage.delete(relpath)
                log.info("[NLP631] discarded %s of an interrupted run", relpath)

    def close(self) -> None:
        """Every part is complete when written."""
