"""The store seam: Protocols (FhirStore, NlpIndex, ServiceStore, Database), shared types, errors.

Every backend (``sqlite``, ``postgres``, ``http``) depends on this module and ``api.store.sql``
only; the rest of the service depends on these Protocols, never on a backend class.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from enrich.index import IndexRow
from nlp.codes import CodedError

if TYPE_CHECKING:
    from api.search import NlpCriterion, SearchQuery

Resource = dict[str, Any]


class StoreError(CodedError):
    """Base of store failures; ``code`` is a registered code (``nlp.codes``: HTTP status)."""

    code = "NLP530"


class ResourceNotFound(StoreError):  # noqa: N818
    """No current version of that resource (never existed)."""

    code = "NLP404"


class ResourceGone(StoreError):  # noqa: N818
    """The resource existed and was deleted."""

    code = "NLP410"


class VersionConflict(StoreError):  # noqa: N818
    """``If-Match`` (or a transaction precondition) names another version than the current one."""

    code = "NLP412"


@dataclass
class SearchResult:
    """Matches of one page, the total, and the resources added by ``_include``/``_revinclude``."""

    total: int
    matches: list[Resource]
    included: list[Resource]


@dataclass(frozen=True)
class VersionInfo:
    """One entry of a resource's history (``resource`` is ``None`` for a deletion)."""

    version_id: str
    last_updated: str
    method: str
    resource: Resource | None


@dataclass(frozen=True)
class NlpState:
    """What the service remembers about the NLP run of one document.

    Attributes:
        status: ``SUCCESS`` | ``VALIDATION_ERROR`` | ``UNSUPPORTED_CONTENT``.
        text_hash: SHA-256 of the analysed text (``None`` when there was no text).
        engine_name: engine that produced the result.
        engine_version: its version.
        result: the full NLP result JSON (Comprehend shape, ``NlpResult.to_aws()``) or ``None``.
        updated: instant of the run (FHIR instant string), set by the store when empty.
    """

    status: str
    text_hash: str | None = None
    engine_name: str | None = None
    engine_version: str | None = None
    result: dict[str, Any] | None = None
    updated: str | None = None


@dataclass
class EnrichmentWrite:
    """Everything one enrichment writes, applied in ONE transaction by an atomic store.

    Attributes:
        document: the enriched DocumentReference (with ``id``).
        generated: resources generated from it (Condition, Observation, ..., Provenance).
        retired: ``"Type/id"`` references to delete (no longer produced). An atomic store also
            deletes every other resource it recorded as generated from this document and not
            present in ``generated``.
        rows: the NLP index rows of the document.
        state: the NLP state to remember (status, hash, engine, full result).
        if_match: expected current ``versionId`` of the document (``None`` = no precondition).
    """

    document: Resource
    generated: list[Resource] = field(default_factory=list)
    retired: list[str] = field(default_factory=list)
    rows: list[IndexRow] = field(default_factory=list)
    state: NlpState | None = None
    if_match: str | None = None


class ResourceReader(Protocol):
    """Anything that reads resources by id (every store, a batch source's store)."""

    def read(self, resource_type: str, resource_id: str) -> Resource | None:
        """The current version, or ``None`` when absent or deleted."""
        ...


@runtime_checkable
class FhirStore(ResourceReader, Protocol):
    """A FHIR server seen as resource dicts (the embedded SQLite store, a remote server)."""

    def save_all(
        self, resources: Sequence[Resource], *, delete: Sequence[str] = ()
    ) -> list[Resource]:
        """Upsert ``resources`` by id, delete ``"Type/id"`` refs; one transaction if possible.

        Returns the resources as stored (with ``meta.versionId``/``meta.lastUpdated`` when the
        backend tells them), in the order given.
        """
        ...

    def search(self, resource_type: str, params: Sequence[tuple[str, str]]) -> Resource:
        """A ``searchset`` Bundle for the FHIR search ``params``."""
        ...


