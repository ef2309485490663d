"""Loss-like failures (issue 9): a Binary that cannot be read is never written as
UNSUPPORTED_CONTENT; the document is retried, and the loop guard does not skip it."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.intake.queue import IntakeQueue, Notice
from api.intake.workers import DocumentHandler, WorkerPool, is_permanent
from api.service import DocumentService, TextUnavailableError, binary_content, read_binary
from api.store.http import UpstreamError
from api.store.sqlite import Database, SqliteNlpIndex
from enrich import extensions as ext
from enrich import urls
from enrich.core import enrich_document
from enrich.policy import EnrichmentPolicy
from tests.api.conftest import make_settings
from tests.api.nlp_data import RESULTS, STREP_TEXT
from tests.fakes import FakeEngine, FixedClock
from tests.webhook.conftest import FakeUpstream, fixed_clock


def url_document(doc_id: str, binary_id: str) -> dict[str, Any]:
    return {
        "resourceType": "DocumentReference",
        "id": doc_id,
        "status": "current",
        "subject": {"reference": "Patient/p1"},
        "content": [{"attachment": {"contentType": "text/plain", "url": f"Binary/{binary_id}"}}],
    }


def binary(binary_id: str, text: str = STREP_TEXT) -> dict[str, Any]:
    return {
        "resourceType": "Binary",
        "id": binary_id,
        "contentType": "text/plain",
        "data": base64.b64encode(text.encode()).decode(),
    }


def status_of(doc: dict[str, Any]) -> str | None:
    return ext.read_status(doc)


@pytest.fixture
def client() -> Iterator[TestClient]:
    app = create_app(make_settings(), engine=FakeEngine(RESULTS))
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


def test_missing_binary_is_a_422_and_nothing_is_written(client: TestClient) -> None:
    response = client.put("/DocumentReference/u1", json=url_document("u1", "b1"))
    assert response.status_code == 422
    assert "[NLP612]" in response.text
    assert client.get("/DocumentReference/u1").status_code == 404
    assert client.put("/Binary/b1", json=binary("b1")).status_code == 201
    stored = client.put("/DocumentReference/u1", json=url_document("u1", "b1"))
    assert stored.status_code == 201
    assert status_of(stored.json()) == "SUCCESS"


def test_a_failed_binary_read_is_a_503_and_nothing_is_written(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    client.put("/Binary/b2", json=binary("b2"))
    store = client.app.state.documents.store  # type: ignore[attr-defined]
    real_read = store.read

    def failing(resource_type: str, resource_id: str) -> Any:
        if resource_type == "Binary":
            raise OSError("disk I/O error")
        return real_read(resource_type, resource_id)

    monkeypatch.setattr(store, "read", failing)
    response = client.put("/DocumentReference/u2", json=url_document("u2", "b2"))
    assert response.status_code == 503
    assert "[NLP613]" in response.text
    monkeypatch.setattr(store, "read", real_read)
    assert client.get("/DocumentReference/u2").status_code == 404


def test_not_followed_urls_stay_unsupported_content(client: TestClient) -> None:
    doc = url_document("u3", "x")
    doc["content"][0]["attachment"]["url"] = "https://elsewhere.example/notes/1"
    response = client.put("/DocumentReference/u3", json=doc)
    assert response.status_code == 201
    assert status_of(response.json()) == "UNSUPPORTED_CONTENT"


def test_read_binary_strict_and_binary_content_lenient() -> None:
    upstream = FakeUpstream()
    with pytest.raises(TextUnavailableError, match=r"\[NLP612\]"):
        read_binary(upstream, "Binary/none")
    assert binary_content(upstream, "Binary/none") is None  # the batch planner's NLP611 path

    class Broken:
        def read(self, resource_type: str, resource_id: str) -> Any:
            raise UpstreamError("upstream down", code="NLP502")

    with pytest.raises(UpstreamError):  # the store's own coded error goes through
        read_binary(Broken(), "Binary/b")
    assert read_binary(upstream, "https://x.example/Patient/1") is None  # not followed
    assert is_permanent(TextUnavailableError("x", code="NLP612")) is False  # 422, yet retried


class Env:
    """Workers writing back to a fake upstream whose Binary is not readable at first."""

    def __init__(self) -> None:
        self.db = Database(":memory:")
        self.now = 1_000_000.0
        self.queue = IntakeQueue(self.db, max_attempts=5, backoff_base_s=5, clock=lambda: self.now)
        self.upstream = FakeUpstream()
        self.engine = FakeEngine(RESULTS)
        self.documents = DocumentService(
            engine=self.engine, policy=EnrichmentPolicy(), clock=fixed_clock,
            store=self.upstream, index=SqliteNlpIndex(self.db),
        )  # fmt: skip
        self.pool = WorkerPool(self.queue, DocumentHandler(self.queue, self.documents))

    def run(self) -> dict[str, Any]:
        self.pool.run_once()
        return list(self.queue.rows())[-1]


def test_webhook_retries_an_unreadable_binary_instead_of_losing_the_note() -> None:
    env = Env()
    doc = env.upstream.put(url_document("w1", "wb1"))
    env.queue.enqueue([Notice("DocumentReference", "w1", "1", doc, "rest-hook")])
    row = env.run()
    assert (row["state"], row["last_error"][:8]) == ("pending", "[NLP612]")
    assert status_of(env.upstream.read("DocumentReference", "w1") or {}) is None  # not written
    env.upstream.put(binary("wb1"))  # the Binary arrives (replication lag)
    env.now += 60
    row = env.run()
    assert (row["state"], row["outcome"]) == ("done", "updated:SUCCESS")
    assert env.engine.calls == [STREP_TEXT]


def test_a_document_recorded_unsupported_by_a_failed_read_is_reprocessed() -> None:
    """The old failure mode: written UNSUPPORTED_CONTENT with no text hash. Two empty hashes no
    longer vouch for it: the Binary is read again, and either analysed or the job retried."""
    env = Env()
    legacy = enrich_document(
        url_document("w2", "wb2"), None, policy=EnrichmentPolicy(), now=FixedClock()(),
        engine_name=env.engine.name, engine_version=env.engine.version,
    ).document  # fmt: skip
    assert status_of(legacy) == "UNSUPPORTED_CONTENT"
    stored = env.upstream.put(legacy)
    env.queue.enqueue([Notice("DocumentReference", "w2", "1", stored, "rest-hook")])
    assert env.run()["last_error"].startswith("[NLP612]")  # still unreadable: retried, not skipped
    env.upstream.put(binary("wb2"))
    env.now += 60
    row = env.run()
    assert row["outcome"] == "updated:SUCCESS"
    after = env.upstream.read("DocumentReference", "w2") or {}
    tree = next(e for e in after["extension"] if e["url"] == urls.AWS_CM)
    assert any(c["url"] != urls.STATUS and c["url"] != urls.MESSAGE for c in tree["extension"])
