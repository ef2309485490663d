"""The friendly search form: FHIR parameters, the negated filter, paging on the samples."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.search import parse_search
from api.ui.search import SearchForm, run_search
from nlp.schema import NlpResult
from tests.ui.conftest import CHANGED_ID, recorded, viewer_app

OTITIS_ID = "985c3e94-4219-4c79-97a1-c94694525e24"


@pytest.fixture(scope="module")
def state() -> Iterator[Any]:
    with TestClient(viewer_app()) as client:
        yield client.app.state  # type: ignore[attr-defined]


def test_form_values_are_cleaned() -> None:
    form = SearchForm.from_items(
        [
            ("date_from", "2021-13-45x"),
            ("date_to", "2022-01-31"),
            ("nlp_status", "DROP TABLE"),
            ("negated_only", "1"),
            ("offset", "-3"),
            ("mentions", "x" * 500),
            ("unknown", "ignored"),
        ]
    )
    assert form.date_from == ""
    assert form.date_to == "2022-01-31"
    assert form.nlp_status == ""
    assert form.negated_only
    assert form.offset == 0
    assert len(form.mentions) == 200


def test_fhir_parameters_of_the_form_are_valid_fhir_search() -> None:
    form = SearchForm(
        patient="Patient/p1",
        date_from="2021-01-01",
        nlp_status="SUCCESS",
        condition="sore throat, acute",
        medication="5640",
        mentions="a|b",
    )
    params = form.fhir_params()
    assert params == [
        ("patient", "Patient/p1"),
        ("date", "ge2021-01-01"),
        ("cm-decoration-status", "SUCCESS"),
        ("detectEntities-entity-text-category:contains", "sore throat\\, acute|MEDICAL_CONDITION"),
        ("infer-rxnorm-entity-concept-code", "5640"),
        ("detectEntities-entity-text:contains", "a\\|b"),
    ]
    query = parse_search("DocumentReference", params)
    assert len(query.nlp) == 4
    (condition,) = [c for c in query.nlp if c.param.startswith("detectEntities-entity-text-cat")]
    assert [p.value for p in condition.alternatives[0]] == [
        "sore throat, acute",
        "MEDICAL_CONDITION",
    ]
    assert form.fhir_query().startswith("GET /DocumentReference?patient=Patient/p1&date=ge2021")


def test_negated_match() -> None:
    result = NlpResult.model_validate(recorded("negation-family-hypothetical"))
    assert SearchForm(negated_only=True).negated_match(result)
    assert SearchForm(condition="chest", negated_only=True).negated_match(result)
    assert SearchForm(medication="aspirin", negated_only=True).negated_match(result)
    assert not SearchForm(condition="pneumonia", negated_only=True).negated_match(result)
    assert not SearchForm(medication="chest", negated_only=True).negated_match(result)
    assert SearchForm(mentions="shortness", negated_only=True).negated_match(result)


def ids(page: Any) -> list[str]:
    return [row.id for row in page.rows]


def test_search_runs_on_the_store(state: Any) -> None:
    assert ids(run_search(state.store, state.index, SearchForm(condition="H66.90"))) == [OTITIS_ID]
    assert ids(run_search(state.store, state.index, SearchForm(condition="otitis"))) == [OTITIS_ID]
    assert ids(run_search(state.store, state.index, SearchForm(medication="308182"))) == [OTITIS_ID]
    negated = run_search(
        state.store, state.index, SearchForm(medication="aspirin", negated_only=True)
    )
    assert ids(negated) == [CHANGED_ID]
    unsupported = run_search(state.store, state.index, SearchForm(nlp_status="UNSUPPORTED_CONTENT"))
    assert ids(unsupported) == ["scan-pdf-0001"]
    row = run_search(state.store, state.index, SearchForm(condition="H66.90")).rows[0]
    assert (row.nlp_status, row.engine) == ("SUCCESS", "fake 2")
    assert (row.subject or "").startswith("Patient/")
    assert row.generated > 0


def test_paging(state: Any) -> None:
    first = run_search(state.store, state.index, SearchForm(), page_size=4)
    second = run_search(state.store, state.index, SearchForm(offset=4), page_size=4)
    assert first.total == 9
    assert (first.previous_offset, first.next_offset) == (None, 4)
    assert (second.previous_offset, second.next_offset) == (0, 8)
    assert not set(ids(first)) & set(ids(second))
    negated = run_search(
        state.store, state.index, SearchForm(negated_only=True, offset=1), page_size=1
    )
    assert negated.total == 4
    assert len(negated.rows) == 1
