"""PHI addresses: gazetteer places, hospital abbreviations after movement cues, name heads."""

from __future__ import annotations

import pytest

from nlp.local.phi import PhiDetector


@pytest.fixture(scope="module")
def phi() -> PhiDetector:
    return PhiDetector(frozenset({"baseline", "pain"}))


def _addresses(phi: PhiDetector, text: str) -> list[str]:
    return [text[h.begin : h.end] for h in phi.find(text) if h.type == "ADDRESS"]


def test_city_after_a_preposition(phi: PhiDetector) -> None:
    assert "Catonsville" in _addresses(phi, "She lives in Catonsville with her husband.")
    assert "pikesville" in _addresses(phi, "son from pikesville called last eve.")


def test_multi_word_city_and_state_anywhere_when_capitalised(phi: PhiDetector) -> None:
    found = _addresses(phi, "Family members live near. San Diego relatives called; Maryland too.")
    assert "San Diego" in found
    assert "Maryland" in found


def test_lower_case_word_in_a_cased_note_is_not_a_place(phi: PhiDetector) -> None:
    # "normal" is a US city (Normal, IL) but here an ordinary word
    assert _addresses(phi, "BP returned to normal. Pt Stable.") == []


def test_hospital_abbreviation_after_a_movement_cue(phi: PhiDetector) -> None:
    text = "Pt was transferred to GH for cath. Returned from GH today."
    assert _addresses(phi, text) == ["GH", "GH"]


def test_care_units_and_clinical_abbreviations_are_not_places(phi: PhiDetector) -> None:
    text = "Pt transferred to ICU, then sent to CT. Vent changed to PSV 15/5."
    assert _addresses(phi, text) == []


def test_capitals_passage_gives_no_acronym_places(phi: PhiDetector) -> None:
    assert _addresses(phi, "PT SENT TO ED AT GH. WIFE AWARE.") == []


def test_memorial_belongs_to_the_place_name(phi: PhiDetector) -> None:
    text = "Pt will go to Sacred Heart Memorial tomorrow."
    assert _addresses(phi, text) == ["Sacred Heart Memorial"]
