"""The repository's samples through ``--load-samples`` and the seed's search on them."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from enrich.text import extract_text
from tests.api.conftest import ids, make_settings, search_ids, seed_query_url
from tests.conftest import SAMPLES
from tests.fakes import FakeEngine, FixedClock

SEED_STREP = "otitis-strep"


def _engine() -> FakeEngine:
    """Replays ``samples/nlp/<name>.json`` for the exact text of ``samples/<name>.json``."""
    results = {}
    for path in sorted((SAMPLES / "nlp").glob("*.json")):
        doc = json.loads((SAMPLES / path.name).read_text(encoding="utf-8"))
        extracted = extract_text(doc)
        if extracted is not None and extracted.text is not None:
            results[extracted.text] = json.loads(path.read_text(encoding="utf-8"))
    return FakeEngine(results)


@pytest.fixture(scope="module")
def clock() -> FixedClock:
    return FixedClock()


@pytest.fixture(scope="module")
def client(clock: FixedClock) -> Iterator[TestClient]:
    if not (SAMPLES / f"{SEED_STREP}.json").exists():
        pytest.skip("samples/ not built")
    settings = make_settings(load_samples=True, samples_dir=str(SAMPLES))
    with TestClient(create_app(settings, engine=_engine(), clock=clock)) as test_client:
        yield test_client


def _sample_ids() -> dict[str, str]:
    out = {}
    for path in sorted(SAMPLES.glob("*.json")):
        doc = json.loads(path.read_text(encoding="utf-8"))
        if doc.get("resourceType") == "DocumentReference":
            out[path.stem] = doc["id"]
    return out


def test_every_sample_is_loaded(client: TestClient) -> None:
    expected = set(_sample_ids().values())
    bundle = client.get("/DocumentReference", params={"_count": "100"}).json()
    assert ids(bundle) == expected


def test_seed_query_on_the_samples(client: TestClient, clock: FixedClock) -> None:
    url = seed_query_url(clock)
    assert ids(client.get(url).json()) == {_sample_ids()[SEED_STREP]}


def test_statuses_of_the_samples(client: TestClient) -> None:
    sample_ids = _sample_ids()
    unsupported = search_ids(
        client, "DocumentReference", {"cm-decoration-status": "UNSUPPORTED_CONTENT"}
    )
    if "pdf-only" in sample_ids:
        assert sample_ids["pdf-only"] in unsupported
    assert sample_ids[SEED_STREP] not in unsupported
    advil = search_ids(client, "DocumentReference", {"infer-rxnorm-entity-concept-code": "731533"})
    assert advil == {sample_ids["example2-advil"]}
    generated = client.get(
        "/MedicationStatement", params={"derived-from": sample_ids["example2-advil"]}
    )
    statuses = {e["resource"]["status"] for e in generated.json()["entry"]}
    assert statuses == {"not-taken"}  # clinical profile: negated medication


def test_samples_are_built_from_their_notes() -> None:
    from samples.build import check, index

    assert {row["name"] for row in index()} == set(_sample_ids())
    assert check() == []  # byte for byte, and every recorded offset on its text


def test_an_edited_note_is_reported_against_its_recorded_offsets() -> None:
    import base64

    from samples.build import document, index, offset_errors

    (row,) = [r for r in index() if r["name"] == "example2-advil"]
    doc = document(row)
    text = "Tim is not prescribed Advil"  # "Tom" (a recorded NAME at 0-3) edited away
    doc["content"][0]["attachment"]["data"] = base64.b64encode(text.encode()).decode()
    assert offset_errors("example2-advil", doc) == ["example2-advil: DetectEntitiesV2 Id 0 at 0-3"]
