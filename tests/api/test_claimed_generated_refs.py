"""A document's system-generated-resources extension is written by the client: the references
it claims are not what the store recorded as generated from the document, and re-enriching it
never deletes a resource generated from another document, nor another document."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from enrich.urls import SGR
from tests.api.conftest import put
from tests.api.nlp_data import MENIERE_TEXT, STREP_TEXT, document


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
