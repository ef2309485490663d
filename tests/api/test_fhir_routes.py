"""FHIR REST interactions: CRUD, conditional update, history, generated resources, search."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from enrich.urls import TAG_CODE, TAG_SYSTEM
from tests.api.conftest import FHIR_JSON, ids, put, search_ids
from tests.api.nlp_data import SPLIT_TEXT, STREP_HIGH_TEXT, STREP_TEXT, document
from tests.fakes import FakeEngine


def diagnostics(response: Any) -> str:
    body = response.json()
    assert body["resourceType"] == "OperationOutcome", body
    assert response.headers["content-type"].startswith(FHIR_JSON)
    return str(body["issue"][0]["diagnostics"])


def test_create_assigns_id_enriches_and_returns_201(client: TestClient) -> None:
    doc = document(STREP_TEXT)
    doc["id"] = "client-chosen"  # ignored on create
    response = client.post("/DocumentReference", json=doc)
    assert response.status_code == 201
    body = response.json()
    assert body["id"] != "client-chosen"
    assert body["meta"]["versionId"] == "1"
    assert response.headers["etag"] == 'W/"1"'
    assert response.headers["location"].endswith(f"/DocumentReference/{body['id']}/_history/1")
    urls = [e["url"] for e in body["extension"]]
    assert "http://healthlake.amazonaws.com/aws-cm/" in urls
    read = client.get(f"/DocumentReference/{body['id']}")
    assert read.status_code == 200
    assert read.json() == body


def test_update_creates_then_versions(client: TestClient, engine: FakeEngine) -> None:
    first = client.put("/DocumentReference/d1", json=document(STREP_TEXT, doc_id="d1"))
    assert first.status_code == 201
    second = client.put("/DocumentReference/d1", json=document(SPLIT_TEXT, doc_id="d1"))
    assert second.status_code == 200
    assert second.json()["meta"]["versionId"] == "2"
    assert len(engine.calls) == 2
    history = client.get("/DocumentReference/d1/_history").json()
    assert history["type"] == "history"
    assert [e["response"]["etag"] for e in history["entry"]] == ['W/"2"', 'W/"1"']
    v1 = client.get("/DocumentReference/d1/_history/1")
    assert v1.status_code == 200
    assert v1.json()["meta"]["versionId"] == "1"
    assert client.get("/DocumentReference/d1/_history/9").status_code == 404


def test_same_text_reuses_the_stored_result(client: TestClient, engine: FakeEngine) -> None:
    put(client, document(STREP_TEXT, doc_id="d1"))
    doc = document(STREP_TEXT, doc_id="d1")
    doc["status"] = "superseded"
    stored = put(client, doc)
    assert stored["status"] == "superseded"
    assert len(engine.calls) == 1  # second write replayed the stored NLP result


def generated_refs(client: TestClient, doc_id: str) -> set[str]:
    params = {"_id": doc_id, "_include": "DocumentReference:nlp-generated"}
    bundle = client.get("/DocumentReference", params=params).json()
    return {
        f"{e['resource']['resourceType']}/{e['resource']['id']}"
        for e in bundle.get("entry", [])
        if e["search"]["mode"] == "include"
    }


def test_update_replaces_generated_resources(client: TestClient) -> None:
    put(client, document(STREP_TEXT, doc_id="d1"))
    before = generated_refs(client, "d1")
    assert {r.split("/")[0] for r in before} >= {"Condition", "MedicationStatement", "Linkage"}
    put(client, document(SPLIT_TEXT, doc_id="d1"))
    after = generated_refs(client, "d1")
    assert {r.split("/")[0] for r in after} >= {"Observation", "MedicationStatement"}
    for gone in before - after:
        assert client.get(f"/{gone}").status_code == 410
    assert search_ids(client, "Condition", {"derived-from": "d1"}) == {
        r.split("/")[1] for r in after if r.startswith("Condition/")
    }


def test_update_id_mismatch_and_if_match(client: TestClient) -> None:
    response = client.put("/DocumentReference/a", json=document(STREP_TEXT, doc_id="b"))
    assert response.status_code == 400
    assert diagnostics(response).startswith("[NLP400]")
    put(client, document(STREP_TEXT, doc_id="a"))
    stale = client.put(
        "/DocumentReference/a", json=document(SPLIT_TEXT, doc_id="a"), headers={"If-Match": 'W/"7"'}
    )
    assert stale.status_code == 412
    assert diagnostics(stale).startswith("[NLP412]")
    fresh = client.put(
        "/DocumentReference/a", json=document(SPLIT_TEXT, doc_id="a"), headers={"If-Match": 'W/"1"'}
    )
    assert fresh.status_code == 200


class TestConditionalUpdate:
    URL = "/DocumentReference?identifier=urn:test:notes|n1"

    def test_no_match_no_id_creates(self, client: TestClient) -> None:
        response = client.put(self.URL, json=document(STREP_TEXT, identifier="n1"))
        assert response.status_code == 201
        assert search_ids(client, "DocumentReference", {"identifier": "urn:test:notes|n1"}) == {
            response.json()["id"]
        }

    def test_no_match_new_id_is_update_as_create(self, client: TestClient) -> None:
        doc = document(STREP_TEXT, identifier="n1", doc_id="fresh")
        response = client.put(self.URL, json=doc)
        assert response.status_code == 201
        assert response.json()["id"] == "fresh"

    def test_no_match_existing_id_is_409(self, client: TestClient) -> None:
        put(client, document(SPLIT_TEXT, doc_id="taken", identifier="other"))
        response = client.put(self.URL, json=document(STREP_TEXT, identifier="n1", doc_id="taken"))
        assert response.status_code == 409
        assert diagnostics(response).startswith("[NLP409]")

    def test_one_match_updates(self, client: TestClient) -> None:
        put(client, document(SPLIT_TEXT, doc_id="m1", identifier="n1"))
        for body_id in (None, "m1"):
            doc = document(STREP_TEXT, identifier="n1", doc_id=body_id)
            response = client.put(self.URL, json=doc)
            assert response.status_code == 200
            assert response.json()["id"] == "m1"

    def test_one_match_other_id_is_409(self, client: TestClient) -> None:
        put(client, document(SPLIT_TEXT, doc_id="m1", identifier="n1"))
        response = client.put(self.URL, json=document(STREP_TEXT, identifier="n1", doc_id="zz"))
        assert response.status_code == 409

    def test_several_matches_is_412(self, client: TestClient) -> None:
        put(client, document(SPLIT_TEXT, doc_id="m1", identifier="n1"))
        put(client, document(STREP_TEXT, doc_id="m2", identifier="n1"))
        response = client.put(self.URL, json=document(STREP_TEXT, identifier="n1"))
        assert response.status_code == 412
        assert diagnostics(response).startswith("[NLP412]")

    def test_nlp_criteria_work_too(self, client: TestClient) -> None:
        put(client, document(STREP_TEXT, doc_id="m1"))
        put(client, document(SPLIT_TEXT, doc_id="m2"))
        url = "/DocumentReference?infer-icd10cm-entity-concept-code=H66.90"
        response = client.put(url, json=document(STREP_HIGH_TEXT))
        assert response.status_code == 200
        assert response.json()["id"] == "m1"


def test_delete_removes_generated_and_index(client: TestClient) -> None:
    put(client, document(STREP_TEXT, doc_id="d1"))
    generated = client.get(
        "/DocumentReference", params={"_id": "d1", "_include": "DocumentReference:nlp-generated"}
    ).json()
    included = [e["resource"] for e in generated["entry"] if e["search"]["mode"] == "include"]
    assert {r["resourceType"] for r in included} >= {"Condition", "MedicationStatement", "Linkage"}
    response = client.delete("/DocumentReference/d1")
    assert response.status_code == 204
    assert client.get("/DocumentReference/d1").status_code == 410
    for r in included:
        assert client.get(f"/{r['resourceType']}/{r['id']}").status_code == 410
    assert (
        search_ids(client, "DocumentReference", {"infer-icd10cm-entity-concept-code": "H66.90"})
        == set()
    )
    assert client.get("/DocumentReference/d1/$nlp").status_code == 410
    assert client.delete("/DocumentReference/never").status_code == 404


def test_generated_resources_are_searchable(client: TestClient) -> None:
    put(client, document(STREP_TEXT, doc_id="d1", patient="p9"))
    put(client, document(SPLIT_TEXT, doc_id="d2", patient="p8"))
    by_doc = search_ids(client, "Condition", {"derived-from": "d1"})
    assert by_doc
    conditions = client.get("/Condition", params={"patient": "p9"}).json()
    assert ids(conditions) == by_doc
    codes = {c["code"] for e in conditions["entry"] for c in e["resource"]["code"]["coding"]}
    assert "H66.90" in codes
    hit = search_ids(client, "Condition", {"code": "http://hl7.org/fhir/sid/icd-10-cm|H66.90"})
    assert hit
    assert hit <= by_doc
    assert search_ids(client, "Condition", {"code": "H66.90", "patient": "Patient/p8"}) == set()
    meds = search_ids(client, "MedicationStatement", {"subject": "Patient/p9"})
    assert meds
    assert search_ids(client, "Linkage", {"item": "DocumentReference/d1"})
    assert search_ids(client, "Provenance", {"entity": "DocumentReference/d1"})
    every = client.get("/Condition").json()["total"]
    assert every > 0
    assert client.get("/Condition", params={"_tag": "SYSTEM_GENERATED"}).json()["total"] == every
    coded = {"_tag": f"{TAG_SYSTEM}|{TAG_CODE}"}
    assert client.get("/Condition", params=coded).json()["total"] == every
    assert client.get("/DocumentReference", params=coded).json()["total"] == 0
    # _revinclude from the document side, _include from the generated side
    rev = client.get(
        "/DocumentReference", params={"_id": "d1", "_revinclude": "Condition:derived-from"}
    ).json()
    assert ids(rev, "include") == by_doc
    inc = client.get(
        "/Condition", params={"derived-from": "d1", "_include": "Condition:derived-from"}
    ).json()
    assert ids(inc, "include") == {"d1"}


def test_paging_sort_and_count(client: TestClient) -> None:
    for i in range(5):
        put(client, document(STREP_TEXT, doc_id=f"d{i}"))
    first = client.get(
        "/DocumentReference", params={"_count": "2", "_sort": "-_lastUpdated"}
    ).json()
    assert first["total"] == 5
    assert [e["resource"]["id"] for e in first["entry"]] == ["d4", "d3"]
    links = {link["relation"]: link["url"] for link in first["link"]}
    assert "self" in links
    page = first
    seen: list[str] = []
    while True:
        seen += [e["resource"]["id"] for e in page.get("entry", [])]
        nxt = [link["url"] for link in page["link"] if link["relation"] == "next"]
        if not nxt:
            break
        page = client.get(nxt[0]).json()
    assert seen == ["d4", "d3", "d2", "d1", "d0"]
    by_id = client.get("/DocumentReference", params={"_sort": "_id", "_count": "1"}).json()
    assert by_id["entry"][0]["resource"]["id"] == "d0"
    summary = client.get("/DocumentReference", params={"_summary": "count"}).json()
    assert summary["total"] == 5
    assert "entry" not in summary


def test_standard_parameters(client: TestClient) -> None:
    put(client, document(STREP_TEXT, doc_id="a", patient="p1", date="2021-12-01T10:00:00Z"))
    put(client, document(SPLIT_TEXT, doc_id="b", patient="p2", date="2020-06-15T08:30:00Z"))
    assert search_ids(client, "DocumentReference", {"date": "2021"}) == {"a"}
    assert search_ids(client, "DocumentReference", {"date": "lt2021-01-01"}) == {"b"}
    assert search_ids(client, "DocumentReference", {"date": "ge2020-06-15"}) == {"a", "b"}
    assert search_ids(client, "DocumentReference", {"patient": "p2"}) == {"b"}
    assert search_ids(client, "DocumentReference", {"subject:Patient": "p1"}) == {"a"}
    assert search_ids(client, "DocumentReference", {"type": "http://loinc.org|11506-3"}) == {
        "a",
        "b",
    }
    assert search_ids(client, "DocumentReference", {"category": "47039-3"}) == {"a", "b"}
    assert search_ids(client, "DocumentReference", {"status": "current"}) == {"a", "b"}
    assert search_ids(client, "DocumentReference", {"status:not": "current"}) == set()
    assert search_ids(client, "DocumentReference", {"_id": "a,b,c"}) == {"a", "b"}
    assert search_ids(client, "DocumentReference", {"_lastUpdated": "gt2100-01-01"}) == set()


def test_nlp_result_and_analyze(client: TestClient) -> None:
    put(client, document(STREP_TEXT, doc_id="d1"))
    nlp = client.get("/DocumentReference/d1/$nlp")
    assert nlp.status_code == 200
    body = nlp.json()
    codes = [c["Code"] for e in body["InferICD10CM"]["Entities"] for c in e["ICD10CMConcepts"]]
    assert "J02.0" in codes
    put(client, document(None, doc_id="pdf"))
    assert client.get("/DocumentReference/pdf/$nlp").status_code == 404
    plain = client.post("/$analyze", content=STREP_TEXT, headers={"content-type": "text/plain"})
    assert plain.status_code == 200
    assert plain.json()["InferRxNorm"]["Entities"][0]["Text"] == "Amoxicillin"
    params = {
        "resourceType": "Parameters",
        "parameter": [{"name": "text", "valueString": STREP_TEXT}],
    }
    assert client.post("/$analyze", json=params).json() == plain.json()
    empty = client.post("/$analyze", content=" ", headers={"content-type": "text/plain"})
    assert empty.status_code == 422
    assert diagnostics(empty).startswith("[NLP422]")


def test_unsupported_content_is_stored_without_resources(client: TestClient) -> None:
    stored = put(client, document(None, doc_id="pdf"))
    status = [
        e for e in stored["extension"] if e["url"] == "http://healthlake.amazonaws.com/aws-cm/"
    ]
    assert status
    assert search_ids(
        client, "DocumentReference", {"cm-decoration-status": "UNSUPPORTED_CONTENT"}
    ) == {"pdf"}
    assert search_ids(client, "Condition", {"derived-from": "pdf"}) == set()


def test_linkage_include_and_revinclude(client: TestClient) -> None:
    put(client, document(STREP_TEXT, doc_id="d1"))
    rev = client.get("/DocumentReference", params={"_id": "d1", "_revinclude": "Linkage:item"})
    linkages = [e["resource"] for e in rev.json()["entry"] if e["search"]["mode"] == "include"]
    assert [r["resourceType"] for r in linkages] == ["Linkage"]
    items = {i["resource"]["reference"] for i in linkages[0]["item"]}
    assert "DocumentReference/d1" in items
    inc = client.get(
        "/Linkage", params={"item": "DocumentReference/d1", "_include": "Linkage:item"}
    )
    included = {
        f"{e['resource']['resourceType']}/{e['resource']['id']}"
        for e in inc.json()["entry"]
        if e["search"]["mode"] == "include"
    }
    assert included == items
    only_conditions = client.get(
        "/DocumentReference",
        params={"_id": "d1", "_include": "DocumentReference:nlp-generated:Condition"},
    )
    kinds = {e["resource"]["resourceType"] for e in only_conditions.json()["entry"]}
    assert kinds == {"DocumentReference", "Condition"}


def test_conditional_create(client: TestClient) -> None:
    headers = {"If-None-Exist": "identifier=urn:test:notes|c1"}
    first = client.post(
        "/DocumentReference", json=document(STREP_TEXT, identifier="c1"), headers=headers
    )
    assert first.status_code == 201
    again = client.post(
        "/DocumentReference", json=document(SPLIT_TEXT, identifier="c1"), headers=headers
    )
    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    client.post("/DocumentReference", json=document(SPLIT_TEXT, identifier="c1"))
    several = client.post("/DocumentReference", json=document(SPLIT_TEXT), headers=headers)
    assert several.status_code == 412


def test_healthlake_profile() -> None:
    from api.app import create_app
    from tests.api.conftest import make_settings
    from tests.api.nlp_data import RESULTS
    from tests.fakes import FixedClock

    app = create_app(
        make_settings(profile="healthlake"), engine=FakeEngine(RESULTS), clock=FixedClock()
    )
    with TestClient(app) as client:
        put(client, document(STREP_TEXT, doc_id="d1"))
        found = search_ids(
            client,
            "DocumentReference",
            {"infer-rxnorm-entity-text-concept-score": "Amoxicillin|0.8"},
        )
        assert found == {"d1"}
        meds = client.get("/MedicationStatement", params={"_tag": "SYSTEM_GENERATED"}).json()
        assert meds["total"] == 2  # one per RxNorm concept, as HealthLake did
        assert search_ids(client, "MedicationStatement", {"derived-from": "d1"}) == ids(meds)
        assert search_ids(client, "Provenance", {}) == set()  # clinical profile only


def test_binary_text_is_read_from_the_store(client: TestClient) -> None:
    import base64

    binary = {
        "resourceType": "Binary",
        "contentType": "text/plain; charset=utf-8",
        "data": base64.b64encode(STREP_TEXT.encode("utf-8")).decode("ascii"),
    }
    created = client.post("/Binary", json=binary)
    assert created.status_code == 201
    binary_id = created.json()["id"]
    doc = document(None, doc_id="by-url")
    doc["content"] = [{"attachment": {"contentType": "text/plain", "url": f"Binary/{binary_id}"}}]
    put(client, doc)
    assert search_ids(
        client, "DocumentReference", {"infer-icd10cm-entity-concept-code": "H66.90"}
    ) == {"by-url"}
    elsewhere = document(None, doc_id="remote-url")
    elsewhere["content"] = [{"attachment": {"contentType": "text/plain", "url": "http://x/y"}}]
    put(client, elsewhere)  # never fetched: unsupported content
    assert search_ids(
        client, "DocumentReference", {"cm-decoration-status": "UNSUPPORTED_CONTENT"}
    ) == {"remote-url"}
    assert client.get(f"/Binary/{binary_id}").json()["data"] == binary["data"]
    assert client.get("/Binary", params={"_id": binary_id}).status_code == 404
    stale = client.put(f"/Binary/{binary_id}", json=binary, headers={"If-Match": 'W/"5"'})
    assert stale.status_code == 412
    assert client.delete(f"/Binary/{binary_id}").status_code == 204


def test_prefer_return_minimal(client: TestClient) -> None:
    response = client.put(
        "/DocumentReference/m1",
        json=document(STREP_TEXT, doc_id="m1"),
        headers={"Prefer": "return=minimal"},
    )
    assert response.status_code == 201
    assert response.content == b""
    assert response.headers["etag"] == 'W/"1"'
    assert response.headers["location"].endswith("/DocumentReference/m1/_history/1")
