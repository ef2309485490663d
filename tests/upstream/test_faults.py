"""Faults of the upstream FHIR server (issue 9): 429 and 500 answers, timeouts (some after the
write was applied), and the server disappearing mid-run and coming back. The webhook workers
ride it out: every notification ends done, no document is lost, none is enriched twice, and
nobody has to intervene (the queue's backoff retries, the If-Match write-back and the loop
guard make a repeated write harmless)."""

from __future__ import annotations

import copy
import json
import re
from collections import Counter
from typing import Any

import httpx

from api.intake.queue import IntakeQueue, Notice
from api.intake.workers import DocumentHandler, WorkerPool
from api.service import DocumentService
from api.store.http import HttpFhirStore, RetryPolicy
from api.store.sqlite import Database, SqliteNlpIndex
from enrich import extensions as ext
from enrich.policy import EnrichmentPolicy
from tests.webhook.conftest import FakeEngine, document, fixed_clock

BASE = "https://fhir.test/r4/"
_ETAG = re.compile(r'^W/"(\d+)"$')


class FlakyFhirServer:
    """An in-memory FHIR server behind ``httpx.MockTransport`` with scheduled faults.

    ``faults`` maps a request number (1-based) to ``429``, ``500``, ``"timeout"`` (no answer,
    nothing applied) or ``"late-timeout"`` (the write is applied, then the answer is lost);
    while ``down`` is set, every request fails to connect.
    """

    def __init__(self, faults: dict[int, Any]) -> None:
        self.faults = faults
        self.down = False
        self.count = 0
        self.resources: dict[str, dict[str, Any]] = {}
        self.writes: Counter[str] = Counter()  # applied PUTs per Type/id
        self.failures: Counter[str] = Counter()

    def _put(self, resource: dict[str, Any], if_match: str | None) -> tuple[int, dict[str, Any]]:
        key = f"{resource['resourceType']}/{resource['id']}"
        current = self.resources.get(key)
        version = int(current["meta"]["versionId"]) if current else 0
        match = _ETAG.match(if_match or "")
        if if_match is not None and (match is None or int(match.group(1)) != version):
            return 412, {"resourceType": "OperationOutcome", "issue": [
                {"severity": "error", "code": "conflict", "diagnostics": "version"}]}  # fmt: skip
        stored = copy.deepcopy(resource)
        stored["meta"] = {**(resource.get("meta") or {}), "versionId": str(version + 1)}
        self.resources[key] = stored
        self.writes[key] += 1
        return (200 if current else 201), stored

    def _transaction(self, bundle: dict[str, Any]) -> httpx.Response:
        for entry in bundle["entry"]:  # all-or-nothing: check every precondition first
            request = entry["request"]
            if request["method"] == "PUT" and "ifMatch" in request:
                current = self.resources.get(request["url"])
                version = current["meta"]["versionId"] if current else "0"
                if request["ifMatch"] != f'W/"{version}"':
                    return httpx.Response(412, json={"resourceType": "OperationOutcome",
                        "issue": [{"severity": "error", "code": "conflict"}]})  # fmt: skip
        out = []
        for entry in bundle["entry"]:
            request = entry["request"]
            if request["method"] == "PUT":
                status, stored = self._put(entry["resource"], None)
                out.append({"resource": stored, "response": {"status": str(status)}})
            else:
                self.resources.pop(request["url"], None)
                out.append({"response": {"status": "204"}})
        return httpx.Response(200, json={"resourceType": "Bundle",
                                         "type": "transaction-response", "entry": out})  # fmt: skip

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.count += 1
        if self.down:
            self.failures["down"] += 1
            raise httpx.ConnectError("connection refused", request=request)
        fault = self.faults.get(self.count)
        if fault in (429, 500):
            self.failures[str(fault)] += 1
            return httpx.Response(fault, headers={"Retry-After": "1"})
        if fault == "timeout":
            self.failures["timeout"] += 1
            raise httpx.ReadTimeout("no answer", request=request)
        path = request.url.path.removeprefix("/r4/")
        if request.method == "GET" and path == "metadata":
            rest = [{"interaction": [{"code": "transaction"}]}]
            answer = httpx.Response(200, json={"resourceType": "CapabilityStatement", "rest": rest})
        elif request.method == "GET":
            found = self.resources.get(path)
            answer = httpx.Response(200, json=found) if found else httpx.Response(404)
        elif request.method == "POST" and path == "":
            answer = self._transaction(json.loads(request.content))
        else:
            raise AssertionError(f"unexpected {request.method} {path}")
        if fault == "late-timeout":  # applied, but the client never hears of it
            self.failures["late-timeout"] += 1
            raise httpx.ReadTimeout("answer lost", request=request)
        return answer


