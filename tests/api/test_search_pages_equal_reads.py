"""Search pages hand out bodies unparsed and splice them into the response as stored
(``api.store.codec.LazyResource``); every entry must still be exactly the resource a read
gives, whatever the page: NLP criteria, ``_include``/``_revinclude``, sorting, paging past the
end, a search inside a batch Bundle. Re-enrichment keeps unchanged search values (only what
changed is written again): a changed date or subject must be found, the old one not."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import put
from tests.api.nlp_data import STREP_TEXT, document

PAGES = [
    "/DocumentReference?infer-icd10cm-entity-concept-code=J02.0",
    "/DocumentReference?infer-icd10cm-entity-concept-code=J02.0"
    "&_include=DocumentReference:nlp-generated",
    "/DocumentReference?_include=DocumentReference:nlp-generated&_count=1&_offset=1",
    "/DocumentReference?_revinclude=Condition:derived-from",
    "/Condition?_include=Condition:subject&_sort=-_lastUpdated",
    "/Condition?_count=2&_offset=1",
    "/MedicationStatement",
    "/Observation",
    "/Linkage",
    "/Provenance",
    "/DocumentReference?_sort=date",
    "/DocumentReference?infer-icd10cm-entity-concept-code=J02.0&_count=1&_offset=7",
]


def _entries(bundle: dict[str, Any]) -> list[dict[str, Any]]:
    return [entry["resource"] for entry in bundle.get("entry", [])]


@pytest.mark.parametrize("url", PAGES)
def test_every_entry_is_what_a_read_gives(
    client: TestClient, corpus: dict[str, str], url: str
) -> None:
    response = client.get(url)
    assert response.status_code == 200, response.text
    for resource in _entries(response.json()):
        read = client.get(f"/{resource['resourceType']}/{resource['id']}")
        assert read.status_code == 200
        assert read.json() == resource


def test_a_search_inside_a_batch_gives_the_same_entries(
    client: TestClient, corpus: dict[str, str]
) -> None:
    url = "DocumentReference?_include=DocumentReference:nlp-generated"
    batch = {
        "resourceType": "Bundle",
        "type": "batch",
        "entry": [{"request": {"method": "GET", "url": url}}],
    }
    response = client.post("/", json=batch)
    assert response.status_code == 200, response.text
    inner = response.json()["entry"][0]["resource"]
    direct = client.get(f"/{url}").json()
    assert _entries(inner) == _entries(direct)
    assert _entries(direct)


def _ids(client: TestClient, resource_type: str, params: dict[str, str]) -> set[str]:
    bundle = client.get(f"/{resource_type}", params=params).json()
    return {resource["id"] for resource in _entries(bundle)}


def test_a_new_subject_replaces_the_old_one_in_search(
    client: TestClient, corpus: dict[str, str]
) -> None:
    put(client, document(STREP_TEXT, doc_id="strep", patient="p1", date="2022-01-01T10:00:00Z"))
    assert "strep" in _ids(client, "DocumentReference", {"date": "2022-01-01"})
    assert "strep" not in _ids(client, "DocumentReference", {"date": "2021-12-01"})
    conditions = _ids(client, "Condition", {"derived-from": "DocumentReference/strep"})
    assert conditions
    assert conditions <= _ids(client, "Condition", {"subject": "Patient/p1"})
    put(client, document(STREP_TEXT, doc_id="strep", patient="p9", date="2022-01-01T10:00:00Z"))
    assert "strep" in _ids(client, "DocumentReference", {"subject": "Patient/p9"})
    assert "strep" not in _ids(client, "DocumentReference", {"subject": "Patient/p1"})
    assert _ids(client, "Condition", {"derived-from": "DocumentReference/strep"}) == conditions
    assert _ids(client, "Condition", {"subject": "Patient/p9"}) == conditions
    assert not conditions & _ids(client, "Condition", {"subject": "Patient/p1"})


def test_a_deleted_then_recreated_document_is_found_as_before(
    client: TestClient, corpus: dict[str, str]
) -> None:
    before = _ids(client, "Condition", {"subject": "Patient/p1"})
    assert before
    assert client.delete("/DocumentReference/strep").status_code in (200, 204)
    assert len(_ids(client, "Condition", {"subject": "Patient/p1"})) < len(before)
    put(client, document(STREP_TEXT, doc_id="strep", patient="p1", date="2021-12-01T10:00:00Z"))
    assert _ids(client, "Condition", {"subject": "Patient/p1"}) == before
    found = _ids(client, "DocumentReference", {"infer-icd10cm-entity-concept-code": "J02.0"})
    assert "strep" in found
