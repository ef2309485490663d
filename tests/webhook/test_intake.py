"""IntakeQueue on the real service Database: durability, de-duplication, retries, dead letters."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from api.intake.queue import IntakeQueue, Notice
from api.store.sqlite import Database


class Clock:
    def __init__(self) -> None:
        self.t = 1_000_000.0

    def __call__(self) -> float:
        return self.t


def doc(rid: str = "d1", version: str | None = "1", text: str = "a") -> dict[str, Any]:
    d: dict[str, Any] = {"resourceType": "DocumentReference", "id": rid, "description": text}
    if version:
        d["meta"] = {"versionId": version}
    return d


def full(d: dict[str, Any]) -> Notice:
    return Notice(
        "DocumentReference", d["id"], (d.get("meta") or {}).get("versionId"), d, "rest-hook"
    )


def id_only(rid: str, version: str | None = None) -> Notice:
    return Notice("DocumentReference", rid, version, None, "backport-id-only")


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def queue(clock: Clock) -> IntakeQueue:
    return IntakeQueue(Database(":memory:"), max_attempts=3, backoff_base_s=10, clock=clock)


def test_enqueue_is_committed_to_the_file_and_fsynced(tmp_path: Path, clock: Clock) -> None:
    path = tmp_path / "svc.sqlite"
    q = IntakeQueue(Database(path), clock=clock)
    result = q.enqueue([full(doc())])
    assert len(result.accepted) == 1
    # another connection (another process after a crash) sees the committed row
    other = IntakeQueue(Database(path), clock=clock)
    assert [r["state"] for r in other.rows()] == ["pending"]
    with q.db.read() as conn:  # the store's own level is restored after the durable commit
        assert conn.execute("PRAGMA synchronous").fetchone()[0] == 1


def test_duplicates_by_version_and_by_content(queue: IntakeQueue) -> None:
    assert queue.enqueue([full(doc(version="1"))]).accepted
    assert queue.enqueue([full(doc(version="1"))]).duplicates == 1  # same id + version
    assert queue.enqueue([id_only("d1", "1")]).duplicates == 1  # id-only of the same version
    # same content under a new version (a no-op update) is a duplicate too
    assert queue.enqueue([full(doc(version="2"))]).duplicates == 1
    # unversioned bodies: the same content as the latest notice of the resource is dropped
    assert queue.enqueue([full(doc(version=None))]).duplicates == 1
    assert queue.enqueue([full(doc(version=None, text="b"))]).accepted
    # ... but going back to earlier content is a real change (A -> B -> A)
    assert queue.enqueue([full(doc(version=None, text="a"))]).accepted
    assert queue.status()["duplicates_dropped"] == 4
    assert queue.status()["queue"]["pending"] == 3


def test_id_only_without_version_collapses_while_pending(queue: IntakeQueue) -> None:
    assert queue.enqueue([id_only("x")]).accepted
    assert queue.enqueue([id_only("x")]).duplicates == 1
    job = queue.claim()
    assert job is not None
    queue.complete(job, "updated")
    assert queue.enqueue([id_only("x")]).accepted  # processed already: a new event counts


def test_claim_is_fifo_and_one_job_per_resource_at_a_time(queue: IntakeQueue) -> None:
    queue.enqueue([full(doc("a", "1")), full(doc("a", "2", "other")), full(doc("b", "1"))])
    first = queue.claim()
    second = queue.claim()
    assert (first.resource_id, first.version_id) == ("a", "1")  # type: ignore[union-attr]
    assert second.resource_id == "b"  # type: ignore[union-attr]  (a/2 waits for a/1)
    assert queue.claim() is None
    queue.complete(first, "updated")  # type: ignore[arg-type]
    third = queue.claim()
    assert (third.resource_id, third.version_id) == ("a", "2")  # type: ignore[union-attr]
    assert queue.superseded(first)  # type: ignore[arg-type]
    assert not queue.superseded(third)  # type: ignore[arg-type]


def test_transient_failures_back_off_then_dead_letter(queue: IntakeQueue, clock: Clock) -> None:
    queue.enqueue([full(doc())])
    job = queue.claim()
    assert queue.fail(job, "[NLP502] upstream unavailable", permanent=False) == "pending"  # type: ignore[arg-type]
    assert queue.claim() is None  # not due yet
    assert 7.5 <= queue.next_due_in() <= 12.5  # type: ignore[operator]
    clock.t += 13
    job = queue.claim()
    assert job.attempts == 2  # type: ignore[union-attr]
    assert queue.fail(job, "[NLP502] again", permanent=False) == "pending"  # type: ignore[arg-type]
    assert queue.claim() is None
    clock.t += 26  # second backoff is ~20 s
    job = queue.claim()
    assert queue.fail(job, "[NLP502] third", permanent=False) == "dead"  # type: ignore[arg-type]
    s = queue.status()
    assert s["queue"]["dead"] == 1
    assert s["failures"] == {"failed_attempts": 3, "dead_letters": 1}
    (dl,) = queue.dead_letters()
    assert dl["reference"] == "DocumentReference/d1/_history/1"
    assert dl["attempts"] == 3
    assert dl["error"] == "[NLP502] third"
    # the sender re-sends the same notification: revived, not dropped
    r = queue.enqueue([full(doc())])
    assert r.revived == 1
    assert queue.claim().attempts == 1  # type: ignore[union-attr]


def test_permanent_failure_dead_letters_at_once(queue: IntakeQueue) -> None:
    queue.enqueue([full(doc())])
    job = queue.claim()
    assert queue.fail(job, "[NLP120] bad input", permanent=True) == "dead"  # type: ignore[arg-type]


def test_recover_requeues_in_flight_jobs(tmp_path: Path, clock: Clock) -> None:
    path = tmp_path / "svc.sqlite"
    q = IntakeQueue(Database(path), clock=clock)
    q.enqueue([full(doc("a")), full(doc("b"))])
    assert q.claim() is not None  # then the process dies
    after = IntakeQueue(Database(path), clock=clock)
    assert after.recover() == 1
    jobs = [after.claim(), after.claim()]
    assert sorted(j.resource_id for j in jobs if j) == ["a", "b"]
    assert [j.recovered for j in jobs if j and j.resource_id == "a"] == [True]


def test_status_lag_and_throughput(queue: IntakeQueue, clock: Clock) -> None:
    queue.enqueue([full(doc("a")), full(doc("b"))])
    clock.t += 4
    s = queue.status()
    assert s["queue"]["depth"] == 2
    assert s["queue"]["oldest_pending_age_s"] == 4
    job = queue.claim()
    clock.t += 2
    queue.complete(job, "created")  # type: ignore[arg-type]
    s = queue.status()
    assert s["throughput"]["last_60s"]["processed"] == 1
    assert s["throughput"]["last_60s"]["mean_latency_s"] == 6
    assert s["queue"]["done"] == 1
    clock.t += 8 * 24 * 3600
    assert queue.prune(7 * 24 * 3600) == 1


def test_expired_lease_is_taken_back_but_a_live_one_is_not(
    queue: IntakeQueue, clock: Clock
) -> None:
    queue.lease_s = 60
    queue.enqueue([full(doc("a")), full(doc("b"))])
    first = queue.claim()
    assert first is not None
    assert queue.recover(all_in_flight=False) == 0  # another replica still holds it
    clock.t += 61  # its worker died: the lease ran out
    jobs = [queue.claim(), queue.claim()]
    assert sorted((j.resource_id, j.recovered) for j in jobs if j) == [("a", True), ("b", False)]


def test_a_job_that_kills_every_worker_ends_dead(queue: IntakeQueue) -> None:
    queue.enqueue([full(doc())])
    for _ in range(3):  # max_attempts = 3: claimed, then the process dies, each time
        assert queue.claim() is not None
        queue.recover()
    (row,) = list(queue.rows())
    assert row["state"] == "dead"
    assert row["last_error"].startswith("[NLP606]")
