"""The Comprehend Medical doc examples parse into nlp.schema and dump back unchanged."""

from __future__ import annotations

import json
from typing import Any

import botocore.session
import pydantic
import pytest
from botocore.validate import ParamValidator

from nlp.schema import (
    CMModel,
    DetectEntitiesV2Response,
    InferICD10CMResponse,
    InferRxNormResponse,
    NlpResult,
)
from tests.fixtures.comprehend import example_names, load_input, load_response, operation_of

MODELS: dict[str, type[CMModel]] = {
    "DetectEntitiesV2": DetectEntitiesV2Response,
    "InferICD10CM": InferICD10CMResponse,
    "InferRxNorm": InferRxNormResponse,
}
NAMES = example_names()

#: Offsets the docs print against a different text than the input they show (README.md).
OFFSET_SHIFT = {"infer-rxnorm.fluoride": 15}
OFFSET_MISMATCH = {("detect-phi.john-smith", "Washington")}


def _spans(response: dict[str, Any]) -> list[dict[str, Any]]:
    """Every entity and attribute of a response (each has Text, BeginOffset, EndOffset)."""
    spans = []
    for entity in response["Entities"]:
        spans.append(entity)
        spans.extend(entity.get("Attributes", []))
    spans.extend(u["Attribute"] for u in response.get("UnmappedAttributes", []))
    return spans


def test_every_doc_example_is_extracted() -> None:
    assert len(NAMES) == 5
    assert {operation_of(n) for n in NAMES} == set(MODELS)


@pytest.mark.parametrize("name", NAMES)
def test_example_round_trips_through_the_response_model(name: str) -> None:
    response = load_response(name)
    dumped = MODELS[operation_of(name)].model_validate(response).to_aws()
    assert dumped == response
    # Same key order too: the docs print members in the SDK order that raw-response relies on.
    assert json.dumps(dumped) == json.dumps(response)


@pytest.mark.parametrize("name", NAMES)
def test_example_round_trips_inside_nlp_result(name: str) -> None:
    operation = operation_of(name)
    response = load_response(name)
    result = NlpResult.model_validate({operation: response})
    assert result.to_aws() == {operation: response}
    assert NlpResult.model_validate_json(result.model_dump_json(by_alias=True)) == result


@pytest.mark.parametrize("name", NAMES)
def test_example_offsets_point_into_the_input_text(name: str) -> None:
    text = load_input(name)
    assert text is not None
    shift = OFFSET_SHIFT.get(name, 0)
    for span in _spans(load_response(name)):
        found = text[span["BeginOffset"] - shift : span["EndOffset"] - shift]
        if (name, span["Text"]) in OFFSET_MISMATCH:
            assert found != span["Text"]
        else:
            assert found == span["Text"]


@pytest.mark.parametrize("name", [n for n in NAMES if operation_of(n) == "InferRxNorm"])
def test_rxnorm_doc_concept_keys_are_not_the_api_keys(name: str) -> None:
    legacy = load_response(name, api_keys=False)
    assert "ConceptId" in legacy["Entities"][0]["RxNormConcepts"][0]
    with pytest.raises(pydantic.ValidationError):
        InferRxNormResponse.model_validate(legacy)


@pytest.mark.parametrize("name", NAMES)
def test_example_satisfies_the_botocore_output_shape(name: str) -> None:
    model = botocore.session.get_session().get_service_model("comprehendmedical")
    shape = model.operation_model(operation_of(name)).output_shape
    report = ParamValidator().validate(load_response(name), shape).generate_report()
    expected = 'Missing required parameter in input: "ModelVersion"' if "phi" in name else ""
    assert report == expected


def test_nlp_result_model_version_joins_the_three_operations() -> None:
    result = NlpResult.model_validate(
        {"InferICD10CM": load_response("infer-icd10cm.abdominal-pain"), "InferRxNorm": {}}
    )
    assert result.model_version == "/0.1.0/"
    assert result.rxnorm_entities == []
    assert [e.text for e in result.icd10cm_entities] == ["abdominal pain"]
