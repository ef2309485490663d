"""End to end: Medplum notifies our uvicorn service, which enriches and writes back upstream.

The enriched document and its generated resources must appear upstream exactly once, even when
every notification is delivered three times and when our own write-back comes back as a
notification (full resource, id-only, and the R4 rest-hook body).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.webhook.conftest import NOTE, replay_result
from tests.webhook.servers import Medplum, Service, wait_for

pytestmark = pytest.mark.node

PROJECT_EXT = "aws-cm"


@pytest.fixture(scope="module")
def medplum() -> Iterator[Medplum]:
    server = Medplum()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def service(medplum: Medplum, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    tmp = tmp_path_factory.mktemp("svc")
    replay = tmp / "replay.json"
    replay.write_text(json.dumps(replay_result()), encoding="utf-8")
    svc = Service(
        {
            "DOCREF_NLP_DB_PATH": str(tmp / "svc.sqlite"),
            "DOCREF_NLP_ENGINE": f"replay:{replay}",
            "DOCREF_NLP_UPSTREAM": "fhir",
            "DOCREF_NLP_UPSTREAM_URL": medplum.base,
            "DOCREF_NLP_INTAKE_WORKERS": "2",
            "DOCREF_NLP_WEBHOOK_SECRET": "hook-secret-0123456789",
        },
        log=tmp / "service.log",
    ).start()
    yield svc
    svc.stop()


def new_document() -> dict[str, object]:
    return {
        "resourceType": "DocumentReference",
        "status": "current",
        "subject": {"reference": "Patient/p1"},
        "content": [
            {
                "attachment": {
                    "contentType": "text/plain",
                    "data": base64.b64encode(NOTE.encode()).decode(),
                }
            }
        ],
    }


@pytest.mark.parametrize("payload", ["full-resource", "id-only", "rest-hook"])
def test_enriched_once_despite_repeats_and_our_own_write_back(
    medplum: Medplum, service: Service, payload: str
) -> None:
    medplum.subscribe(
        service.url + "webhook",
        payload,
        repeat=3,
        headers={"X-Webhook-Secret": "hook-secret-0123456789"},
    )
    before = service.status()
    doc = medplum.create(new_document())
    doc_id = str(doc["id"])

    def settled() -> bool:
        d = medplum.deliveries()  # waits for in-flight deliveries
        events = [x for x in d if x["kind"] == "event-notification"]
        # v1 (3 times) then our write-back v2 (3 times), and nothing left in our queue
        return len(events) >= 6 and service.idle()

    wait_for(settled, 30, "notifications to settle")
    wait_for(service.idle, 10, "an idle queue")

    # exactly one write-back: the original version and the enriched one
    assert medplum.versions("DocumentReference", doc_id) == 2
    enriched = medplum.read("DocumentReference", doc_id)
    assert any(PROJECT_EXT in e["url"] for e in enriched.get("extension", []))
    generated = medplum.derived_from(doc_id)
    assert sorted(r.split("/")[0] for r in generated) == ["Linkage", "Observation", "Provenance"]
    for ref in generated:
        assert medplum.versions(*ref.split("/")) == 1  # written once, never rewritten

    events = [x for x in medplum.deliveries() if x["kind"] == "event-notification"]
    codes = [x["status"] for x in events]
    assert codes.count(202) == 2, codes  # v1 and v2 accepted once each
    assert codes.count(200) == 4, codes  # the repeats: duplicates
    after = service.status()
    assert after["queue"]["done"] - before["queue"]["done"] == 2
    assert after["duplicates_dropped"] - before["duplicates_dropped"] == 4
    assert after["queue"]["dead"] == 0


def test_handshake_heartbeat_and_secret(medplum: Medplum, service: Service) -> None:
    medplum.subscribe(
        service.url + "webhook",
        "full-resource",
        headers={"X-Webhook-Secret": "hook-secret-0123456789"},
    )
    medplum.http.post(medplum.root + "$test/heartbeat")
    kinds = {(x["kind"], x["status"]) for x in medplum.deliveries()}
    assert kinds == {("handshake", 200), ("heartbeat", 200)}
    medplum.subscribe(
        service.url + "webhook", "full-resource", headers={"X-Webhook-Secret": "wrong"}
    )
    assert [x["status"] for x in medplum.deliveries()] == [401]


def test_upstream_store_against_medplum(medplum: Medplum, tmp_path: Path) -> None:
    import httpx

    from api.store.http import HttpFhirStore, UpstreamError

    store = HttpFhirStore(medplum.base, httpx.Client(timeout=10))
    ids = [medplum.create(new_document())["id"] for _ in range(3)]
    bundle = store.search("DocumentReference", [("_count", "2")])
    found = {e["resource"]["id"] for e in bundle["entry"]}
    assert set(ids) <= found  # three pages of two were followed
    many = [f"absent-{i:04d}" for i in range(200)] + ids  # too long for a URL: POST _search
    bundle = store.search("DocumentReference", [("_id", ",".join(many))])
    assert {e["resource"]["id"] for e in bundle["entry"]} == set(ids)
    stored = store.save_all(
        [{"resourceType": "Condition", "id": "e2e-c1", "subject": {"reference": "Patient/p1"}}]
    )
    assert store.transaction_mode == "transaction"  # learnt from Medplum's CapabilityStatement
    assert stored[0]["meta"]["versionId"]
    assert store.read("Condition", "e2e-c1")["id"] == "e2e-c1"
    assert store.read("Condition", "absent") is None
    # optimistic lock: writing back a version that is no longer current is refused
    doc = medplum.create(new_document())
    medplum.http.put(
        f"{medplum.base}DocumentReference/{doc['id']}", json={**doc, "description": "edit"}
    )
    with pytest.raises(UpstreamError) as info:
        store.save_all([{**doc, "description": "stale write-back"}])
    assert info.value.conflict
    assert medplum.read("DocumentReference", str(doc["id"]))["description"] == "edit"
