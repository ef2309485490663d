"""AllergyIntolerance through the FHIR API: read, search by code/patient/derived-from, _include."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from enrich.fhir import validate_resource
from tests.api.conftest import ids, make_settings, put, search_ids
from tests.api.nlp_data import document
from tests.fakes import FixedClock
from tests.unit.meaning_fixtures import build_engine

NOTE = "ALLERGIES:\nPenicillin (rash), shellfish.\n\nSOCIAL HISTORY:\nFormer smoker.\n"


@pytest.fixture
def client() -> Iterator[TestClient]:
    app = create_app(make_settings(), engine=build_engine(), clock=FixedClock())
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


def test_allergies_are_stored_searchable_and_included(client: TestClient) -> None:
    put(client, document(NOTE, doc_id="a1", patient="p5"))
    put(client, document("Allergies: NKDA.\n", doc_id="a2", patient="p6"))
    by_doc = search_ids(client, "AllergyIntolerance", {"derived-from": "a1"})
    assert len(by_doc) == 2
    assert search_ids(client, "AllergyIntolerance", {"derived-from": "a2"}) == set()
    assert search_ids(client, "AllergyIntolerance", {"patient": "Patient/p5"}) == by_doc
    pcn = search_ids(
        client, "AllergyIntolerance", {"code": "http://www.nlm.nih.gov/research/umls/rxnorm|7980"}
    )
    assert len(pcn) == 1
    assert pcn <= by_doc
    food = search_ids(client, "AllergyIntolerance", {"category": "food"})
    assert len(food) == 1
    assert food | pcn == by_doc
    assert search_ids(client, "AllergyIntolerance", {"manifestation": "R21"}) == pcn
    (one,) = pcn
    read = client.get(f"/AllergyIntolerance/{one}")
    assert read.status_code == 200
    validate_resource(read.json())
    assert read.json()["patient"] == {"reference": "Patient/p5"}
    bundle = client.get(
        "/DocumentReference", params={"_id": "a1", "_include": "DocumentReference:nlp-generated"}
    ).json()
    included = ids(bundle, "include")
    assert by_doc <= included
    smoking = search_ids(client, "Observation", {"code": "http://loinc.org|72166-2"})
    assert len(smoking) == 1
    assert smoking <= included


def test_capability_statement_lists_allergy_intolerance(client: TestClient) -> None:
    statement = client.get("/metadata").json()
    (resource,) = [r for r in statement["rest"][0]["resource"] if r["type"] == "AllergyIntolerance"]
    names = {p["name"] for p in resource["searchParam"]}
    assert {"code", "patient", "derived-from", "category", "clinical-status"} <= names
    validate_resource(statement)
