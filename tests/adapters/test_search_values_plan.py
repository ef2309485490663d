"""The search values of a write, made in one planned pass (``api.store.terms``), equal what
the generic definitions make: ``resource_index`` = ``extract`` then ``resource_terms``, and
``nlp_rows``/``nlp_terms`` = the row-by-row definitions (``test_store_write_forms``), on the
samples, the resources enrichment generates from them and random resources of every indexed
type; a stored (lazily parsed) resource gives the same values, compiled or not."""

from __future__ import annotations

import json
import math
import random
from pathlib import Path
from typing import Any

import pytest

import api.store
from api.search_params import STANDARD_PARAMS
from api.search_values import SearchError, parse_reference, typed_reference
from api.store.codec import LazyResource, dump_bytes
from api.store.extract import extract
from api.store.sql import nlp_rows
from api.store.sqlite_schema import search_values
from api.store.terms import NlpRow, nlp_terms, resource_index, resource_terms, terms_text
from enrich.index import IndexRow
from tests.adapters.test_store_write_forms import _rows, _stored, _terms

SAMPLES = Path(__file__).resolve().parents[2] / "samples"


def _defined(resource_type: str, resource: dict[str, Any]) -> tuple[str, list[Any]]:
    """The index text and dates as ``extract`` and ``resource_terms`` define them."""
    values = extract(resource)
    text = terms_text(resource_terms(resource_type, str(resource["id"]), values))
    return text, values.dates


def _check(resources: list[dict[str, Any]]) -> int:
    """Compare both ways of every resource (also stored, lazily parsed); the count."""
    for resource in resources:
        kind = str(resource["resourceType"])
        expected = _defined(kind, resource)
        assert resource_index(kind, resource) == expected, resource
        lazy = LazyResource(dump_bytes(resource), kind, str(resource["id"]))
        assert resource_index(kind, lazy) == expected
        lazy = LazyResource(dump_bytes(resource), kind, str(resource["id"]))
        assert extract(lazy) == extract(resource)
    return len(resources)


def test_samples_and_their_generated_resources() -> None:
    from cli.bench.stores import enrichment_writes

    samples = [json.loads(p.read_text()) for p in sorted(SAMPLES.glob("*.json"))]
    writes = enrichment_writes(12)
    generated = [dict(r) for w in writes for r in (w.document, *w.generated)]
    kinds = {r["resourceType"] for r in generated}
    assert {"Condition", "MedicationStatement", "Linkage", "Provenance"} <= kinds
    assert _check(samples) == len(samples) > 5
    assert _check(generated) > 100


# ------------------------------------------------------------------ random resources

CODES = ["R51", "", "x" * 1200, "44352ee8-649e-50c2-9d09-cf07b39646a3", "Ménière", "a b"]
REFS = ["Patient/p1", "Encounter/e1", "e2", "", "http://x/fhir/Observation/o1/_history/2",
        "DocumentReference/44352ee8-649e-50c2-9d09-cf07b39646a3", "Bad/", "a%2Fb/c", 7]  # fmt: skip
DATES = ["2024-01-02", "2020-02", "2021", "2020-11-23T06:09:10.719+01:00", "nope", "2024-13-40",
         "2024-01-02T10:00Z", "2024-01-02T10:00:00"]  # fmt: skip


def _leaf(chance: random.Random) -> Any:
    return chance.choice([None, True, False, 3, 2.5, *CODES, [], {}])


def _coding(chance: random.Random) -> Any:
    shape = chance.randrange(6)
    if shape == 0:
        return _leaf(chance)
    coding: dict[str, Any] = {}
    for key, values in (("system", ["s", "", None, 5]), ("code", CODES), ("display", CODES)):
        if chance.random() < 0.6:
            coding[key] = chance.choice([*values, None])
    if shape == 1:
        coding["value"] = chance.choice([*CODES, 7, None])
    return coding


def _value(chance: random.Random, depth: int = 0) -> Any:
    """Any JSON shape a path may hold: codes, Codings, CodeableConcepts, Identifiers,
    References, Periods, dates, lists of them, and odd values."""
    shape = chance.randrange(9)
    if shape == 0:
        return _leaf(chance)
    if shape == 1:
        return _coding(chance)
    if shape == 2:
        concept: dict[str, Any] = {"coding": [_coding(chance) for _ in range(chance.randrange(4))]}
        if chance.random() < 0.3:
            concept = {"text": "t"} if chance.random() < 0.5 else {"text": "t", "system": "s"}
        return concept
    if shape == 3:
        return {"reference": chance.choice(REFS), "type": chance.choice(["Patient", None])}
    if shape == 4:
        return chance.choice(DATES)
    if shape == 5:
        period = {"start": chance.choice([*DATES, None]), "end": chance.choice([*DATES, None])}
        return {k: v for k, v in period.items() if chance.random() < 0.8}
    if shape == 6 and depth < 2:
        return [_value(chance, depth + 1) for _ in range(chance.randrange(4))]
    if shape == 7 and depth < 2:  # an element with children (paths of several steps)
        names = ["resource", "encounter", "attachment", "contentType", "who", "what", "type"]
        return {n: _value(chance, depth + 1) for n in names if chance.random() < 0.4} | {
            "type": chance.choice(["source", "alternate", None])
        }
    return None


