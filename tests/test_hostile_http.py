"""Hostile input over HTTP: schemathesis generates requests from the service's own OpenAPI
(``api/openapi.py``: every FHIR operation per type, its bodies and search parameters) and sends
them to the service under uvicorn. Every answer must be a success or a 4xx OperationOutcome
with a coded diagnostic: never a 5xx, never a hang (each call has a timeout).

``SCHEMATHESIS_EXAMPLES`` sets the examples per operation (``make test``: 12; ``make
test-hostile``: 200). The totals are printed at the end of the run (cases, 5xx, hangs).
"""

from __future__ import annotations

import os
import tempfile
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings

from api.app import create_app
from tests.api.conftest import make_settings
from tests.api.live import serve
from tests.api.nlp_data import RESULTS, STREP_TEXT, document
from tests.fakes import FakeEngine

EXAMPLES = int(os.environ.get("SCHEMATHESIS_EXAMPLES", "12"))
TIMEOUT_S = 20.0
#: What the run saw (printed by ``tests/conftest.py`` at the end of the session).
COUNTS: Counter[str] = Counter()


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    """The service under uvicorn on a SQLite file, with a few documents to read and search."""
    with tempfile.TemporaryDirectory() as tmp:
        settings_ = make_settings(db_path=str(Path(tmp) / "hostile.sqlite"), intake_workers=1)
        app = create_app(settings_, engine=FakeEngine(RESULTS))
        with serve(app) as base:
            for i, patient in enumerate(("p1", "p2", "p3")):
                doc = document(STREP_TEXT, doc_id=f"d{i}", patient=patient, identifier=f"n-{i}")
                requests.put(f"{base}/DocumentReference/d{i}", json=doc, timeout=TIMEOUT_S)
            yield base


#: The schema the service serves (built without starting it: it only depends on the routes).
SCHEMA = schemathesis.openapi.from_dict(create_app(make_settings()).openapi())
OPERATIONS = {op.ok().label: op.ok() for op in SCHEMA.get_all_operations()}


@pytest.fixture(scope="module")
def api_schema(base_url: str) -> Any:
    served = requests.get(f"{base_url}/openapi.json", timeout=TIMEOUT_S).json()
    assert served == SCHEMA.raw_schema  # the tested schema is the served one
    return SCHEMA


def check_answer(response: Any) -> None:
    """A success, or a 4xx OperationOutcome whose diagnostics start with an ``[NLPxxx]`` code."""
    status = response.status_code
    assert status < 500, f"{status}: {response.text[:300]}"
    if status >= 400:
        content_type = response.headers.get("content-type") or [""]
        if isinstance(content_type, list):  # schemathesis keeps every value of a header
            content_type = content_type[0]
        assert content_type.startswith("application/fhir+json"), content_type
        body = response.json()
        assert body["resourceType"] == "OperationOutcome"
        assert body["issue"][0]["diagnostics"].startswith("[NLP")


@pytest.mark.parametrize("label", sorted(OPERATIONS))
def test_every_generated_request_is_answered_without_5xx_or_hang(
    api_schema: Any, base_url: str, label: str
) -> None:
    operation = OPERATIONS[label]

    @given(case=operation.as_strategy())
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
        database=None,
    )
    def run(case: Any) -> None:
        COUNTS["cases"] += 1
        try:
            response = case.call(base_url=base_url, timeout=TIMEOUT_S)
        except requests.Timeout:
            COUNTS["hangs"] += 1
            raise
        COUNTS[f"{response.status_code // 100}xx"] += 1
        check_answer(response)

    run()


def summary() -> str:
    """``cases N, 2xx N, 4xx N, 5xx N, hangs N`` of this run."""
    parts = [f"cases {COUNTS['cases']}"]
    parts += [f"{k} {COUNTS[k]}" for k in ("2xx", "4xx", "5xx", "hangs")]
    return ", ".join(parts)


def test_the_openapi_describes_bodies_and_search_parameters(api_schema: Any) -> None:
    raw = api_schema.raw_schema
    search = raw["paths"]["/DocumentReference"]["get"]["parameters"]
    names = {p["name"] for p in search}
    assert {"patient", "infer-icd10cm-entity-text-concept-score", "_count", "_include"} <= names
    assert raw["paths"]["/DocumentReference/{id}"]["put"]["requestBody"]["content"][
        "application/fhir+json"
    ]["schema"] == {"$ref": "#/components/schemas/DocumentReference"}
    assert "/{resource_type}" not in raw["paths"]  # concrete paths only: generated cases land
    assert raw["paths"]["/$analyze"]["post"]["requestBody"]["content"]["text/plain"]


def test_a_generated_document_is_enriched(base_url: str) -> None:
    """The schema's DocumentReference reaches the enrichment (not only the validators)."""
    doc: dict[str, Any] = document(STREP_TEXT, doc_id="gen-1")
    response = requests.put(f"{base_url}/DocumentReference/gen-1", json=doc, timeout=TIMEOUT_S)
    assert response.status_code in (200, 201)
    assert response.headers["x-nlp-status"] == "SUCCESS"
