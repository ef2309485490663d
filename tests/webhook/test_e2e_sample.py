"""End to end with a repository sample and its recorded result: upstream holds what we compute.

The service (uvicorn) replays ``samples/nlp/otitis-strep.json``; the document written upstream
by Medplum is enriched through the webhook, and the resources upstream are exactly the ones an
in-process ``DocumentService.process`` run produces for the same document (same ids, same bodies).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from api.service import DocumentService
from api.store.sqlite import Database, SqliteNlpIndex
from enrich.policy import EnrichmentPolicy
from nlp.factory import make_engine
from tests.webhook.conftest import FakeUpstream, fixed_clock
from tests.webhook.servers import ROOT, Medplum, Service, wait_for

pytestmark = pytest.mark.node

SAMPLE = ROOT / "samples" / "otitis-strep.json"
RECORDED = ROOT / "samples" / "nlp" / "otitis-strep.json"


@pytest.fixture
def medplum() -> Iterator[Medplum]:
    if not RECORDED.is_file():
        pytest.skip("samples/nlp/otitis-strep.json is not there")
    server = Medplum()
    yield server
    server.stop()


def comparable(resource: dict[str, Any]) -> dict[str, Any]:
    """A resource without server-set or run-time fields (meta, Provenance times)."""
    body = {k: v for k, v in resource.items() if k != "meta"}
    if body.get("resourceType") == "Provenance":
        body.pop("recorded", None)
        body.pop("occurredDateTime", None)
    return body


def test_upstream_holds_what_the_service_computes(medplum: Medplum, tmp_path: Path) -> None:
    svc = Service(
        {
            "DOCREF_NLP_DB_PATH": str(tmp_path / "svc.sqlite"),
            "DOCREF_NLP_ENGINE": f"replay:{RECORDED}",
            "DOCREF_NLP_UPSTREAM": "fhir",
            "DOCREF_NLP_UPSTREAM_URL": medplum.base,
        },
        log=tmp_path / "service.log",
    ).start()
    try:
        medplum.subscribe(svc.url + "webhook", "id-only")
        sample = json.loads(SAMPLE.read_text(encoding="utf-8"))
        sample.pop("meta", None)
        v1 = medplum.create(sample)  # Medplum assigns its own id and version
        doc_id = str(v1["id"])
        wait_for(lambda: medplum.versions("DocumentReference", doc_id) == 2, 30, "the write-back")
        wait_for(svc.idle, 15, "our own write-back notification to be handled")
    finally:
        svc.stop()

    upstream = {ref: medplum.read(*ref.split("/")) for ref in medplum.derived_from(doc_id)}
    assert medplum.versions("DocumentReference", doc_id) == 2

    # the same document through the application service, in process, into a fake upstream
    fake = FakeUpstream()
    DocumentService(
        engine=make_engine(f"replay:{RECORDED}"),
        policy=EnrichmentPolicy(),
        clock=fixed_clock,
        store=fake,
        index=SqliteNlpIndex(Database(":memory:")),
    ).process(v1)
    expected = {k: v for k, v in fake.resources.items() if k != f"DocumentReference/{doc_id}"}
    assert sorted(upstream) == sorted(expected)
    assert len(upstream) >= 3, sorted(upstream)
    for ref, resource in upstream.items():
        assert comparable(resource) == comparable(expected[ref]), ref
    ours = medplum.read("DocumentReference", doc_id)
    mine = fake.resources[f"DocumentReference/{doc_id}"]
    ext = [e for e in ours["extension"] if "aws-cm" in e["url"]]
    assert ext == [e for e in mine["extension"] if "aws-cm" in e["url"]]
