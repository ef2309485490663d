"""D14 at DEBUG: PHI sentinels driven through every path of the service never reach a log record.

``tests/conftest.py`` logs the whole suite at DEBUG (libraries pinned as in production) and
fails any test whose log records carry a sentinel; here the sentinels are the note text, the
entity text and the patient's identifiers, and each test drives them through one path: the FHIR
API (writes, reads, searches, errors), ``$analyze``, the webhook and its workers (failures
included), the batch command, and an engine that fails with PHI in its exception message.
"""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.intake.queue import Notice
from tests.api.conftest import make_settings
from tests.conftest import PHI_GUARD, PHI_SENTINELS, PhiGuard
from tests.fakes import FakeEngine

NOTE_SENTINEL, ENTITY_SENTINEL, PATIENT_SENTINEL = PHI_SENTINELS
NOTE = (
    f"{NOTE_SENTINEL} Patient seen for {ENTITY_SENTINEL} since Monday. "
    "Started amoxicillin 500 mg three times daily. Follow up in two weeks."
)


def _result() -> dict[str, Any]:
    begin = NOTE.index(ENTITY_SENTINEL)
    end = begin + len(ENTITY_SENTINEL)
    entity = {
        "Id": 0, "BeginOffset": begin, "EndOffset": end, "Score": 0.9,
        "Text": ENTITY_SENTINEL, "Category": "MEDICAL_CONDITION", "Type": "DX_NAME",
        "Traits": [{"Name": "DIAGNOSIS", "Score": 0.9}], "Attributes": [],
    }  # fmt: skip
    icd = {**entity, "ICD10CMConcepts": [{"Description": "Pharyngitis", "Code": "J02.9",
                                          "Score": 0.8}]}  # fmt: skip
    return {"DetectEntitiesV2": {"Entities": [entity]}, "InferICD10CM": {"Entities": [icd]}}


def _document(doc_id: str = "phi-doc", text: str = NOTE) -> dict[str, Any]:
    return {
        "resourceType": "DocumentReference",
        "id": doc_id,
        "status": "current",
        "subject": {"reference": f"Patient/{PATIENT_SENTINEL}", "display": PATIENT_SENTINEL},
        "identifier": [{"system": "urn:mrn", "value": PATIENT_SENTINEL}],
        "content": [
            {
                "attachment": {
                    "contentType": "text/plain",
                    "data": base64.b64encode(text.encode()).decode(),
                }
            }
        ],
    }


@pytest.fixture
def client() -> Iterator[TestClient]:
    app = create_app(make_settings(), engine=FakeEngine({NOTE: _result()}))
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


def test_the_guard_sees_the_suite_and_catches_a_leak() -> None:
    assert PHI_GUARD in logging.getLogger().handlers
    assert logging.getLogger().getEffectiveLevel() == logging.DEBUG
    probe = PhiGuard()
    probe.emit(logging.LogRecord("x", logging.DEBUG, __file__, 1, "text %s", (NOTE,), None))
    probe.emit(logging.LogRecord("x", logging.DEBUG, __file__, 1, "clean", (), None))
    assert probe.leaks == [f"x DEBUG: sentinel {s}" for s in (NOTE_SENTINEL, ENTITY_SENTINEL)]


def test_fhir_api_paths(client: TestClient) -> None:
    before = PHI_GUARD.records
    doc = _document()
    assert client.put("/DocumentReference/phi-doc", json=doc).status_code == 201
    assert client.put("/DocumentReference/phi-doc", json=doc).status_code == 200
    assert client.get("/DocumentReference/phi-doc").status_code == 200
    assert client.get("/DocumentReference/phi-doc/$nlp").status_code == 200
    for params in (
        {"patient": PATIENT_SENTINEL},
        {"identifier": f"urn:mrn|{PATIENT_SENTINEL}"},
        {"detectEntities-entity-text": ENTITY_SENTINEL},
        {"_include": "DocumentReference:nlp-generated"},
    ):
        assert client.get("/DocumentReference", params=params).status_code == 200
    bad = client.get("/DocumentReference", params={f"x-{PATIENT_SENTINEL}": NOTE_SENTINEL})
    assert bad.status_code == 400
    invalid = {**doc, "status": NOTE_SENTINEL}  # a validation error quoting the value
    assert client.put("/DocumentReference/phi-doc", json=invalid).status_code == 400
    broken = json.dumps(doc)[:-5] + NOTE_SENTINEL
    headers = {"content-type": "application/fhir+json"}
    assert (
        client.put("/DocumentReference/phi-doc", content=broken, headers=headers).status_code == 400
    )
    analyze = client.post("/$analyze", content=NOTE, headers={"content-type": "text/plain"})
    assert analyze.status_code == 200
    assert client.delete("/DocumentReference/phi-doc").status_code == 204
    assert PHI_GUARD.records > before  # the paths did log (at DEBUG and INFO)


def test_an_engine_failing_with_phi_in_its_message_is_logged_without_it() -> None:
    engine = FakeEngine(fail_with=RuntimeError(f"cannot parse {NOTE}"))
    with TestClient(create_app(make_settings(), engine=engine), raise_server_exceptions=False) as c:
        response = c.put("/DocumentReference/phi-doc", json=_document())
        assert response.status_code == 500
        assert NOTE_SENTINEL not in response.text  # not in the answer either


def test_webhook_and_workers_with_failures(tmp_path: Path) -> None:
    settings = make_settings(db_path=str(tmp_path / "svc.sqlite"))
    engine = FakeEngine({NOTE: _result()})
    with TestClient(create_app(settings, engine=engine), raise_server_exceptions=False) as c:
        assert c.post("/webhook", json=_document("phi-hook")).status_code == 202
        intake = c.app.state.intake  # type: ignore[attr-defined]
        intake.enqueue([Notice("DocumentReference", "phi-missing", None, None, "id-only")])
        bad = {**_document("phi-bad"), "content": NOTE_SENTINEL}  # invalid: a dead letter
        intake.enqueue([Notice("DocumentReference", "phi-bad", None, bad, "rest-hook")])
        pool = c.app.state.workers  # type: ignore[attr-defined]
        for _ in range(3):
            pool.run_once()
        states = {r["resource_id"]: r["state"] for r in intake.rows()}
        assert states == {"phi-hook": "done", "phi-missing": "pending", "phi-bad": "dead"}
        assert c.get("/status/dead-letters").status_code == 200


def test_batch_reprocess_of_ndjson(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from cli.main import app

    source = tmp_path / "in"
    source.mkdir()
    lines = [json.dumps(_document(f"phi-{i}")) for i in range(3)]
    (source / "DocumentReference.ndjson").write_text("\n".join(lines) + "\n", encoding="utf-8")
    replay = tmp_path / "replay.json"
    replay.write_text(json.dumps(_result()), encoding="utf-8")
    result = CliRunner().invoke(
        app,
        [
            "reprocess", "--from", str(source), "--to", str(tmp_path / "out"),
            "--engine", f"replay:{replay}", "--no-progress",
            "--checkpoint", str(tmp_path / "ckpt.sqlite"),
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
