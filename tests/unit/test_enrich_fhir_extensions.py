"""validate_resource judges top-level extensions by shape (``enrich.fhir._extension_valid``):
the same verdict and the same error as validating the resource as it is, on enriched documents
and on every kind of broken extension element."""

from __future__ import annotations

import copy
import random
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from enrich import EnrichmentPolicy, enrich_document, fhir
from enrich.fhir import FhirValidationError, model_class, validate_resource
from nlp.schema import NlpResult
from tests.conftest import load_sample
from tests.golden import SAMPLES, load_json

NOW = datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)
SAMPLE_NAMES = ("medication-list", "example2-advil", "negation-family-hypothetical")


def _enriched(name: str) -> dict[str, Any]:
    result = NlpResult.model_validate(load_json(SAMPLES / "nlp" / f"{name}.json"))
    out = enrich_document(
        load_sample(name),
        result,
        policy=EnrichmentPolicy(),
        now=NOW,
        engine_name="replay",
        engine_version="1",
    )
    return copy.deepcopy(out.document)


def _as_it_is(resource: dict[str, Any]) -> str | None:
    """The verdict of validating the whole resource at once (what validate_resource did)."""
    resource_type = str(resource["resourceType"])
    try:
        model_class(resource_type).model_validate(resource)
    except ValidationError as exc:
        return str(FhirValidationError(resource_type, fhir._summary(exc)))
    except (TypeError, ValueError) as exc:
        return str(FhirValidationError(resource_type, type(exc).__name__))
    return None


def _verdict(resource: dict[str, Any]) -> str | None:
    try:
        validate_resource(resource)
    except FhirValidationError as err:
        return str(err)
    return None


def _nodes(value: Any) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            found.append(item)
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return found


BREAKS: list[tuple[str, Any]] = [
    ("valueString", ""),
    ("valueString", None),
    ("valueString", 5),
    ("valueInteger", "x"),
    ("valueInteger", 2**40),
    ("valueInteger", True),
    ("valueInteger", 1.5),
    ("valueDecimal", float("inf")),
    ("valueDecimal", float("nan")),
    ("valueDecimal", "0.5"),
    ("valueBoolean", "yes"),
    ("valueReference", {"reference": 5}),
    ("valueReference", "Patient/1"),
    ("url", None),
    ("url", 7),
    ("extension", []),
    ("extension", [None]),
    ("extension", ["text"]),
    ("extension", {"url": "x"}),
    ("unknownMember", "x"),
    ("id", ""),
]


@pytest.mark.parametrize("name", SAMPLE_NAMES)
def test_enriched_documents_are_valid_either_way(name: str) -> None:
    doc = _enriched(name)
    assert _as_it_is(doc) is None
    assert _verdict(doc) is None
    assert _verdict(doc) is None  # the second time from kept verdicts


@pytest.mark.parametrize(("member", "value"), BREAKS)
def test_a_broken_element_anywhere_gives_the_same_error(member: str, value: Any) -> None:
    rng = random.Random(f"{member}{value!r}")
    for name in SAMPLE_NAMES:
        doc = _enriched(name)
        validate_resource(doc)  # its verdicts kept
        nodes = [n for n in _nodes(doc["extension"]) if "url" in n]
        for node in [*rng.sample(nodes, 3), doc["extension"][0]]:
            broken = copy.deepcopy(doc)
            target = _nodes(broken["extension"])[_nodes(doc["extension"]).index(node)]
            target[member] = value
            assert _verdict(broken) == _as_it_is(broken)


def test_a_second_value_or_a_missing_url_gives_the_same_error() -> None:
    doc = _enriched("medication-list")
    leaves = [n for n in _nodes(doc["extension"]) if "valueString" in n]
    for change in ({"valueInteger": 1}, {"url": None}):
        broken = copy.deepcopy(doc)
        target = [n for n in _nodes(broken["extension"]) if "valueString" in n][len(leaves) // 2]
        target.update(change)
        if change == {"url": None}:
            del target["url"]
        assert _verdict(broken) == _as_it_is(broken)
        assert _verdict(broken) is not None


def test_values_equal_in_python_are_kept_apart() -> None:
    # 1 == 1.0 == True: three keys, three verdicts from fhir.resources
    for value in (1, 1.0, True, 0.0, -0.0):
        for member in ("valueInteger", "valueDecimal", "valueBoolean", "valueString"):
            doc = {
                "resourceType": "Basic",
                "code": {"text": "x"},
                "extension": [{"url": "http://example.org/x", member: value}],
            }
            assert _verdict(doc) == _as_it_is(doc), (member, value)


def test_structured_values_are_kept_apart_by_type_and_digits() -> None:
    references: tuple[Any, ...] = (
        {"reference": None},
        {"reference": float("nan")},
        {"reference": "Patient/1", "display": 1},
        {"reference": "Patient/1", "display": True},
        {"reference": "Patient/1", "display": "1"},
        {"reference": "Patient/1", "extension": [{"url": "x", "valueDecimal": -0.0}]},
        {"reference": "Patient/1", "extension": [{"url": "x", "valueDecimal": 0.0}]},
        {"reference": "Patient/1", "extension": ({"url": "x", "valueDecimal": 0.0},)},
        {1: "Patient/1"},
    )
    for reference in references:
        doc = {
            "resourceType": "Basic",
            "code": {"text": "x"},
            "extension": [{"url": "http://example.org/x", "valueReference": reference}],
        }
        assert _verdict(doc) == _as_it_is(doc), reference


def test_null_or_non_dict_top_level_extensions_validate_as_they_are() -> None:
    doc = _enriched("example2-advil")
    odds: tuple[Any, ...] = (None, "x", [])
    for odd in odds:
        broken = copy.deepcopy(doc)
        broken["extension"].append(odd)
        assert _verdict(broken) == _as_it_is(broken)
        assert _verdict(broken) is not None


def test_the_kept_verdicts_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fhir, "_VERDICTS_MAX", 5)
    fhir._VERDICTS.clear()
    doc = _enriched("medication-list")
    assert _verdict(doc) is None
    assert len(fhir._VERDICTS) <= 5
