"""Errors are OperationOutcomes with stable codes; bad input never yields a 500; auth (D15)."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from nlp.base import PermanentEngineError
from tests.api.conftest import make_settings
from tests.api.nlp_data import RESULTS, STREP_TEXT, document
from tests.fakes import FakeEngine, FixedClock, FlakyEngine


def server_log(caplog: pytest.LogCaptureFixture) -> str:
    """What the service logged (the test client's own httpx logger excluded)."""
    return "\n".join(r.getMessage() for r in caplog.records if not r.name.startswith("httpx"))


def outcome_code(response: Any) -> str:
    body = response.json()
    assert body["resourceType"] == "OperationOutcome"
    assert response.headers["content-type"].startswith("application/fhir+json")
    text = body["issue"][0]["diagnostics"]
    assert text == body["issue"][0]["details"]["text"]
    return str(text[1:7])


_DOC = "/DocumentReference"
_BAD_DOC = {"resourceType": "DocumentReference", "status": 5, "content": "x"}
_XML = {"content": b"a=b", "headers": {"content-type": "application/xml"}}
_PNG = {"content": b"x", "headers": {"content-type": "image/png"}}


def _deep(levels: int) -> dict[str, Any]:
    ext: dict[str, Any] = {"url": "http://x", "valueString": "v"}
    for _ in range(levels):
        ext = {"url": "http://x", "extension": [ext]}
    doc = document(STREP_TEXT, doc_id="deep")
    doc["extension"] = [ext]
    return doc


def _bundle(kind: str, entry: Any) -> dict[str, Any]:
    return {"json": {"resourceType": "Bundle", "type": kind, "entry": entry}}


@pytest.mark.parametrize(
    ("method", "url", "kwargs", "status", "code"),
    [
        ("GET", "/DocumentReference/nope", {}, 404, "NLP404"),
        ("GET", "/Patient/p1", {}, 404, "NLP404"),
        ("GET", "/Patient", {}, 404, "NLP404"),
        ("GET", "/no/such/endpoint/at/all", {}, 404, "NLP404"),
        ("PATCH", "/DocumentReference/x", {"json": {}}, 405, "NLP405"),
        ("POST", "/Condition", {"json": {"resourceType": "Condition"}}, 405, "NLP405"),
        ("DELETE", "/Condition/c1", {}, 405, "NLP405"),
        ("POST", "/DocumentReference", {"content": b"{not json"}, 400, "NLP400"),
        ("POST", "/DocumentReference", {"content": b""}, 400, "NLP400"),
        ("POST", "/DocumentReference", {"content": b"\xff\xfe\x00"}, 400, "NLP400"),
        ("POST", "/DocumentReference", {"json": []}, 400, "NLP400"),
        ("POST", "/DocumentReference", {"json": "text"}, 400, "NLP400"),
        ("POST", "/DocumentReference", {"json": {"resourceType": "Patient"}}, 400, "NLP400"),
        ("POST", _DOC, {"json": {"resourceType": "DocumentReference"}}, 400, "NLP210"),
        ("POST", _DOC, {"json": _BAD_DOC}, 400, "NLP210"),
        ("POST", _DOC, _XML, 415, "NLP415"),
        ("POST", "/DocumentReference", {"content": b"[" * 100000}, 400, "NLP400"),
        ("PUT", "/DocumentReference", {"json": document(STREP_TEXT)}, 400, "NLP400"),
        ("PUT", "/DocumentReference?foo=bar", {"json": document(STREP_TEXT)}, 400, "NLP403"),
        ("PUT", "/DocumentReference?_count=1", {"json": document(STREP_TEXT)}, 400, "NLP400"),
        ("POST", "/", {"json": {"resourceType": "Bundle", "type": "collection"}}, 400, "NLP400"),
        ("POST", "/", _bundle("transaction", "x"), 400, "NLP400"),
        ("POST", "/", _bundle("transaction", [1]), 400, "NLP400"),
        ("POST", "/", _bundle("batch", [{"request": {"method": "GET"}}]), 200, None),
        ("POST", "/$analyze", {"json": {"resourceType": "Parameters"}}, 400, "NLP400"),
        ("POST", "/$analyze", _PNG, 415, "NLP415"),
        ("GET", "/DocumentReference?_include=Nope:x", {}, 400, "NLP402"),
        ("GET", f"{_DOC}?_include=DocumentReference:status", {}, 400, "NLP402"),
        ("GET", "/DocumentReference?subject=a/b/c/d", {}, 400, "NLP402"),
        ("GET", "/DocumentReference?date=yesterday", {}, 400, "NLP402"),
        ("GET", "/DocumentReference?_summary=data", {}, 400, "NLP402"),
        ("GET", "/DocumentReference/x/_history/abc", {}, 404, "NLP404"),
        ("GET", "/SearchParameter/nope", {}, 404, "NLP404"),
        ("GET", f"{_DOC}?_offset=99999999999999999999", {}, 400, "NLP402"),
        ("GET", f"{_DOC}?_count=99999999999999999999", {}, 400, "NLP402"),
        ("PUT", f"{_DOC}/deep", {"json": _deep(40)}, 400, "NLP400"),
        ("GET", f"{_DOC}/_history", {}, 405, "NLP405"),
    ],
)  # fmt: skip
def test_bad_input_gives_coded_operation_outcome(
    client: TestClient,
    method: str,
    url: str,
    kwargs: dict[str, Any],
    status: int,
    code: str | None,
) -> None:
    response = client.request(method, url, **kwargs)
    assert response.status_code == status, response.text
    if code is None:  # a batch answers 200 and reports the entry's error inside
        entry = response.json()["entry"][0]["response"]
        assert entry["outcome"]["issue"][0]["diagnostics"].startswith("[NLP400]")
    else:
        assert outcome_code(response) == code


def test_transient_engine_failure_is_503_and_writes_nothing() -> None:
    engine = FlakyEngine(RESULTS, failures=1)
    app = create_app(make_settings(), engine=engine, clock=FixedClock())
    with TestClient(app) as client:
        response = client.put("/DocumentReference/d1", json=document(STREP_TEXT, doc_id="d1"))
        assert response.status_code == 503
        assert response.headers["retry-after"] == "5"
        assert outcome_code(response) == "NLP110"
        assert client.get("/DocumentReference/d1").status_code == 404
        retry = client.put("/DocumentReference/d1", json=document(STREP_TEXT, doc_id="d1"))
        assert retry.status_code == 201


def test_permanent_engine_failure_is_502() -> None:
    engine = FakeEngine(fail_with=PermanentEngineError("too long (fake)"))
    app = create_app(make_settings(), engine=engine, clock=FixedClock())
    with TestClient(app) as client:
        response = client.post("/DocumentReference", json=document(STREP_TEXT))
        assert response.status_code == 502
        assert outcome_code(response) == "NLP120"


def test_unexpected_exception_is_500_without_phi_in_logs(caplog: pytest.LogCaptureFixture) -> None:
    secret = "Patient John Smith has HIV"
    engine = FakeEngine(fail_with=RuntimeError(secret))
    app = create_app(make_settings(), engine=engine, clock=FixedClock())
    caplog.set_level(logging.DEBUG)
    with TestClient(app, raise_server_exceptions=False) as client:
        doc = document(STREP_TEXT, doc_id="MRN123", patient="Smith")
        response = client.put("/DocumentReference/MRN123", json=doc)
    assert response.status_code == 500
    assert outcome_code(response) == "NLP500"
    assert secret not in response.text
    logged = server_log(caplog)
    assert "RuntimeError" in logged
    for phi in (secret, "Smith", "HIV"):
        assert phi not in logged
    assert not any(r.exc_info for r in caplog.records)


def test_logs_carry_no_note_text(client: TestClient, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    client.put("/DocumentReference/d1", json=document(STREP_TEXT, doc_id="d1", patient="pat-42"))
    client.get("/DocumentReference", params={"infer-rxnorm-entity-text": "Amoxicillin"})
    logged = server_log(caplog)
    assert "d1" in logged  # ids and timings are logged...
    for phi in ("Amoxicillin", "streptococcal", "pat-42"):  # ...never text or patients
        assert phi not in logged


class TestAuth:
    @pytest.fixture
    def secured(self) -> Any:
        settings = make_settings(api_tokens="token-one-0123456789, token-two-0123456789")
        app = create_app(settings, engine=FakeEngine(RESULTS), clock=FixedClock())
        with TestClient(app) as client:
            yield client

    def test_token_required(self, secured: TestClient) -> None:
        response = secured.get("/DocumentReference")
        assert response.status_code == 401
        assert outcome_code(response) == "NLP401"
        assert response.headers["www-authenticate"].startswith("Bearer")
        wrong = secured.get("/DocumentReference", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401
        ok = secured.get(
            "/DocumentReference", headers={"Authorization": "Bearer token-two-0123456789"}
        )
        assert ok.status_code == 200

    def test_writes_and_operations_need_it_too(self, secured: TestClient) -> None:
        assert secured.post("/DocumentReference", json=document(STREP_TEXT)).status_code == 401
        analyze = secured.post("/$analyze", content="x", headers={"content-type": "text/plain"})
        assert analyze.status_code == 401

    def test_metadata_is_public(self, secured: TestClient) -> None:
        body = secured.get("/metadata").json()
        assert body["rest"][0]["security"]["description"].startswith("Bearer")