def _resource(chance: random.Random, kind: str, n: int) -> dict[str, Any]:
    resource: dict[str, Any] = {"resourceType": kind, "id": f"r{n}"}
    tags = [_coding(chance) for _ in range(chance.randrange(3))]
    if chance.random() < 0.7:
        resource["meta"] = {"tag": tags if chance.random() < 0.8 else (tags or [None])[0]}
    for param in STANDARD_PARAMS[kind].values():
        for path in param.paths:
            if chance.random() < 0.6:
                head = path.split(".")[0].split("[")[0]
                resource[head] = _value(chance)
    return resource


@pytest.mark.parametrize("kind", sorted(STANDARD_PARAMS))
def test_random_resources_of_every_type(kind: str) -> None:
    chance = random.Random(f"plan-{kind}")
    resources = [_resource(chance, kind, n) for n in range(150)]
    assert _check(resources) == 150
    found = [resource_index(kind, r) for r in resources]
    assert any(len(text.split()) > 3 for text, _ in found)  # values were found, not only ids


def test_typed_references_are_those_parse_reference_finds_with_a_type() -> None:
    texts = [*(r for r in REFS if isinstance(r, str)), " Patient/p1 ", "Patient\\/p1",
             r"Patient/p\,1", "Patient/" + "a" * 65, "patient/p1", "Patient/p1/_history/2",
             "http://x/Patient/p1/extra", "/Patient/p1", "P/p1", "Pa/p1",
             "Patient/p.1-x"]  # fmt: skip
    for text in texts:
        try:
            ref = parse_reference(text)
            expected = (ref.type, ref.id) if ref.type else None
        except SearchError:
            expected = None
        assert typed_reference(text) == expected, text
    assert typed_reference("Patient/p1") == ("Patient", "p1")


def test_a_body_of_another_type_than_its_key_is_indexed_as_defined() -> None:
    body = {"resourceType": "Condition", "id": "c", "subject": {"reference": "Patient/p"}}
    assert resource_index("Basic", body) == _defined("Basic", body)


def test_search_values_of_a_stored_resource_are_those_of_its_json() -> None:
    resource = {
        "resourceType": "Observation",
        "id": "o1",
        "code": {"coding": [{"system": "http://loinc.org", "code": "1-8"}]},
        "subject": {"reference": "Patient/p1"},
        "effectiveDateTime": "2024-05-01",
    }
    lazy = LazyResource(dump_bytes(resource), "Observation", "o1")
    stored = search_values(4, "Observation", lazy)
    assert stored == search_values(4, "Observation", resource)
    assert b"1-8".hex() in stored[0]
    day = ("2024-05-01T00:00:00.000Z", "2024-05-02T00:00:00.000Z")
    assert stored[1] == [(4, "Observation", "date", *day)]


def test_the_search_values_run_compiled_or_say_why_not() -> None:
    assert api.store.MODE == "compiled" or api.store.MODE.startswith("source")


# ------------------------------------------------------------------ NLP rows and terms


def _nan_rows(chance: random.Random, count: int) -> list[IndexRow]:
    """Rows with NaN scores (distinct NaN objects) among copies and plain rows."""
    rows = _rows(chance, count)
    return [
        r.model_copy(update={"score": math.nan}) if chance.random() < 0.2 else r for r in rows
    ] + [r.model_copy(update={"concept_score": float("nan")}) for r in rows[:5]]


def _no_nan(row: NlpRow) -> NlpRow:
    def clean(v: float | None) -> float | None:
        return None if v is not None and math.isnan(v) else v

    return row._replace(score=clean(row.score), concept_score=clean(row.concept_score))


def test_rows_and_terms_equal_their_definitions_with_nan_scores_and_copies() -> None:
    chance = random.Random(21)
    for count in (1, 3, 60, 300):
        for _ in range(10):
            rows = _nan_rows(chance, count)
            expected = list(dict.fromkeys(_no_nan(_stored(r)) for r in rows))
            stored = nlp_rows(rows)
            assert stored == expected
            assert all(type(r) is NlpRow for r in stored)
            assert nlp_terms(stored) == _terms(stored)
            assert nlp_terms(iter(stored)) == _terms(stored)  # any iterable of rows


def test_terms_of_operations_out_of_order_and_of_stored_rows() -> None:
    chance = random.Random(22)
    stored = nlp_rows(_rows(chance, 200))
    shuffled = list(stored)
    chance.shuffle(shuffled)
    assert nlp_terms(shuffled) == nlp_terms(stored) == _terms(stored)
    assert nlp_terms([]) == []
    assert nlp_rows([]) == []
