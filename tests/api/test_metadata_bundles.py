"""CapabilityStatement, SearchParameter definitions, transaction/batch Bundles, sample loading."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.search_params import NLP_PARAMS, SEARCHABLE_TYPES
from enrich.fhir import round_trip
from tests.api.conftest import ids, make_settings, put, search_ids
from tests.api.nlp_data import RESULTS, SPLIT_TEXT, STREP_TEXT, document
from tests.fakes import FakeEngine, FixedClock


def test_capability_statement_lists_everything(client: TestClient) -> None:
    response = client.get("/metadata")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/fhir+json")
    body = response.json()
    round_trip(body)  # valid FHIR (R4B model)
    resources = {r["type"]: r for r in body["rest"][0]["resource"]}
    assert set(resources) == {*SEARCHABLE_TYPES, "Binary"}
    doc = resources["DocumentReference"]
    names = {p["name"] for p in doc["searchParam"]}
    assert set(NLP_PARAMS) <= names
    assert {"_id", "_lastUpdated", "_tag", "subject", "patient", "date", "type"} <= names
    assert {"create", "update", "delete", "read", "vread", "history-instance"} <= {
        i["code"] for i in doc["interaction"]
    }
    assert "DocumentReference:nlp-generated" in doc["searchInclude"]
    assert "Condition:derived-from" in doc["searchRevInclude"]
    assert {"derived-from", "code", "patient", "_tag"} <= {
        p["name"] for p in resources["Condition"]["searchParam"]
    }
    assert {i["code"] for i in body["rest"][0]["interaction"]} == {"transaction", "batch"}


@pytest.mark.parametrize("name", sorted(NLP_PARAMS))
def test_search_parameter_definitions_are_valid(client: TestClient, name: str) -> None:
    response = client.get(f"/SearchParameter/{name}")
    assert response.status_code == 200
    resource = response.json()
    round_trip(resource)
    assert resource["code"] == name
    assert resource["base"] == ["DocumentReference"]
    assert resource["type"] == NLP_PARAMS[name].type


def test_search_parameter_listing(client: TestClient) -> None:
    bundle = client.get("/SearchParameter").json()
    assert bundle["total"] == 26


def _entry(method: str, url: str, resource: dict[str, Any] | None = None, **extra: Any) -> Any:
    entry: dict[str, Any] = {"request": {"method": method, "url": url}, **extra}
    if resource is not None:
        entry["resource"] = resource
    return entry


def test_transaction_is_atomic_and_resolves_urn_uuid(client: TestClient) -> None:
    put(client, document(SPLIT_TEXT, doc_id="old"))
    created = document(STREP_TEXT)
    replacing = document(SPLIT_TEXT, doc_id="x2")
    replacing["relatesTo"] = [{"code": "replaces", "target": {"reference": "urn:uuid:abc"}}]
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            _entry("POST", "DocumentReference", created, fullUrl="urn:uuid:abc"),
            _entry("PUT", "DocumentReference/x2", replacing),
            _entry("DELETE", "DocumentReference/old"),
            _entry("GET", "DocumentReference?infer-rxnorm-entity-concept-code=723"),
        ],
    }
    response = client.post("/", json=bundle)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["type"] == "transaction-response"
    statuses = [e["response"]["status"] for e in body["entry"]]
    assert statuses == ["201 Created", "201 Created", "204 No Content", "200 OK"]
    new_id = body["entry"][0]["resource"]["id"]
    x2 = client.get("/DocumentReference/x2").json()
    assert x2["relatesTo"][0]["target"]["reference"] == f"DocumentReference/{new_id}"
    assert client.get("/DocumentReference/old").status_code == 410
    searched = body["entry"][3]["resource"]
    assert ids(searched) == {new_id}


def test_failed_transaction_changes_nothing(client: TestClient) -> None:
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            _entry("PUT", "DocumentReference/t1", document(STREP_TEXT, doc_id="t1")),
            _entry("PUT", "DocumentReference/t2", {"resourceType": "DocumentReference"}),
        ],
    }
    response = client.post("/", json=bundle)
    assert response.status_code == 400
    assert response.json()["resourceType"] == "OperationOutcome"
    assert client.get("/DocumentReference/t1").status_code == 404
    assert search_ids(client, "DocumentReference", {"infer-icd10cm-entity-text": "otitis"}) == set()
    assert search_ids(client, "Condition", {}) == set()


def test_batch_reports_each_entry(client: TestClient) -> None:
    bundle = {
        "resourceType": "Bundle",
        "type": "batch",
        "entry": [
            _entry("PUT", "DocumentReference/b1", document(STREP_TEXT, doc_id="b1")),
            _entry("PUT", "DocumentReference/b2", {"resourceType": "DocumentReference"}),
            _entry("GET", "DocumentReference/missing"),
            _entry("GET", "DocumentReference/b1"),
        ],
    }
    body = client.post("/", json=bundle).json()
    assert body["type"] == "batch-response"
    statuses = [e["response"]["status"].split()[0] for e in body["entry"]]
    assert statuses == ["201", "400", "404", "200"]
    outcome = body["entry"][1]["response"]["outcome"]
    assert outcome["issue"][0]["diagnostics"].startswith("[NLP210]")
    assert client.get("/DocumentReference/b1").status_code == 200


def test_load_samples_is_idempotent(tmp_path: Path) -> None:
    samples = tmp_path / "samples"
    samples.mkdir()
    for name, text in (("strep", STREP_TEXT), ("split", SPLIT_TEXT)):
        doc = document(text, doc_id=f"sample-{name}")
        (samples / f"{name}.json").write_text(json.dumps(doc), encoding="utf-8")
    (samples / "broken.json").write_text("{", encoding="utf-8")
    db = tmp_path / "var" / "service.sqlite"
    settings = make_settings(db_path=str(db), load_samples=True, samples_dir=str(samples))
    engine = FakeEngine(RESULTS)
    with TestClient(create_app(settings, engine=engine, clock=FixedClock())) as client:
        first = client.get("/DocumentReference/sample-strep").json()
        assert first["meta"]["versionId"] == "1"
    assert len(engine.calls) == 2
    with TestClient(create_app(settings, engine=engine, clock=FixedClock())) as client:
        again = client.get("/DocumentReference/sample-strep").json()
        assert again["meta"]["versionId"] == "1"  # not rewritten on the second start
        assert search_ids(
            client, "DocumentReference", {"infer-icd10cm-entity-concept-code": "J02.0"}
        ) == {"sample-strep"}
    assert len(engine.calls) == 2
    assert db.exists()
