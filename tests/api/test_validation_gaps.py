"""Validation gaps (issue 9): code values, 64-character ids, one resource twice in a
transaction, and documents without a subject told why they generated nothing."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from tests.api.conftest import make_settings, put
from tests.api.nlp_data import RESULTS, STREP_TEXT, document
from tests.fakes import FakeEngine


@pytest.fixture
def client() -> Iterator[TestClient]:
    app = create_app(make_settings(), engine=FakeEngine(RESULTS))
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.mark.parametrize(
    ("field", "value", "allowed"),
    [
        ("status", "bogus", "current, entered-in-error, superseded"),
        ("docStatus", "draft", "amended, entered-in-error, final, preliminary"),
        (
            "relatesTo",
            [{"code": "bogus", "target": {"reference": "DocumentReference/x"}}],
            "appends",
        ),
    ],
)
def test_code_values_outside_their_value_set_are_refused(
    client: TestClient, field: str, value: Any, allowed: str
) -> None:
    doc = {**document(STREP_TEXT, doc_id="d1"), field: value}
    for response in (
        client.put("/DocumentReference/d1", json=doc),
        client.post("/DocumentReference", json=doc),
    ):
        assert response.status_code == 400
        assert "[NLP400]" in response.text
        assert allowed in response.text
    ok = {**document(STREP_TEXT, doc_id="d1"), "docStatus": "final"}
    assert client.put("/DocumentReference/d1", json=ok).status_code == 201


def test_ids_longer_than_64_characters_are_refused(client: TestClient) -> None:
    long_id = "a" * 65
    for path, body in (
        (f"/DocumentReference/{long_id}", document(STREP_TEXT, doc_id=long_id)),
        (f"/DocumentReference/{long_id}", document(STREP_TEXT)),  # id only in the URL
        (f"/Binary/{long_id}", {"resourceType": "Binary", "contentType": "text/plain"}),
        ("/DocumentReference/bad_id!", document(STREP_TEXT)),
    ):
        response = client.put(path, json=body)
        assert response.status_code == 400, path
        assert "1 to 64 letters, digits" in response.text
    assert (
        client.put(f"/DocumentReference/{'a' * 64}", json=document(STREP_TEXT)).status_code == 201
    )
    hook = client.post("/webhook", json=document(STREP_TEXT, doc_id=long_id))
    assert (hook.status_code, "[NLP602]" in hook.text) == (400, True)


def transaction(*entries: dict[str, Any]) -> dict[str, Any]:
    return {"resourceType": "Bundle", "type": "transaction", "entry": list(entries)}


def test_the_same_resource_twice_in_a_transaction_is_refused(client: TestClient) -> None:
    doc = document(STREP_TEXT, doc_id="t1")
    twice = transaction(
        {"resource": doc, "request": {"method": "PUT", "url": "DocumentReference/t1"}},
        {"resource": doc, "request": {"method": "PUT", "url": "DocumentReference/t1"}},
    )
    response = client.post("/", json=twice)
    assert response.status_code == 400
    assert "names DocumentReference/t1 more than once" in response.text
    put_and_delete = transaction(
        {"resource": doc, "request": {"method": "PUT", "url": "DocumentReference/t1"}},
        {"request": {"method": "DELETE", "url": "DocumentReference/t1"}},
    )
    assert client.post("/", json=put_and_delete).status_code == 400
    post = {"method": "POST", "url": "DocumentReference"}
    same_full_url = transaction(
        {"fullUrl": "urn:uuid:1", "resource": document(STREP_TEXT), "request": post},
        {"fullUrl": "urn:uuid:1", "resource": document(STREP_TEXT), "request": post},
    )
    assert client.post("/", json=same_full_url).status_code == 400
    assert client.get("/DocumentReference/t1").status_code == 404  # nothing written


def test_a_conditional_update_resolving_to_a_written_resource_is_refused(
    client: TestClient,
) -> None:
    put(client, document(STREP_TEXT, doc_id="c1", identifier="n-1"))
    bundle = transaction(
        {"resource": document(STREP_TEXT, doc_id="c1", identifier="n-1"),
         "request": {"method": "PUT", "url": "DocumentReference/c1"}},
        {"resource": document(STREP_TEXT, identifier="n-1"),
         "request": {"method": "PUT", "url": "DocumentReference?identifier=urn:test:notes|n-1"}},
    )  # fmt: skip
    response = client.post("/", json=bundle)
    assert response.status_code == 400
    assert "writes DocumentReference/c1 more than once" in response.text
    assert client.get("/DocumentReference/c1").json()["meta"]["versionId"] == "1"  # rolled back


def test_distinct_resources_in_one_transaction_still_pass(client: TestClient) -> None:
    bundle = transaction(
        *(
            {
                "resource": document(STREP_TEXT, doc_id=i),
                "request": {"method": "PUT", "url": f"DocumentReference/{i}"},
            }
            for i in ("u1", "u2")
        ),
        {"request": {"method": "GET", "url": "DocumentReference/u1"}},
    )
    assert client.post("/", json=bundle).status_code == 200


def test_a_document_without_subject_says_why_nothing_was_generated(client: TestClient) -> None:
    doc = document(STREP_TEXT, doc_id="nosubject")
    del doc["subject"]
    response = client.put("/DocumentReference/nosubject", json=doc)
    assert response.status_code == 201
    assert response.headers["x-nlp-status"] == "SUCCESS"
    assert response.headers["x-nlp-notes"] == "NLP233"
    outcome = client.put(
        "/DocumentReference/nosubject", json=doc, headers={"Prefer": "return=OperationOutcome"}
    ).json()
    notes = [issue["diagnostics"] for issue in outcome["issue"]]
    assert notes[0] == "NLP status SUCCESS"
    assert notes[1].startswith("[NLP233] The DocumentReference has no subject")
    assert all(issue["severity"] == "information" for issue in outcome["issue"])
    with_subject = client.put(
        "/DocumentReference/withsubject", json=document(STREP_TEXT, doc_id="withsubject")
    )
    assert "x-nlp-notes" not in with_subject.headers


def test_no_subject_is_recorded_with_the_intake_outcome(tmp_path: Any) -> None:
    text = STREP_TEXT
    doc = {
        "resourceType": "DocumentReference", "id": "hook-nosubject", "status": "current",
        "content": [{"attachment": {"contentType": "text/plain",
                                    "data": base64.b64encode(text.encode()).decode()}}],
    }  # fmt: skip
    app = create_app(make_settings(db_path=str(tmp_path / "s.sqlite")), engine=FakeEngine(RESULTS))
    with TestClient(app, raise_server_exceptions=False) as c:
        assert c.post("/webhook", json=doc).status_code == 202
        c.app.state.workers.run_once()  # type: ignore[attr-defined]
        (row,) = list(c.app.state.intake.rows())  # type: ignore[attr-defined]
    assert row["outcome"] == "created:SUCCESS [NLP233]"
