"""The real local engine with the built assets on invented nursing-note samples (not slow).

`make test` builds the assets first; without them (a bare checkout) the tests skip.
"""

from __future__ import annotations

import pytest

from nlp.local import LocalEngine
from nlp.schema import NlpResult

SAMPLES = {
    "symptoms": "Pt denies cp or n/v; c/o mild sob with exertion. Afebrile overnight.",
    "history": "PMH: afib, DM2, HTN. Remains tachycardic and hypotensive, levo gtt titrated.",
    "repletion": "K 3.2, given 40 meq kcl po and 2 gm mg IV. On RA, encouraged to cough.",
}


@pytest.fixture(scope="module")
def engine(built_engine: LocalEngine) -> LocalEngine:
    return built_engine


@pytest.fixture(scope="module")
def results(engine: LocalEngine) -> dict[str, NlpResult]:
    return {name: engine.analyze(text) for name, text in SAMPLES.items()}


def _entities(result: NlpResult) -> dict[str, tuple[str, set[str]]]:
    return {
        e.text or "": (e.category or "", {t.name for t in e.traits or []})
        for e in result.entities
        if e.category in ("MEDICAL_CONDITION", "MEDICATION")
    }


def _icd(result: NlpResult) -> dict[str, str]:
    return {e.text or "": e.concepts[0].code for e in result.icd10cm_entities if e.concepts}


def test_symptoms_are_found_negated_and_coded(results: dict[str, NlpResult]) -> None:
    got = _entities(results["symptoms"])
    assert got["sob"][0] == "MEDICAL_CONDITION"
    assert "NEGATION" in got["cp"][1]
    assert "NEGATION" in got["n/v"][1]
    assert "NEGATION" in got["Afebrile"][1]
    icd = _icd(results["symptoms"])
    assert icd["sob"] == "R06.02"
    assert icd["cp"] == "R07.9"


def test_history_and_adjectives(results: dict[str, NlpResult]) -> None:
    got = _entities(results["history"])
    assert "PAST_HISTORY" in got["afib"][1]
    assert got["tachycardic"][0] == "MEDICAL_CONDITION"
    assert got["hypotensive"][0] == "MEDICAL_CONDITION"
    assert got["levo"][0] == "MEDICATION"
    icd = _icd(results["history"])
    assert icd["afib"] == "I48.91"
    assert icd["hypotensive"] == "I95.9"


def test_repletion_room_air_and_instructions(results: dict[str, NlpResult]) -> None:
    got = _entities(results["repletion"])
    kcl = [text for text in got if "kcl" in text]
    assert kcl
    assert {got[text][0] for text in kcl} == {"MEDICATION"}
    assert got["mg"][0] == "MEDICATION"
    assert "K" not in got  # a lab value, not a medication
    assert "RA" not in got  # room air
    assert "cough" not in got  # an instruction


def test_a_hospital_after_a_move_is_no_drug_and_a_titled_name_no_condition(
    engine: LocalEngine,
) -> None:
    result = engine.analyze("Pt transferred to GH for cath. Seen by Mrs. Burns, pt's daughter.")
    found = {(e.text, e.category, e.type) for e in result.entities}
    assert ("GH", "PROTECTED_HEALTH_INFORMATION", "ADDRESS") in found  # not growth hormone
    assert ("Burns", "PROTECTED_HEALTH_INFORMATION", "NAME") in found
    assert not [e for e in result.entities if e.category in ("MEDICATION", "MEDICAL_CONDITION")]
