"""Workers: the real queue, service and enrichment against a fake engine and a fake upstream."""

from __future__ import annotations

import time
from typing import Any

import pytest

from api.intake.queue import IntakeQueue, Notice
from api.intake.workers import DocumentHandler, WorkerPool, is_permanent
from api.service import DocumentService
from api.store.http import UpstreamError
from api.store.sqlite import Database, SqliteNlpIndex
from enrich.policy import EnrichmentPolicy
from nlp.base import PermanentEngineError, TransientEngineError
from tests.webhook.conftest import FakeEngine, FakeUpstream, document, fixed_clock


class Env:
    def __init__(self, engine: FakeEngine | None = None, max_attempts: int = 3) -> None:
        self.db = Database(":memory:")
        self.now = 1_000_000.0
        self.queue = IntakeQueue(
            self.db, max_attempts=max_attempts, backoff_base_s=5, clock=lambda: self.now
        )
        self.upstream = FakeUpstream()
        self.engine = engine or FakeEngine()
        self.handler = DocumentHandler(
            queue=self.queue,
            documents=DocumentService(
                engine=self.engine,
                policy=EnrichmentPolicy(),
                clock=fixed_clock,
                store=self.upstream,
                index=SqliteNlpIndex(self.db),
            ),
        )
        self.pool = WorkerPool(self.queue, self.handler)

    def notify_full(self, doc: dict[str, Any]) -> None:
        v = (doc.get("meta") or {}).get("versionId")
        self.queue.enqueue([Notice("DocumentReference", doc["id"], v, doc, "backport-full")])

    def notify_id(self, doc_id: str, version: str | None = None) -> None:
        self.queue.enqueue([Notice("DocumentReference", doc_id, version, None, "backport-id-only")])

    def drain(self) -> list[str]:
        outcomes = []
        while (job := self.pool.run_once()) is not None:
            outcomes.append(next(r["outcome"] for r in self.queue.rows() if r["seq"] == job.seq))
        return outcomes


def test_full_notification_is_enriched_and_written_back_once() -> None:
    env = Env()
    stored = env.upstream.put(document())  # the upstream server wrote v1
    env.notify_full(stored)
    assert env.drain() == ["updated:SUCCESS"]
    assert env.engine.calls == 1
    assert env.upstream.transactions == 1
    doc = env.upstream.read("DocumentReference", "doc-1")
    assert doc is not None
    assert doc["meta"]["versionId"] == "2"
    assert any("aws-cm" in e["url"] for e in doc.get("extension", []))
    generated = sorted(
        k.split("/")[0] for k in env.upstream.resources if k != "DocumentReference/doc-1"
    )
    assert generated == ["Linkage", "Observation", "Provenance"]  # abdominal pain: a SYMPTOM
    # our own write-back comes back as a notification: the loop guard stops it
    env.notify_full(doc)
    assert env.drain() == ["unchanged"]
    assert env.engine.calls == 1
    assert env.upstream.transactions == 1
    assert env.upstream.versions["DocumentReference/doc-1"] == 2


def test_server_specific_meta_does_not_block_enrichment() -> None:
    env = Env()
    stored = env.upstream.put(document())
    stored["meta"].update({"author": {"reference": "Practitioner/x"}, "project": "p1"})  # Medplum
    env.upstream.resources["DocumentReference/doc-1"] = stored
    env.notify_full(stored)
    assert env.drain() == ["updated:SUCCESS"]
    written = env.upstream.read("DocumentReference", "doc-1")
    assert written is not None
    assert "project" not in written["meta"]


def test_id_only_notification_reads_the_resource_upstream() -> None:
    env = Env()
    env.upstream.put(document("doc-2"))
    env.notify_id("doc-2", "1")
    assert env.drain() == ["updated:SUCCESS"]
    assert env.handler.documents.index.state("doc-2") is not None
    env.upstream.delete("DocumentReference/doc-2")  # deleted upstream: 410 Gone
    env.notify_id("doc-2")
    assert env.drain() == ["skipped:gone"]
    row = next(r for r in env.queue.rows() if r["outcome"] == "skipped:gone")
    assert row["state"] == "gone"  # not counted as done
    assert env.queue.status()["queue"]["gone"] == 1
    assert env.queue.status()["queue"]["done"] == 1  # only the first notice
    assert env.handler.documents.index.state("doc-2") is None


def test_document_not_found_upstream_is_retried_then_dead_lettered_never_done() -> None:
    env = Env(max_attempts=2)
    env.notify_id("doc-9", "1")  # not (yet) readable upstream: 404, not 410
    assert env.drain() == [None]
    (row,) = env.queue.rows()
    assert (row["state"], row["last_error"][:8]) == ("pending", "[NLP607]")
    env.upstream.put(document("doc-9"))  # replicated meanwhile: the retry succeeds
    env.now += 100
    assert env.drain() == ["updated:SUCCESS"]
    env.notify_id("doc-10", "1")  # never appears: a dead letter after the attempts
    for _ in range(3):
        env.drain()
        env.now += 100
    row = next(r for r in env.queue.rows() if r["resource_id"] == "doc-10")
    assert (row["state"], row["attempts"]) == ("dead", 2)
    assert env.queue.status()["queue"]["done"] == 1


