"""One FhirStore contract suite, run against every store.

Default: the SQLite store (memory and file) and ``HttpFhirStore`` talking to docref-nlp itself
over real HTTP. Opt-in: any FHIR server named by ``DOCREF_NLP_CONTRACT_FHIR_URL`` (with
``DOCREF_NLP_CONTRACT_FHIR_TOKEN``), marked ``aws`` because it is usually HealthLake.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from api.app import create_app
from api.store.base import FhirStore
from api.store.sqlite import Database, SqliteFhirStore
from tests.api.live import serve
from tests.fakes import FakeEngine

STORES = ["sqlite-memory", "sqlite-file", "http-docref-nlp", "http-env"]


def _http_store(url: str, token: str | None = None) -> Any:
    from api.store.http import BearerAuth, HttpFhirStore

    auth = BearerAuth(token) if token else None
    return HttpFhirStore(url, httpx.Client(timeout=30.0), auth)


@pytest.fixture(params=STORES)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[FhirStore]:
    kind = request.param
    if kind == "sqlite-memory":
        yield SqliteFhirStore(Database(":memory:"))
    elif kind == "sqlite-file":
        db = Database(tmp_path / "contract.sqlite")
        yield SqliteFhirStore(db)
        db.close()
    elif kind == "http-docref-nlp":
        from tests.api.conftest import make_settings

        settings = make_settings(db_path=str(tmp_path / "served.sqlite"))
        with serve(create_app(settings, engine=FakeEngine())) as url:
            yield _http_store(url)
    else:
        url = os.environ.get("DOCREF_NLP_CONTRACT_FHIR_URL")
        if not url:
            pytest.skip("set DOCREF_NLP_CONTRACT_FHIR_URL to run the contract on a remote server")
        request.applymarker(pytest.mark.aws)
        yield _http_store(url, os.environ.get("DOCREF_NLP_CONTRACT_FHIR_TOKEN"))


def _doc(doc_id: str, patient: str, status: str = "current") -> dict[str, Any]:
    return {
        "resourceType": "DocumentReference",
        "id": doc_id,
        "status": status,
        "subject": {"reference": f"Patient/{patient}"},
        "content": [{"attachment": {"contentType": "application/pdf", "data": "JVBERi0="}}],
    }


def test_save_read_update_delete(store: FhirStore) -> None:
    doc_id = f"contract-{uuid.uuid4().hex[:12]}"
    assert store.read("DocumentReference", doc_id) is None
    (saved,) = store.save_all([_doc(doc_id, "c1")])
    assert saved["id"] == doc_id
    read = store.read("DocumentReference", doc_id)
    assert read is not None
    assert read["status"] == "current"
    assert read["subject"] == {"reference": "Patient/c1"}
    assert read["meta"]["versionId"]
    store.save_all([_doc(doc_id, "c1", status="superseded")])
    updated = store.read("DocumentReference", doc_id)
    assert updated is not None
    assert updated["status"] == "superseded"
    assert updated["meta"]["versionId"] != read["meta"]["versionId"]
    store.save_all([], delete=[f"DocumentReference/{doc_id}"])
    assert store.read("DocumentReference", doc_id) is None


def test_search_by_id_and_subject(store: FhirStore) -> None:
    tag = uuid.uuid4().hex[:10]
    ids = [f"contract-{tag}-{i}" for i in range(3)]
    store.save_all(
        [_doc(ids[0], f"pa-{tag}"), _doc(ids[1], f"pa-{tag}"), _doc(ids[2], f"pb-{tag}")]
    )
    try:
        bundle = store.search("DocumentReference", [("_id", ids[2])])
        assert bundle["resourceType"] == "Bundle"
        assert [e["resource"]["id"] for e in bundle.get("entry", [])] == [ids[2]]
        bundle = store.search("DocumentReference", [("subject", f"Patient/pa-{tag}")])
        assert {e["resource"]["id"] for e in bundle.get("entry", [])} == set(ids[:2])
    finally:
        store.save_all([], delete=[f"DocumentReference/{i}" for i in ids])
