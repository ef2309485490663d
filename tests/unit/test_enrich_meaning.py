"""Rules of meaning in enrich (D16): statuses, dosage, allergies and smoking from any engine."""

from __future__ import annotations

from typing import Any

import pytest

from enrich import urls
from enrich.fhir import round_trip
from enrich.meaning import (
    Written,
    condition_clinical_status,
    dosage,
    dose_quantity,
    medication_status,
    route_concept,
    timing,
)
from nlp.schema import NlpResult
from tests.unit.meaning_fixtures import document, enrich

TEXT = "Allergic to penicillin (hives). Former smoker. Takes aspirin. Hx smoker."


@pytest.mark.parametrize(
    ("traits", "status", "expected"),
    [
        ({"NEGATION"}, "STOPPED", "not-taken"),
        (set(), "STOPPED", "stopped"),
        ({"PAST_HISTORY"}, "ACTIVE", "completed"),
        (set(), "COMPLETED", "completed"),
        ({"HYPOTHETICAL"}, "ACTIVE", "intended"),
        (set(), "ACTIVE", "active"),
        ({"LOW_CONFIDENCE"}, None, "unknown"),
    ],
)
def test_medication_status_order(traits: set[str], status: str | None, expected: str) -> None:
    assert medication_status(traits, status) == expected


@pytest.mark.parametrize(
    ("traits", "status", "expected"),
    [
        ({"PAST_HISTORY"}, "RESOLVED", "resolved"),
        ({"PAST_HISTORY"}, "INACTIVE", "inactive"),
        (set(), "REMISSION", "remission"),
        (set(), None, "active"),
        ({"PAST_HISTORY"}, None, None),
    ],
)
def test_condition_clinical_status(traits: set[str], status: str | None, expected: str) -> None:
    assert condition_clinical_status(traits, status) == expected


@pytest.mark.parametrize(
    ("text", "repeat"),
    [
        ("daily", {"frequency": 1, "period": 1, "periodUnit": "d"}),
        ("BID", {"frequency": 2, "period": 1, "periodUnit": "d"}),
        ("three times a day", {"frequency": 3, "period": 1, "periodUnit": "d"}),
        ("q.i.d.", {"frequency": 4, "period": 1, "periodUnit": "d"}),
        ("q6h", {"frequency": 1, "period": 6, "periodUnit": "h"}),
        ("every 4-6 hours", {"frequency": 1, "period": 4, "periodMax": 6, "periodUnit": "h"}),
        ("qhs", {"frequency": 1, "period": 1, "periodUnit": "d", "when": ["HS"]}),
        ("every other day", {"frequency": 1, "period": 2, "periodUnit": "d"}),
        ("weekly", {"frequency": 1, "period": 1, "periodUnit": "wk"}),
        ("with meals", None),
    ],
)
def test_timing(text: str, repeat: dict[str, Any] | None) -> None:
    got = timing(text)
    assert got["code"] == {"text": text}
    assert got.get("repeat") == repeat


@pytest.mark.parametrize(
    ("text", "code"),
    [("PO", "26643006"), ("by mouth", "26643006"), ("IV", "47625008"), ("subq", "34206005")],
)
def test_route(text: str, code: str) -> None:
    assert route_concept(text)["coding"][0] == {
        "system": urls.SNOMED_SYSTEM,
        "code": code,
        "display": route_concept(text)["coding"][0]["display"],
    }


def test_dose_and_dosage_text() -> None:
    assert dose_quantity("10 units") == {
        "value": 10,
        "unit": "units",
        "system": urls.UCUM_SYSTEM,
        "code": "[IU]",
    }
    assert dose_quantity("2 puffs") == {"value": 2, "unit": "puffs"}
    assert dose_quantity("5%") is None
    got = dosage([Written("FREQUENCY", "prn", 30), Written("DOSAGE", "650 mg", 10)])
    assert got == {
        "text": "650 mg prn",
        "timing": {"code": {"text": "prn"}},
        "asNeededBoolean": True,
        "doseAndRate": [
            {"doseQuantity": {"value": 650, "unit": "mg", "system": urls.UCUM_SYSTEM, "code": "mg"}}
        ],
    }
    assert dosage([]) is None


# ------------------------------------------------- a Comprehend-shaped result, no Assertions


def _entity(text: str, words: str, category: str, type_: str, *traits: str) -> dict[str, Any]:
    begin = TEXT.index(words)
    return {
        "Id": begin,
        "BeginOffset": begin,
        "EndOffset": begin + len(words),
        "Score": 0.9,
        "Text": words,
        "Category": category,
        "Type": type_,
        "Traits": [{"Name": t, "Score": 0.9} for t in traits],
        "Attributes": [],
    }


