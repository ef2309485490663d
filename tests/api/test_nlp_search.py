"""NLP search over the REST API: the seed's query, every parameter (+/-), matching semantics."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.search_params import NLP_PARAMS
from tests.api.conftest import ids, load_corpus, make_settings, search_ids, seed_query_url
from tests.api.nlp_data import RESULTS
from tests.fakes import FakeEngine, FixedClock


@pytest.fixture(scope="module")
def clock() -> FixedClock:
    return FixedClock()


@pytest.fixture(scope="module")
def client(clock: FixedClock) -> Iterator[TestClient]:
    """One service with the five documents for the whole module (the searches only read)."""
    app = create_app(make_settings(), engine=FakeEngine(RESULTS), clock=clock)
    with TestClient(app, raise_server_exceptions=False) as test_client:
        load_corpus(test_client)
        yield test_client


ALL = {"strep", "strep-high", "split", "meniere", "pdf"}

# (parameter, value that matches, expected ids, value that must not match the strep note)
CASES = [
    (
        "detectEntities-entity-category",
        "MEDICATION",
        {"strep", "split"},
        "TEST_TREATMENT_PROCEDURE",
    ),
    ("detectEntities-entity-text", "amox", {"strep"}, "penicillin"),
    ("detectEntities-entity-type", "GENERIC_NAME", {"strep", "split"}, "BRAND_NAME"),
    ("detectEntities-entity-score", "0.98", {"strep"}, "0.5"),
    (
        "detectEntities-entity-text-category",
        "amoxicillin|MEDICATION",
        {"strep"},
        "amoxicillin|MEDICAL_CONDITION",
    ),
    ("detectEntities-entity-type-score", "GENERIC_NAME|gt0.95", {"strep"}, "DX_NAME|0.99"),
    ("detectEntities-entity-text-score", "otitis|0.98", {"strep"}, "otitis|0.92"),
    (
        "detectEntities-entity-text-type",
        "streptococcal|DX_NAME",
        {"strep", "strep-high", "split"},
        "amoxicillin|DX_NAME",
    ),
    (
        "detectEntities-entity-category-score",
        "MEDICATION|ge0.99",
        {"strep"},
        "MEDICAL_CONDITION|0.9976",
    ),
    ("infer-icd10cm-entity-text", "strep", {"strep", "strep-high", "split"}, "pneumonia"),
    ("infer-icd10cm-entity-score", "0.92", {"strep"}, "0.5"),
    ("infer-icd10cm-entity-concept-code", "H66.90", {"strep"}, "H66"),
    ("infer-icd10cm-entity-concept-description", "streptococcal sepsis", {"strep"}, "sepsis"),
    ("infer-icd10cm-entity-concept-score", "0.7176407", {"strep"}, "0.8"),
    ("infer-icd10cm-entity-text-concept-code", "otitis|H66.9", {"strep"}, "otitis|J02.0"),
    ("infer-icd10cm-entity-text-concept-score", "streptococcal|0.6", {"strep"}, "otitis|0.6"),
    (
        "infer-icd10cm-entity-concept-description-concept-score",
        "Streptococcal pharyngitis|0.6",
        {"strep"},
        "Streptococcal pharyngitis|0.53",
    ),
    ("infer-rxnorm-entity-score", "0.9976", {"strep"}, "0.5"),
    ("infer-rxnorm-entity-text", "AMOX", {"strep", "strep-high"}, "ibuprofen extra"),
    ("infer-rxnorm-entity-concept-code", "308191", {"strep"}, "30819"),
    ("infer-rxnorm-entity-concept-description", "amoxicillin 500", {"strep"}, "500 MG"),
    ("infer-rxnorm-entity-concept-score", "0.55", {"strep"}, "0.7"),
    (
        "infer-rxnorm-entity-text-concept-code",
        "amoxicillin|723",
        {"strep", "strep-high"},
        "ibuprofen|723",
    ),
    (
        "infer-rxnorm-entity-text-concept-score",
        "Amoxicillin|0.8",
        {"strep", "strep-high"},
        "Amoxicillin|0.9",
    ),
    (
        "infer-rxnorm-entity-concept-description-concept-score",
        "amoxicillin 500|0.55",
        {"strep"},
        "amoxicillin 500|0.8",
    ),
    ("cm-decoration-status", "UNSUPPORTED_CONTENT", {"pdf"}, "VALIDATION_ERROR"),
]


def test_every_nlp_parameter_has_a_case() -> None:
    assert {c[0] for c in CASES} == set(NLP_PARAMS)
    assert len(NLP_PARAMS) == 26


@pytest.mark.parametrize(("param", "value", "expected", "_neg"), CASES, ids=[c[0] for c in CASES])
def test_parameter_positive(
    client: TestClient, param: str, value: str, expected: set[str], _neg: str
) -> None:
    assert search_ids(client, "DocumentReference", {param: value}) == expected


@pytest.mark.parametrize(("param", "_pos", "_exp", "value"), CASES, ids=[c[0] for c in CASES])
def test_parameter_negative(
    client: TestClient, param: str, _pos: str, _exp: set[str], value: str
) -> None:
    assert search_ids(client, "DocumentReference", {param: value}) == set()


def test_seed_query_finds_the_strep_note_only(client: TestClient, clock: FixedClock) -> None:
    url = seed_query_url(clock)
    tomorrow = (clock.now + timedelta(days=1)).date().isoformat()
    response = client.get(url)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/fhir+json")
    bundle = response.json()
    assert bundle["resourceType"] == "Bundle"
    assert bundle["type"] == "searchset"
    assert ids(bundle) == {"strep"}
    assert bundle["total"] == 1
    # before the documents were written: nothing
    old = url.replace(f"le{tomorrow}", "le2020-01-01")
    assert ids(client.get(old).json()) == set()


def test_composite_matches_inside_one_entity_only(client: TestClient) -> None:
    # "Streptococcal carrier state" (concept 0.31) and "Headache" (concept 0.6) are two entities.
    separate = {
        "infer-icd10cm-entity-text": "streptococcal",
        "infer-icd10cm-entity-concept-score": "0.6",
    }
    assert "split" in search_ids(client, "DocumentReference", separate)
    composite = {"infer-icd10cm-entity-text-concept-score": "streptococcal|0.6"}
    assert search_ids(client, "DocumentReference", composite) == {"strep"}


def test_description_score_composite_matches_inside_one_concept(client: TestClient) -> None:
    # 0.7989 belongs to "amoxicillin", 0.55 to "amoxicillin 500 MG Oral Tablet"
    same = {"infer-rxnorm-entity-concept-description-concept-score": "amoxicillin 500|0.8"}
    assert search_ids(client, "DocumentReference", same) == set()
    apart = [
        ("infer-rxnorm-entity-concept-description", "amoxicillin 500"),
        ("infer-rxnorm-entity-concept-score", "0.8"),
    ]
    assert search_ids(client, "DocumentReference", apart) == {"strep"}


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ([("infer-icd10cm-entity-text:exact", "streptococcal sore throat")], {"strep"}),
        ([("infer-icd10cm-entity-text:exact", "Streptococcal sore throat")], set()),
        ([("infer-icd10cm-entity-text:exact", "streptococcal")], set()),
        ([("infer-icd10cm-entity-text:contains", "SORE")], {"strep"}),
        ([("infer-icd10cm-entity-text", "sore")], set()),
        ([("detectEntities-entity-text", "meniere")], {"meniere"}),
        ([("detectEntities-entity-text", "MÉNIÈRE DIS")], {"meniere"}),
        ([("infer-rxnorm-entity-text-concept-score", "Amoxicillin$0.8")], {"strep", "strep-high"}),
        ([("infer-rxnorm-entity-text-concept-score:exact", "amoxicillin|0.8")], set()),
        (
            [("infer-rxnorm-entity-text-concept-score:exact", "Amoxicillin|0.8")],
            {"strep", "strep-high"},
        ),
        ([("infer-icd10cm-entity-concept-code", "H66.90,R51.9")], {"strep", "split"}),
        (
            [
                ("infer-icd10cm-entity-concept-code", "H66.90"),
                ("infer-icd10cm-entity-concept-code", "R51.9"),
            ],
            set(),
        ),
        (
            [
                ("infer-icd10cm-entity-concept-code", "J02.0"),
                ("infer-icd10cm-entity-concept-code", "A40.9"),
            ],
            {"strep"},
        ),
        ([("infer-icd10cm-entity-text-concept-score", "otitis|0.6,headache|0.6")], {"split"}),
        ([("infer-icd10cm-entity-concept-score", "ge0.93")], {"strep-high"}),
        ([("infer-icd10cm-entity-concept-score", "gt0.93")], set()),
        ([("infer-icd10cm-entity-concept-score", "le0.31")], {"split"}),
        ([("infer-icd10cm-entity-concept-score", "lt0.31")], set()),
        (
            [
                ("infer-rxnorm-entity-concept-score", "ne0.95"),
                ("detectEntities-entity-text", "ibuprofen"),
            ],
            set(),
        ),
        ([("infer-rxnorm-entity-concept-score", "ap0.8")], {"strep", "strep-high"}),
        ([("infer-icd10cm-entity-concept-code", "H66.90"), ("subject", "Patient/p1")], {"strep"}),
        ([("infer-icd10cm-entity-concept-code", "H66.90"), ("subject", "Patient/p2")], set()),
        ([("cm-decoration-status", "SUCCESS")], ALL - {"pdf"}),
        ([("cm-decoration-status", "SUCCESS,UNSUPPORTED_CONTENT")], ALL),
    ],
)
def test_matching_semantics(
    client: TestClient, params: list[tuple[str, str]], expected: set[str]
) -> None:
    assert search_ids(client, "DocumentReference", params) == expected


def test_post_search_form_equals_get(client: TestClient) -> None:
    form = "infer-rxnorm-entity-text-concept-score=Amoxicillin%7C0.8&subject=Patient%2Fp1"
    response = client.post(
        "/DocumentReference/_search",
        content=form,
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 200
    assert ids(response.json()) == {"strep"}


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"infer-icd10cm-entity-score": "abc"}, "NLP402"),
        ({"infer-icd10cm-entity-score": "nan"}, "NLP402"),
        ({"infer-rxnorm-entity-text-concept-score": "Amoxicillin"}, "NLP402"),
        ({"infer-rxnorm-entity-concept-code:contains": "72"}, "NLP402"),
        ({"infer-icd10cm-entity-text:below": "true"}, "NLP402"),
        ({"infer-icd10-entity-text": "x"}, "NLP403"),
        ({"_count": "-1"}, "NLP402"),
        ({"_sort": "score"}, "NLP402"),
        ({"_lastUpdated": "le2021-13-45"}, "NLP402"),
    ],
)
def test_bad_search_is_a_400_operation_outcome(
    client: TestClient, params: dict[str, str], code: str
) -> None:
    response = client.get("/DocumentReference", params=params)
    assert response.status_code == 400
    outcome = response.json()
    assert outcome["resourceType"] == "OperationOutcome"
    assert outcome["issue"][0]["diagnostics"].startswith(f"[{code}]")


def test_nlp_parameter_on_another_type_is_refused(client: TestClient) -> None:
    response = client.get("/Condition", params={"infer-icd10cm-entity-text": "strep"})
    assert response.status_code == 400
    assert response.json()["issue"][0]["diagnostics"].startswith("[NLP403]")


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"infer-rxnorm-entity-text:missing": "true"}, {"meniere", "pdf"}),
        ({"infer-rxnorm-entity-text:missing": "false"}, {"strep", "strep-high", "split"}),
        ({"detectEntities-entity-category:missing": "true"}, {"pdf"}),
        ({"infer-icd10cm-entity-concept-score:missing": "false"}, ALL - {"pdf"}),
        ({"cm-decoration-status:missing": "true"}, set()),
        ({"cm-decoration-status:missing": "false"}, ALL),
    ],
)
def test_missing_modifier(client: TestClient, params: dict[str, str], expected: set[str]) -> None:
    assert search_ids(client, "DocumentReference", params) == expected


def test_missing_modifier_errors(client: TestClient) -> None:
    for params in (
        {"infer-rxnorm-entity-text:missing": "yes"},
        {"infer-rxnorm-entity-text-concept-code:missing": "true"},
    ):
        response = client.get("/DocumentReference", params=params)
        assert response.status_code == 400
        assert response.json()["issue"][0]["diagnostics"].startswith("[NLP402]")
