"""Fixtures of the API tests: a FakeEngine replaying recorded results, an app on ``:memory:``."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.settings import Settings
from tests.api.nlp_data import (
    MENIERE_TEXT,
    RESULTS,
    SPLIT_TEXT,
    STREP_HIGH_TEXT,
    STREP_TEXT,
    document,
)
from tests.fakes import FakeEngine, FixedClock

FHIR_JSON = "application/fhir+json"


def make_settings(**overrides: Any) -> Settings:
    values: dict[str, Any] = {"db_path": ":memory:", "intake_workers": 0}
    values.update(overrides)
    return Settings(**values)


@pytest.fixture
def engine() -> FakeEngine:
    return FakeEngine(RESULTS)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock()


@pytest.fixture
def client(engine: FakeEngine, clock: FixedClock) -> Iterator[TestClient]:
    app = create_app(make_settings(), engine=engine, clock=clock)
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


def put(client: TestClient, doc: dict[str, Any]) -> dict[str, Any]:
    response = client.put(f"/DocumentReference/{doc['id']}", json=doc)
    assert response.status_code in (200, 201), response.text
    body: dict[str, Any] = response.json()
    return body


def load_corpus(client: TestClient) -> dict[str, str]:
    """Five documents: strep (the seed's match), strep-high, split, meniere, a PDF."""
    docs = {
        "strep": document(STREP_TEXT, doc_id="strep", patient="p1", date="2021-12-01T10:00:00Z"),
        "strep-high": document(STREP_HIGH_TEXT, doc_id="strep-high", patient="p2"),
        "split": document(
            SPLIT_TEXT, doc_id="split", patient="p3", date="2020-06-15T08:30:00+02:00"
        ),
        "meniere": document(MENIERE_TEXT, doc_id="meniere", patient="p1"),
        "pdf": document(None, doc_id="pdf", patient="p4"),
    }
    for doc in docs.values():
        put(client, doc)
    return {name: name for name in docs}


@pytest.fixture
def corpus(client: TestClient) -> dict[str, str]:
    """The five documents, written through the API."""
    return load_corpus(client)


def ids(bundle: dict[str, Any], mode: str = "match") -> set[str]:
    """Ids of the entries of a searchset with that search mode."""
    return {
        e["resource"]["id"]
        for e in bundle.get("entry", [])
        if e.get("search", {}).get("mode", "match") == mode
    }


def seed_query_url(clock: FixedClock) -> str:
    """The HealthLake guide's search example (stray ``;`` included), up to tomorrow."""
    tomorrow = (clock.now + timedelta(days=1)).date().isoformat()
    return (
        f"/DocumentReference?_lastUpdated=le{tomorrow}"
        "&infer-icd10cm-entity-text-concept-score;=streptococcal|0.6"
        "&infer-rxnorm-entity-text-concept-score=Amoxicillin|0.8"
    )


def search_ids(client: TestClient, resource_type: str, params: Any) -> set[str]:
    response = client.get(f"/{resource_type}", params=params)
    assert response.status_code == 200, response.text
    return ids(response.json())
