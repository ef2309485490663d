"""Crash test: SIGKILL with notifications queued; after a restart each is processed exactly once."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path

import pytest

from api.intake.queue import IntakeQueue
from api.store.sqlite import Database
from tests.webhook.conftest import NOTE, crash_env
from tests.webhook.servers import Medplum, Service, free_port, wait_for

pytestmark = pytest.mark.node

DOCS = 6
DELAY_S = 0.8  # test-only slow engine: one note every 0.8 s per worker


@pytest.fixture
def medplum() -> Iterator[Medplum]:
    server = Medplum()
    yield server
    server.stop()


def test_sigkill_with_queued_notifications_loses_nothing(medplum: Medplum, tmp_path: Path) -> None:
    db_path, env = crash_env(tmp_path, DELAY_S, UPSTREAM="fhir", UPSTREAM_URL=medplum.base)
    port = free_port()  # the same port after the restart: the subscription keeps its endpoint
    svc = Service(env, port=port, log=tmp_path / "service.log").start()
    medplum.subscribe(svc.url + "webhook", "full-resource")
    doc_ids = []
    for i in range(DOCS):
        doc = {
            "resourceType": "DocumentReference",
            "status": "current",
            "description": f"note {i}",
            "subject": {"reference": f"Patient/p{i}"},
            "content": [
                {
                    "attachment": {
                        "contentType": "text/plain",
                        "data": base64.b64encode(NOTE.encode()).decode(),
                    }
                }
            ],
        }
        doc_ids.append(str(medplum.create(doc)["id"]))

    def all_accepted() -> bool:
        accepted = {x["focus"] for x in medplum.deliveries() if x["status"] == 202}
        return sum(f.split("/")[1] in doc_ids for f in accepted) == DOCS

    wait_for(all_accepted, 20, "every notification to be accepted")
    # kill while some are done and others still queued (one may be in flight)
    wait_for(lambda: svc.status()["queue"]["done"] >= 1, 20, "a first document to be processed")
    queue_at_kill = svc.status()["queue"]
    svc.kill()
    assert queue_at_kill["pending"] + queue_at_kill["processing"] >= 2, queue_at_kill

    svc = Service(env, port=port, log=tmp_path / "service.log").start()
    try:

        def finished() -> bool:
            return svc.idle() and all(
                medplum.versions("DocumentReference", d) >= 2 for d in doc_ids
            )

        wait_for(finished, 60, "the restarted service to finish the queue", step_s=0.2)
        wait_for(svc.idle, 10, "write-back notifications to drain")
        status = svc.status()
    finally:
        svc.stop()

    # nothing lost, nothing done twice: every document was written back exactly once
    for doc_id in doc_ids:
        assert medplum.versions("DocumentReference", doc_id) == 2, doc_id
        generated = medplum.derived_from(doc_id)
        assert sorted(r.split("/")[0] for r in generated) == [
            "Linkage",
            "Observation",
            "Provenance",
        ]
    assert status["queue"]["dead"] == 0
    rows = list(IntakeQueue(Database(db_path)).rows())
    originals = [r for r in rows if r["version_id"] and r["resource_id"] in doc_ids]
    by_doc: dict[str, list[str]] = {}
    for r in originals:
        by_doc.setdefault(r["resource_id"], []).append(r["state"])
    assert set(by_doc) == set(doc_ids)
    assert all(state == "done" for states in by_doc.values() for state in states)
    writes = [r for r in originals if str(r["outcome"]).startswith(("updated", "created"))]
    assert sorted(r["resource_id"] for r in writes) == sorted(doc_ids)  # one write-back each