@runtime_checkable
class NlpIndex(Protocol):
    """The NLP search index: index rows + NLP state per DocumentReference (always in SQLite)."""

    def replace(
        self, document_id: str, rows: Sequence[IndexRow], *, state: NlpState | None = None
    ) -> None:
        """Replace the rows (and the state, when given) of one document."""
        ...

    def find(self, criteria: Sequence[NlpCriterion]) -> set[str]:
        """Ids of the DocumentReferences matching every criterion."""
        ...

    def state(self, document_id: str) -> NlpState | None:
        """The remembered NLP state of one document."""
        ...

    def remove(self, document_id: str) -> None:
        """Forget one document (rows and state)."""
        ...


@runtime_checkable
class AtomicEnrichmentStore(Protocol):
    """A store that also holds the NLP index and writes a whole enrichment in one transaction."""

    def apply(self, write: EnrichmentWrite) -> list[Resource]:
        """Apply ``write`` atomically; returns the stored document, then the generated ones."""
        ...


class Connection(Protocol):
    """A connection in SQLite's dialect (``?`` placeholders): ``sqlite3.Connection``, or the
    PostgreSQL handle ``api.store.pg_dialect.SqliteConnection``."""

    def execute(self, sql: str, parameters: Any = ..., /) -> Any:
        """Run one statement; returns a cursor (``fetchone``, ``fetchall``, ``rowcount``...)."""
        ...

    def executemany(self, sql: str, parameters: Any, /) -> Any:
        """Run one statement for each parameter tuple."""
        ...


class Database(Protocol):
    """The service database handle (one SQLite file, or a PostgreSQL pool) for code that keeps
    its own tables next to the store's, such as the intake queue."""

    def executescript(self, script: str) -> None:
        """Run idempotent DDL (SQLite dialect)."""
        ...

    def transaction(self) -> AbstractContextManager[Connection]:
        """One writer at a time (``BEGIN IMMEDIATE`` ... ``COMMIT``); nested = savepoint."""
        ...

    def read(self) -> AbstractContextManager[Connection]:
        """A consistent read."""
        ...

    def close(self) -> None:
        """Release the connections (and background threads)."""
        ...


class SqlDatabase(Database, Protocol):
    """A ``Database`` that also runs DDL in its own dialect (the SQL stores' schemas)."""

    def execute_ddl(self, script: str) -> None:
        """Run idempotent DDL written for this backend."""
        ...


@runtime_checkable
class ServiceStore(FhirStore, AtomicEnrichmentStore, Protocol):
    """The service's own store (SQLite or PostgreSQL): what the FHIR API needs of it.

    Units of work go through :meth:`transaction`, never through the database handle.
    """

    def current_version(self, resource_type: str, resource_id: str) -> tuple[str, bool] | None:
        """``(versionId, deleted)`` of the latest history entry, ``None`` if it never existed."""
        ...

    def vread(self, resource_type: str, resource_id: str, version_id: str) -> Resource | None:
        """One version; ``None`` if it does not exist (``ResourceGone`` for a deletion)."""
        ...

    def history(self, resource_type: str, resource_id: str) -> list[VersionInfo]:
        """All versions, newest first."""
        ...

    def generated_from(self, document_id: str) -> list[str]:
        """``Type/id`` of the live resources generated from one document."""
        ...

    def delete(self, resource_type: str, resource_id: str) -> str | None:
        """Delete a resource (a document with what it generated); the deletion's versionId."""
        ...

    def execute(self, query: SearchQuery, *, default_count: int = 50) -> SearchResult:
        """Run a parsed query: one page of matches, the total and the included resources."""
        ...

    def ids(self, query: SearchQuery) -> list[str]:
        """Every matching id (no paging), for conditional interactions."""
        ...

    def transaction(self) -> AbstractContextManager[None]:
        """A unit of work: the store calls inside commit or roll back together."""
        ...
