"""fhirpy against the running service over real HTTP on loopback (uvicorn in a thread)."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fhirpy import SyncFHIRClient
from fhirpy.base.exceptions import OperationOutcome, ResourceNotFound

from api.app import create_app
from tests.api.conftest import make_settings
from tests.api.live import serve
from tests.api.nlp_data import RESULTS, SPLIT_TEXT, STREP_TEXT
from tests.fakes import FakeEngine

TOKEN = "live-test-token-0123456789"


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    db = Path(tmp_path_factory.mktemp("live")) / "live.sqlite"
    settings = make_settings(db_path=str(db), api_tokens=TOKEN)
    with serve(create_app(settings, engine=FakeEngine(RESULTS))) as url:
        yield url


@pytest.fixture(scope="module")
def fhir(base_url: str) -> SyncFHIRClient:
    return SyncFHIRClient(base_url, authorization=f"Bearer {TOKEN}")


def _note(text: str, patient: str) -> dict[str, object]:
    data = base64.b64encode(text.encode("utf-8")).decode("ascii")
    return {
        "status": "current",
        "subject": {"reference": f"Patient/{patient}"},
        "content": [{"attachment": {"contentType": "text/plain; charset=utf-8", "data": data}}],
    }


def test_fhirpy_create_read_search(fhir: SyncFHIRClient) -> None:
    strep = fhir.resource("DocumentReference", **_note(STREP_TEXT, "live-1"))
    strep.save()
    assert strep.id
    assert strep["meta"]["versionId"] == "1"
    other = fhir.resource("DocumentReference", **_note(SPLIT_TEXT, "live-2"))
    other.save()

    read = fhir.reference("DocumentReference", strep.id).to_resource()
    assert read["subject"]["reference"] == "Patient/live-1"
    assert any(e["url"] == "http://healthlake.amazonaws.com/aws-cm/" for e in read["extension"])

    found = (
        fhir.resources("DocumentReference")
        .search(
            **{
                "infer-icd10cm-entity-text-concept-score": "streptococcal|0.6",
                "infer-rxnorm-entity-text-concept-score": "Amoxicillin|0.8",
            }
        )
        .fetch_all()
    )
    assert [r.id for r in found] == [strep.id]

    conditions = fhir.resources("Condition").search(patient="live-1").fetch_all()
    assert conditions
    assert all(c["subject"]["reference"] == "Patient/live-1" for c in conditions)
    derived = fhir.resources("Condition").search(**{"derived-from": strep.id}).fetch_all()
    assert {c.id for c in derived} == {c.id for c in conditions}

    strep["status"] = "superseded"
    strep.save()
    assert strep["meta"]["versionId"] == "2"
    assert fhir.resources("DocumentReference").search(status="superseded").count() == 1


def test_fhirpy_paging_and_errors(fhir: SyncFHIRClient) -> None:
    for i in range(3):
        fhir.resource("DocumentReference", **_note(SPLIT_TEXT, f"page-{i}")).save()
    everything = fhir.resources("DocumentReference").limit(2).fetch_all()
    assert len(everything) >= 3
    with pytest.raises(ResourceNotFound):
        fhir.reference("DocumentReference", "does-not-exist").to_resource()
    with pytest.raises(OperationOutcome):
        fhir.resources("DocumentReference").search(**{"infer-icd10-entity-text": "x"}).fetch()


def test_token_is_checked_over_http(base_url: str) -> None:
    response = httpx.get(f"{base_url}/DocumentReference")
    assert response.status_code == 401
    assert response.json()["issue"][0]["diagnostics"].startswith("[NLP401]")
    assert httpx.get(f"{base_url}/metadata").status_code == 200
