"""Two service replicas (processes) on one PostgreSQL: FHIR writes and webhook workers agree."""

from __future__ import annotations

import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from tests.webhook.conftest import document, replay_result
from tests.webhook.servers import Service, wait_for

FHIR = {"Content-Type": "application/fhir+json"}


@pytest.fixture
def replicas(pg_url: str, tmp_path: Path) -> Iterator[list[Service]]:
    replay = tmp_path / "replay.json"
    replay.write_text(json.dumps(replay_result()), encoding="utf-8")
    env = {
        "DOCREF_NLP_DB_PATH": pg_url,
        "DOCREF_NLP_ENGINE": f"replay:{replay}",
        "DOCREF_NLP_UPSTREAM": "none",
        "DOCREF_NLP_INTAKE_WORKERS": "2",
        "DOCREF_NLP_INTAKE_BACKOFF_S": "0.05",
    }
    services = [Service(env, log=tmp_path / f"replica-{i}.log") for i in range(2)]
    try:
        for service in services:
            service.start()
        yield services
    finally:
        for service in services:
            service.stop()


def _versions(service: Service, doc_id: str) -> list[str]:
    bundle = service.http.get(f"{service.url}DocumentReference/{doc_id}/_history").json()
    return [e["resource"]["meta"]["versionId"] for e in bundle.get("entry", []) if "resource" in e]


def test_replicas_share_versions_search_and_the_intake_queue(replicas: list[Service]) -> None:
    a, b = replicas

    # FHIR API: the same documents updated through both replicas at once
    def put(job: tuple[int, int]) -> int:
        n, round_ = job
        doc = document(f"api-{n}")
        doc.pop("meta")
        doc["description"] = f"round {round_}"
        service = replicas[(n + round_) % 2]
        response = service.http.put(
            f"{service.url}DocumentReference/api-{n}", content=json.dumps(doc), headers=FHIR
        )
        return response.status_code

    with ThreadPoolExecutor(max_workers=6) as pool:
        created = list(pool.map(put, [(n, 0) for n in range(6)]))
        updated = list(pool.map(put, [(n, r) for r in (1, 2) for n in range(6)]))  # same docs
    assert created == [201] * 6
    assert updated == [200] * 12
    for n in range(6):
        assert _versions(a, f"api-{n}") == ["3", "2", "1"] == _versions(b, f"api-{n}")
    found = b.http.get(
        f"{b.url}DocumentReference",
        params={"infer-icd10cm-entity-text": "abdominal", "_summary": "count"},
    ).json()
    assert found["total"] == 6

    # webhook: every notification sent to both replicas; each document is processed once
    def notify(job: tuple[Service, dict[str, Any]]) -> int:
        service, body = job
        return service.http.post(f"{service.url}webhook", json=body).status_code

    docs = [document(f"hook-{n}") for n in range(8)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        codes = list(pool.map(notify, [(s, d) for d in docs for s in (a, b)]))
    assert set(codes) <= {200, 202}

    def drained() -> bool:
        return a.idle() and b.idle() and a.status()["queue"]["done"] == len(docs)

    wait_for(drained, 60, "both replicas to drain the shared queue", step_s=0.2)
    status = b.status()
    assert status["duplicates_dropped"] == len(docs)  # the copy sent to the other replica
    assert status["queue"]["dead"] == 0
    for doc in docs:
        assert _versions(a, doc["id"]) == ["1"]  # written once, by one worker
    found = a.http.get(
        f"{a.url}DocumentReference",
        params={"infer-icd10cm-entity-text": "abdominal", "_summary": "count"},
    ).json()
    assert found["total"] == 6 + len(docs)  # the workers' index rows are searchable