class Run:
    """Workers writing back through ``HttpFhirStore`` to a ``FlakyFhirServer``."""

    def __init__(self, server: FlakyFhirServer) -> None:
        self.server = server
        self.sleeps: list[float] = []
        client = httpx.Client(transport=httpx.MockTransport(server))
        self.store = HttpFhirStore(
            BASE, client, sleep=self.sleeps.append,
            retry=RetryPolicy(attempts=3, base_s=0.1, max_wait_s=1.0),
        )  # fmt: skip
        self.db = Database(":memory:")
        self.now = 1_000_000.0
        self.queue = IntakeQueue(self.db, max_attempts=8, backoff_base_s=2, clock=lambda: self.now)
        self.engine = FakeEngine()
        documents = DocumentService(
            engine=self.engine, policy=EnrichmentPolicy(), clock=fixed_clock,
            store=self.store, index=SqliteNlpIndex(self.db),
        )  # fmt: skip
        self.pool = WorkerPool(self.queue, DocumentHandler(self.queue, documents))

    def seed(self, n: int, *, id_only: bool) -> list[str]:
        ids = []
        for i in range(n):
            doc = document(f"doc-{i}", version=None)
            _, stored = self.server._put(doc, None)
            resource = None if id_only else stored
            self.queue.enqueue([Notice("DocumentReference", stored["id"], "1", resource, "x")])
            ids.append(stored["id"])
        return ids

    def drain(self, *, rounds: int = 200, between: Any = None) -> None:
        for round_ in range(rounds):
            if between is not None:
                between(round_)
            if self.pool.run_once() is None:
                if self.queue.status()["queue"]["depth"] == 0:
                    return
                self.now += 60  # let the backoff elapse
        raise AssertionError("the queue did not drain")


def enriched_writes(server: FlakyFhirServer, doc_id: str) -> int:
    """Versions of the document written with our processing record."""
    return server.writes[f"DocumentReference/{doc_id}"] - 1  # the seed wrote version 1


def assert_each_enriched_once(run: Run, ids: list[str]) -> None:
    status = run.queue.status()["queue"]
    assert (status["done"], status["dead"], status["depth"]) == (len(ids), 0, 0)
    for doc_id in ids:
        doc = run.server.resources[f"DocumentReference/{doc_id}"]
        assert ext.read_status(doc) == "SUCCESS"  # no loss
        assert enriched_writes(run.server, doc_id) == 1  # no duplicate write-back
    derived = Counter(
        key.split("/")[0] for key in run.server.resources if not key.startswith("Document")
    )
    assert derived["Condition"] + derived["Observation"] == len(ids)  # one finding per note


def test_429_500_and_timeouts_are_retried_without_loss_or_duplicates() -> None:
    faults: dict[int, Any] = {}
    for n in range(1, 400):
        if n % 3 == 0:
            faults[n] = 429
        elif n % 5 == 0:
            faults[n] = 500
        elif n % 7 == 0:
            faults[n] = "timeout"
        elif n % 11 == 0:
            faults[n] = "late-timeout"
    server = FlakyFhirServer(faults)
    run = Run(server)
    ids = run.seed(8, id_only=True)
    run.drain()
    assert server.failures["429"] > 0
    assert server.failures["500"] > 0
    assert server.failures["timeout"] > 0
    assert server.failures["late-timeout"] > 0  # a write applied, its answer lost, then retried
    assert any(s >= 1.0 for s in run.sleeps)  # Retry-After: 1 was honoured
    assert_each_enriched_once(run, ids)
    assert run.engine.calls >= len(ids)


def test_the_server_disappearing_mid_run_and_returning() -> None:
    server = FlakyFhirServer({})
    run = Run(server)
    ids = run.seed(10, id_only=False)

    def weather(round_: int) -> None:
        server.down = 3 <= round_ < 12  # gone for nine rounds, then back

    run.drain(between=weather)
    assert server.failures["down"] > 0
    assert run.queue.status()["failures"]["failed_attempts"] > 0  # jobs failed, then retried
    assert_each_enriched_once(run, ids)
    rows = list(run.queue.rows())
    assert all(r["state"] == "done" for r in rows)
    assert any(r["attempts"] > 1 for r in rows)
