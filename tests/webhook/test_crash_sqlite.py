"""A webhook worker SIGKILLed mid-queue, without Node: the service writes back to its own store.

The service runs in a subprocess (uvicorn, SQLite file, a slow replay engine); notifications
are queued, the process is SIGKILLed while some are done, one in flight and others waiting,
then started again. Afterwards every document is enriched exactly once (one version in the
store, its generated resources once), every queue row is done, none dead: no loss, no
duplicate, and no operator step in between.
"""

from __future__ import annotations

import base64
from pathlib import Path

from api.intake.queue import IntakeQueue
from api.store.sqlite import Database
from tests.webhook.conftest import NOTE, crash_env
from tests.webhook.servers import Service, free_port, wait_for

DOCS = 6
DELAY_S = 0.6


def test_sigkill_of_the_worker_loses_nothing_and_repeats_nothing(tmp_path: Path) -> None:
    db_path, env = crash_env(tmp_path, DELAY_S, UPSTREAM="none")
    port = free_port()
    log = tmp_path / "service.log"
    svc = Service(env, port=port, log=log).start()
    doc_ids = [f"kill-{i}" for i in range(DOCS)]
    for i, doc_id in enumerate(doc_ids):
        doc = {
            "resourceType": "DocumentReference",
            "id": doc_id,
            "meta": {"versionId": "1"},
            "status": "current",
            "description": f"note {i}",
            "subject": {"reference": f"Patient/p{i}"},
            "content": [{"attachment": {"contentType": "text/plain",
                                        "data": base64.b64encode(NOTE.encode()).decode()}}],
        }  # fmt: skip
        assert svc.http.post(svc.url + "webhook", json=doc).status_code == 202
    wait_for(lambda: svc.status()["queue"]["done"] >= 1, 30, "a first document to be processed")
    at_kill = svc.status()["queue"]
    svc.kill()
    assert at_kill["pending"] + at_kill["processing"] >= 2, at_kill

    svc = Service(env, port=port, log=log).start()
    try:
        wait_for(svc.idle, 60, "the restarted service to finish the queue", step_s=0.2)
        status = svc.status()
        histories = {
            d: svc.http.get(f"{svc.url}DocumentReference/{d}/_history").json() for d in doc_ids
        }
        derived = {
            d: svc.http.get(
                f"{svc.url}Observation", params={"derived-from": f"DocumentReference/{d}"}
            ).json()
            for d in doc_ids
        }
        ready = svc.http.get(svc.url + "readyz")
    finally:
        svc.stop()

    assert ready.status_code == 200  # recovered by itself
    assert status["queue"]["dead"] == 0
    for doc_id in doc_ids:
        assert histories[doc_id]["total"] == 1, doc_id  # enriched once: one version
        assert derived[doc_id]["total"] == 1, doc_id  # its finding once
    rows = list(IntakeQueue(Database(db_path)).rows())
    assert sorted(r["resource_id"] for r in rows) == doc_ids
    assert all(r["state"] == "done" for r in rows)
    written = [r for r in rows if str(r["outcome"]).startswith(("created", "updated"))]
    assert len(written) == DOCS  # one write per notification, none repeated
