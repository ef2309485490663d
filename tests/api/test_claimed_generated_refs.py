"""A document's system-generated-resources extension is written by the client: the references
it claims are not what the store recorded as generated from the document, and re-enriching it
never deletes a resource generated from another document, nor another document."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from api.service import sourced_from
from api.store.factory import open_store
from enrich.urls import SGR, SRC_DOC
from tests.api.conftest import put
from tests.api.nlp_data import MENIERE_TEXT, STREP_TEXT, document
from tests.fakes import FixedClock


def claiming(doc: dict[str, Any], *refs: str) -> dict[str, Any]:
    """``doc`` with a system-generated-resources extension that lists ``refs``."""
    children = [{"url": "Linkage", "valueReference": {"reference": ref}} for ref in refs]
    return {**doc, "extension": [*doc.get("extension", []), {"url": SGR, "extension": children}]}


def test_refs_claimed_by_a_document_are_not_retired_when_generated_elsewhere(
    client: TestClient,
) -> None:
    put(client, document(MENIERE_TEXT, doc_id="victim", patient="p2"))
    victim_gen = client.get("/Condition", params={"derived-from": "DocumentReference/victim"})
    victim_refs = [f"Condition/{e['resource']['id']}" for e in victim_gen.json()["entry"]]
    assert victim_refs
    put(client, claiming(document(STREP_TEXT, doc_id="d1"), "DocumentReference/victim"))
    put(client, claiming(document(STREP_TEXT + " ", doc_id="d2"), *victim_refs))
    assert client.get("/DocumentReference/victim").status_code == 200
    for ref in victim_refs:
        assert client.get(f"/{ref}").status_code == 200, ref
    # d1's own generated resources are retired as before when no longer produced
    own = client.get("/Condition", params={"derived-from": "DocumentReference/d1"}).json()
    assert own["entry"]
    put(client, document(None, doc_id="d1", patient="p1"))
    own_refs = [f"Condition/{e['resource']['id']}" for e in own["entry"]]
    assert [client.get(f"/{ref}").status_code for ref in own_refs] == [410] * len(own_refs)


def migrated_condition(resource_id: str, source: str) -> dict[str, Any]:
    """A Condition HealthLake generated from ``source``, imported into the store as a plain
    resource (clients cannot write Conditions through the API: NLP405)."""
    return {
        "resourceType": "Condition",
        "id": resource_id,
        "meta": {"tag": [{"display": "SYSTEM_GENERATED"}]},
        "modifierExtension": [
            {"url": SRC_DOC, "valueReference": {"reference": f"DocumentReference/{source}"}}
        ],
        "subject": {"reference": "Patient/p1"},
        "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "J02.0"}]},
    }


def test_refs_claimed_by_a_migrated_document_are_retired_when_they_name_it(
    client: TestClient,
) -> None:
    """A document migrated from HealthLake lists what HealthLake generated from it: re-enriching
    it retires those (they name it as their source), not a plain resource that names another."""
    store = client.app.state.store  # type: ignore[attr-defined]
    store.save_all([migrated_condition("hl-own", "d1"), migrated_condition("hl-other", "d9")])
    put(
        client,
        claiming(document(STREP_TEXT, doc_id="d1"), "Condition/hl-own", "Condition/hl-other"),
    )
    assert client.get("/Condition/hl-own").status_code == 410
    assert client.get("/Condition/hl-other").status_code == 200


def test_only_stored_resources_that_name_the_document_may_be_retired(tmp_path: Path) -> None:
    db, store, _ = open_store(str(tmp_path / "s.sqlite"), clock=FixedClock())
    try:
        store.save_all([migrated_condition("a", "d1"), migrated_condition("b", "d2")])
        claimed = ["Condition/a", "Condition/b", "Condition/none", "DocumentReference/d1", "bad"]
        assert sourced_from(store, "d1", [*claimed, "Condition/a"]) == ["Condition/a"]
        assert sourced_from(store, "d1", []) == []
    finally:
        db.close()