def test_transient_engine_failure_is_retried_with_backoff() -> None:
    env = Env(FakeEngine(fail_times=1))
    env.notify_full(env.upstream.put(document()))
    assert env.drain() == [None]  # attempt 1 failed, job back to pending, not yet due
    (row,) = env.queue.rows()
    assert row["state"] == "pending"
    assert row["last_error"].startswith("[NLP110]")
    env.now += 10
    assert env.drain() == ["updated:SUCCESS"]
    assert env.queue.status()["failures"]["failed_attempts"] == 1


def test_dead_letter_after_max_attempts() -> None:
    env = Env(FakeEngine(fail_times=99), max_attempts=2)
    env.notify_full(env.upstream.put(document()))
    env.drain()
    env.now += 100
    env.drain()
    (row,) = env.queue.rows()
    assert row["state"] == "dead"
    assert row["attempts"] == 2
    assert env.upstream.versions["DocumentReference/doc-1"] == 1  # nothing written


def test_invalid_document_is_dead_lettered_at_once() -> None:
    env = Env()
    bad = document()
    bad["content"] = "not a list"
    env.notify_full(bad)
    env.drain()
    (row,) = env.queue.rows()
    assert row["state"] == "dead"
    assert row["attempts"] == 1
    assert row["last_error"].startswith("[NLP")


def test_recovered_job_rereads_the_current_version() -> None:
    env = Env()
    v1 = env.upstream.put(document())
    env.notify_full(v1)
    job = env.queue.claim()
    assert job is not None
    env.handler(job)  # the write-back happened, then the process died before complete()
    assert env.queue.recover() == 1
    assert env.drain() == ["unchanged"]  # the current (enriched) version stops at the loop guard
    assert env.engine.calls == 1
    assert env.upstream.versions["DocumentReference/doc-1"] == 2


def test_older_notice_is_superseded_by_a_newer_one() -> None:
    env = Env()
    v1 = env.upstream.put(document())
    v2 = env.upstream.put(document(text="Patient denies abdominal pain today."))
    env.notify_full(v1)
    env.notify_full(v2)
    assert env.drain() == ["skipped:superseded", "updated:SUCCESS"]
    assert env.engine.calls == 1


def test_version_written_upstream_meanwhile_is_not_overwritten() -> None:
    env = Env()
    v1 = env.upstream.put(document())
    env.notify_full(v1)
    edited = env.upstream.put({**v1, "description": "edited upstream meanwhile"})  # v2
    assert edited["meta"]["versionId"] == "2"
    assert env.drain() == ["updated:SUCCESS"]  # v1's write-back refused (If-Match), v2 enriched
    doc = env.upstream.read("DocumentReference", "doc-1")
    assert doc is not None
    assert doc["description"] == "edited upstream meanwhile"
    assert any("aws-cm" in e["url"] for e in doc.get("extension", []))
    assert env.upstream.versions["DocumentReference/doc-1"] == 3


def test_pool_threads_drain_the_queue() -> None:
    env = Env()
    for i in range(5):
        env.notify_full(env.upstream.put(document(f"d{i}")))
    env.pool.threads = 2
    env.pool.poll_s = 0.05
    env.queue.clock = time.time
    env.pool.start()
    deadline = time.monotonic() + 20
    while env.queue.status()["queue"]["depth"] and time.monotonic() < deadline:
        time.sleep(0.05)
    env.pool.stop()
    assert env.pool.alive == 0
    assert [r["outcome"] for r in env.queue.rows()] == ["updated:SUCCESS"] * 5
    assert env.engine.calls == 5


@pytest.mark.parametrize(
    ("exc", "permanent"),
    [
        (TransientEngineError("x"), False),
        (PermanentEngineError("x"), True),
        (UpstreamError("x", code="NLP501", status=422), True),
        (UpstreamError("x", code="NLP501", status=409), False),
        (UpstreamError("x", code="NLP501", status=412), False),
        (UpstreamError("x", code="NLP502", status=503, retryable=True), False),
        (ValueError("bad"), True),
        (RuntimeError("bug"), False),
    ],
)
def test_error_classification(exc: Exception, permanent: bool) -> None:
    assert is_permanent(exc) is permanent


def test_an_outcome_is_recorded_once_the_database_is_back() -> None:
    """The database restarts just as a job finishes: the outcome is retried, not left as
    'processing' until the lease expires (600 s)."""
    from api.store.base import StoreError

    env = Env()
    env.notify_full(env.upstream.put(document()))
    real_complete = env.queue.complete
    failures = iter([True, True, False])

    def flaky_complete(*args: Any, **kwargs: Any) -> None:
        if next(failures):
            raise StoreError("database unavailable (OperationalError)", code="NLP503")
        real_complete(*args, **kwargs)

    env.queue.complete = flaky_complete  # type: ignore[method-assign]
    env.pool.record_timeout_s = 5.0
    assert env.drain() == ["updated:SUCCESS"]
    (row,) = env.queue.rows()
    assert row["state"] == "done"
    assert env.upstream.transactions == 1  # processed once, recorded after two failures
    env.queue.complete = lambda *a, **k: (_ for _ in ()).throw(StoreError("x", code="NLP530"))  # type: ignore[method-assign]
    env.notify_full(env.upstream.put({**document(), "description": "new"}))
    with pytest.raises(StoreError):  # not a transient database failure: raised at once
        env.pool.run_once()