def _result(with_assertions: bool = False) -> NlpResult:
    allergy = _entity(TEXT, "penicillin (hives)", "BEHAVIORAL_ENVIRONMENTAL_SOCIAL", "ALLERGIES")
    smoker = _entity(
        TEXT, "Former smoker", "BEHAVIORAL_ENVIRONMENTAL_SOCIAL", "TOBACCO_USE", "PAST_HISTORY"
    )
    hives = _entity(TEXT, "hives", "MEDICAL_CONDITION", "DX_NAME", "SIGN")
    nicotine = _entity(TEXT, "smoker", "MEDICAL_CONDITION", "DX_NAME", "DIAGNOSIS")
    nicotine["BeginOffset"] = TEXT.index("Hx smoker") + 3
    nicotine["EndOffset"] = nicotine["BeginOffset"] + 6
    nicotine["Traits"].append({"Name": "PAST_HISTORY", "Score": 0.9})
    rx = [
        {
            **_entity(TEXT, words, "MEDICATION", "GENERIC_NAME"),
            "RxNormConcepts": [{"Code": code, "Description": words, "Score": 0.9}],
        }
        for words, code in (("penicillin", "7980"), ("aspirin", "1191"))
    ]
    data: dict[str, Any] = {
        "DetectEntitiesV2": {"Entities": [allergy, smoker, hives, nicotine]},
        "InferICD10CM": {
            "Entities": [
                {**hives, "ICD10CMConcepts": [{"Code": "L50.9", "Score": 0.9}]},
                {**nicotine, "ICD10CMConcepts": [{"Code": "F17.210", "Score": 0.9}]},
            ]
        },
        "InferRxNorm": {"Entities": rx},
    }
    if with_assertions:
        begin = TEXT.index("hives")
        pcn = TEXT.index("penicillin (hives)")
        data["Assertions"] = [
            {
                "BeginOffset": begin,
                "EndOffset": begin + 5,
                "Category": "MEDICAL_CONDITION",
                "Role": "REACTION",
                "RelatedBeginOffset": pcn,
                "RelatedEndOffset": pcn + len("penicillin (hives)"),
            }
        ]
    return NlpResult.model_validate(data)


def _types(generated: list[dict[str, Any]]) -> list[str]:
    return [r["resourceType"] for r in generated]


def test_comprehend_allergy_entity_contains_the_drug() -> None:
    out = enrich(document(TEXT), _result()).generated
    (allergy,) = [r for r in out if r["resourceType"] == "AllergyIntolerance"]
    assert allergy["code"]["coding"][-1]["code"] == "7980"
    assert allergy["code"]["text"] == "penicillin"
    meds = [r for r in out if r["resourceType"] == "MedicationStatement"]
    assert [m["medicationCodeableConcept"]["coding"][-1]["code"] for m in meds] == ["1191"]
    (smoking,) = [r for r in out if r["resourceType"] == "Observation" and "category" in r]
    assert smoking["valueCodeableConcept"]["coding"][0]["code"] == "8517006"
    assert "Condition" not in _types(out)  # F17.210 with PAST_HISTORY: no nicotine dependence
    # the condition inside the allergy statement is its reaction, not an Observation
    assert allergy["reaction"][0]["manifestation"][0]["coding"][-1]["code"] == "L50.9"
    assert [r["code"]["coding"][0]["code"] for r in out if r["resourceType"] == "Observation"] == [
        urls.SMOKING_STATUS_CODE
    ]
    for r in out:
        round_trip(r)


def test_reactions_marked_by_assertions_are_manifestations() -> None:
    out = enrich(document(TEXT), _result(with_assertions=True)).generated
    (allergy,) = [r for r in out if r["resourceType"] == "AllergyIntolerance"]
    assert allergy["reaction"][0]["manifestation"][0]["coding"][-1]["code"] == "L50.9"
    observations = [r for r in out if r["resourceType"] == "Observation"]
    assert [o["code"]["coding"][0]["code"] for o in observations] == [urls.SMOKING_STATUS_CODE]


def test_healthlake_profile_ignores_meaning() -> None:
    plain = enrich(document(TEXT), _result(), "healthlake")
    said = enrich(document(TEXT), _result(with_assertions=True), "healthlake")
    assert plain.generated == said.generated
    assert "AllergyIntolerance" not in _types(plain.generated)
    assert all("modifierExtension" in r for r in plain.generated if r["resourceType"] != "Linkage")
    # HealthLake makes a MedicationStatement per concept, allergens included, as it did
    assert sum(t == "MedicationStatement" for t in _types(plain.generated)) == 2


def test_policy_switches_off_allergies_and_smoking_status() -> None:
    from datetime import UTC, datetime

    from enrich import EnrichmentPolicy, enrich_document

    out = enrich_document(
        document(TEXT),
        _result(),
        policy=EnrichmentPolicy(allergies=False, smoking_status=False),
        now=datetime(2024, 1, 1, tzinfo=UTC),
        engine_name="x",
        engine_version="1",
    ).generated
    assert "AllergyIntolerance" not in _types(out)
    assert not [r for r in out if r["resourceType"] == "Observation" and "category" in r]
