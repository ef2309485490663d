"""In-process intake workers: claim a queued notification, enrich the document, write it back."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from api.intake.queue import IntakeQueue, Job
from api.service import DocumentService, Outcome
from api.settings import Settings
from api.store.base import Database, FhirStore, StoreError, VersionConflict
from api.store.dsn import is_postgres_url
from nlp.base import EngineError
from nlp.codes import CodedError

log = logging.getLogger(__name__)
_T = TypeVar("_T")

RETENTION_S = 7 * 24 * 3600.0  # done rows kept this long (version de-duplication window)
# R4 Meta elements. Servers add their own (Medplum: author, project, compartment, accounts);
# those fail R4 validation, and the server sets them again on the write-back anyway.
_R4_META = frozenset({"id", "extension", "versionId", "lastUpdated", "source", "profile",
                      "security", "tag"})  # fmt: skip


def standard_meta(resource: dict[str, Any]) -> dict[str, Any]:
    """The resource with ``meta`` reduced to R4 elements (a copy when something is dropped).

    >>> standard_meta({"id": "1", "meta": {"versionId": "2", "project": "p"}})
    {'id': '1', 'meta': {'versionId': '2'}}
    """
    meta = resource.get("meta")
    if not isinstance(meta, dict) or set(meta) <= _R4_META:
        return resource
    return {**resource, "meta": {k: v for k, v in meta.items() if k in _R4_META}}


class JobSkipped(Exception):  # noqa: N818 - an outcome, not an error
    """The job needs no processing (resource gone, superseded); the message is the outcome."""


class DocumentNotFoundError(CodedError):
    """The notified document cannot be read where it should be (``[NLP607]``): not yet
    replicated, or a wrong id. Retried with backoff, then a dead letter: never "done"."""

    code = "NLP607"
    transient = True


def is_deleted(store: FhirStore, resource_type: str, resource_id: str) -> bool:
    """Whether the store positively says the resource was deleted (SQL stores: a deletion is
    its current version; FHIR servers: ``410 Gone``). Absent or unknown is not deleted."""
    latest = getattr(store, "current_version", None)
    if callable(latest):
        version = latest(resource_type, resource_id)
        return version is not None and bool(version[1])
    request = getattr(store, "request", None)
    if callable(request):
        return (
            int(getattr(request("GET", f"{resource_type}/{resource_id}"), "status_code", 0)) == 410
        )
    return False


def is_permanent(exc: BaseException) -> bool:
    """Whether retrying the same notification cannot succeed (then it is dead-lettered now)."""
    if getattr(exc, "transient", None) is True:  # coded errors that say so (NLP607, NLP612/613)
        return False
    if isinstance(exc, EngineError):
        return not exc.transient
    if isinstance(exc, VersionConflict):
        return False
    retryable = getattr(exc, "retryable", None)
    if isinstance(retryable, bool):  # api.store.http.UpstreamError
        status = getattr(exc, "upstream_status", None)
        conflict = bool(getattr(exc, "conflict", False))
        return not (retryable or conflict) and status not in (408, 423)
    if isinstance(exc, StoreError):
        return 400 <= exc.status < 500
    status = getattr(exc, "status", None)  # api.errors.FhirError (invalid resource: 4xx)
    if isinstance(status, int):
        return 400 <= status < 500
    # FhirValidationError [NLP210], pydantic ValidationError, bad JSON: the input is wrong
    return isinstance(exc, ValueError)


def coded(exc: BaseException) -> str:
    """A short error line for the queue row (coded messages only; never note text)."""
    text = str(exc)
    return text if text.startswith("[NLP") else f"[NLP600] {type(exc).__name__}"


@dataclass
class DocumentHandler:
    """Turns one job into one ``DocumentService.process`` call against the write-back store.

    Attributes:
        queue: The intake queue (to detect superseded notices).
        documents: The application service whose store is the write-back target (the upstream
            server, or the service store when there is no upstream): id-only notices are read
            from it and enrichments written to it.
    """

    queue: IntakeQueue
    documents: DocumentService

    def __call__(self, job: Job) -> str:
        """Process one job; returns its outcome (``created``, ``unchanged``, ...).

        Raises:
            JobSkipped: Nothing to do (outcome in the message).
        """
        store = self.documents.store
        if job.resource is not None and self.queue.superseded(job):
            raise JobSkipped("superseded")
        doc = job.resource
        if doc is None or job.recovered:
            # id-only: read it; recovered after a crash: the write-back may already be there,
            # and the current version (with our hash) then stops here via the loop guard.
            doc = store.read(job.resource_type, job.resource_id) or job.resource
        if doc is None:
            if not is_deleted(store, job.resource_type, job.resource_id):
                raise DocumentNotFoundError(
                    f"{job.resource_type}/{job.resource_id} is not readable where it was notified"
                )
            # deleted upstream: forget its NLP index rows and state
            self.documents.index.remove(job.resource_id)
            raise JobSkipped("gone")
        try:
            outcome = self._process(standard_meta(doc))
        except StoreError as exc:
            if not getattr(exc, "conflict", False):
                raise
            # Updated upstream since this version was read (If-Match refused): enrich the
            # current version instead; its own notification then stops at the loop guard.
            log.info("intake job %d: version conflict upstream, re-reading", job.seq)
            current = store.read(job.resource_type, job.resource_id)
            if current is None:
                self.documents.index.remove(job.resource_id)
                raise JobSkipped("gone") from exc
            outcome = self._process(standard_meta(current))
        status = outcome.nlp_status
        text = f"{outcome.action}:{status}" if status else str(outcome.action)
        codes = [code for code in (n[1:7] for n in outcome.notes) if code.startswith("NLP")]
        return f"{text} [{','.join(codes)}]" if codes else text

    def _process(self, doc: dict[str, Any]) -> Outcome:
        return self.documents.process(doc)


class WorkerPool:
    """Threads that drain the intake queue.

    Config (constructor arguments):
        queue: The ``IntakeQueue``.
        handle: ``Job -> outcome``; raises to fail the attempt (``is_permanent`` decides).
        threads: Number of worker threads (default 1).
        poll_s: Longest sleep between looks at the queue (default 0.5 s).
        record_timeout_s: How long recording a job's outcome is retried while the database is
            unavailable (default 60 s: a restart); past it the job's lease brings it back.
    """

    def __init__(
        self,
        queue: IntakeQueue,
        handle: Callable[[Job], str],
        *,
        threads: int = 1,
        poll_s: float = 0.5,
        record_timeout_s: float = 60.0,
    ) -> None:
        self.queue = queue
        self.handle = handle
        self.threads = threads
        self.poll_s = poll_s
        self.record_timeout_s = record_timeout_s
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._last_prune = 0.0

    def start(self) -> None:
        """Start the threads (daemon: a hard stop leaves jobs to :meth:`IntakeQueue.recover`)."""
        for i in range(self.threads):
            t = threading.Thread(target=self._run, name=f"intake-{i}", daemon=True)
            t.start()
            self._threads.append(t)

    def stop(self, timeout_s: float = 10.0) -> None:
        """Ask the threads to finish their current job and wait for them."""
        self._stop.set()
        self.queue.wakeup.set()
        deadline = time.monotonic() + timeout_s
        for t in self._threads:
            t.join(max(0.0, deadline - time.monotonic()))

    @property
    def alive(self) -> int:
        """Threads still running."""
        return sum(t.is_alive() for t in self._threads)

    def run_once(self) -> Job | None:
        """Claim and process at most one job (also used by tests); returns the job."""
        job = self.queue.claim()
        if job is None:
            return None
        started = time.perf_counter()
        try:
            outcome = self.handle(job)
        except JobSkipped as skip:
            skipped = f"skipped:{skip}"
            final: Literal["done", "gone"] = "gone" if str(skip) == "gone" else "done"
            self._record(lambda: self.queue.complete(job, skipped, state=final))
            log.info("intake job %d %s/%s skipped (%s)", job.seq, job.resource_type,
                     job.resource_id, skip)  # fmt: skip
        except Exception as exc:
            permanent, error = is_permanent(exc), coded(exc)
            state = self._record(lambda: self.queue.fail(job, error, permanent=permanent))
            log.warning(
                "intake job %d %s/%s attempt %d failed (%s%s) -> %s",
                job.seq,
                job.resource_type,
                job.resource_id,
                job.attempts,
                getattr(exc, "code", type(exc).__name__),
                ", permanent" if permanent else "",
                state,
            )
        else:
            self._record(lambda: self.queue.complete(job, outcome))
            log.info(
                "intake job %d %s/%s %s in %.1f ms",
                job.seq,
                job.resource_type,
                job.resource_id,
                outcome,
                (time.perf_counter() - started) * 1000,
            )
        return job

    def _record(self, write: Callable[[], _T]) -> _T:
        """Record a job's outcome, retrying while the database is unavailable (a restart):
        a processed job must not stay ``processing`` until its lease expires."""
        delay, deadline = 0.1, time.monotonic() + self.record_timeout_s
        while True:
            try:
                return write()
            except StoreError as exc:
                if exc.status != 503 or time.monotonic() > deadline or self._stop.is_set():
                    raise
                log.warning("intake: recording an outcome failed (%s); retrying", exc.code)
                self._stop.wait(delay)
                delay = min(delay * 2, 2.0)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                job = self.run_once()
                if job is None:
                    self._maybe_prune()
                    due = self.queue.next_due_in()
                    wait = self.poll_s if due is None else min(self.poll_s, max(due, 0.01))
                    self.queue.wakeup.wait(wait)
                    self.queue.wakeup.clear()
            except Exception as exc:  # the database itself failed: back off, keep going
                log.error("intake worker error: %s", type(exc).__name__)
                self._stop.wait(self.poll_s * 4)

    def _maybe_prune(self) -> None:
        now = time.monotonic()
        if now - self._last_prune > 600:
            self._last_prune = now
            self.queue.prune(RETENTION_S)


@dataclass
class Intake:
    """The running intake: its queue and its worker threads."""

    queue: IntakeQueue
    pool: WorkerPool


def start(settings: Settings, db: Database, documents: DocumentService) -> Intake:
    """Build the queue on the service database and start the workers (the app's lifespan).

    Args:
        settings: ``intake_workers``, ``intake_max_attempts``, ``intake_backoff_s``, ``db_path``.
        db: the service database (the ``intake`` table lives there).
        documents: the application service writing back (the upstream server, or the service
            store): ``api.bootstrap.Services.intake_documents()``.

    ``pool.stop()`` stops the workers.
    """
    queue = IntakeQueue(
        db,
        max_attempts=settings.intake_max_attempts,
        backoff_base_s=settings.intake_backoff_s,
    )
    handler = DocumentHandler(queue, documents)
    # One process owns a SQLite file: whatever is 'processing' at start-up was orphaned. On a
    # database shared by replicas (PostgreSQL) only expired leases are taken back.
    recovered = queue.recover(all_in_flight=not is_postgres_url(settings.db_path))
    pool = WorkerPool(queue, handler, threads=settings.intake_workers)
    pool.start()
    log.info(
        "intake: %d worker(s), upstream=%s, %d recovered job(s)",
        settings.intake_workers,
        settings.upstream,
        recovered,
    )
    return Intake(queue, pool)
