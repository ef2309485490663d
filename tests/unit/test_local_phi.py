"""PHI addresses: gazetteer places, hospital abbreviations after movement cues, name heads."""

from __future__ import annotations

import pytest

from nlp.local.phi import PhiDetector
from nlp.local.text import load_rules


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


def test_evaluation_tuned_cues_are_gone() -> None:
    rules = load_rules("phi.json")
    for cue in ("excepted at", "tranfered to", "med-flighted to", "medflighted to"):
        assert cue not in rules["location_cues"]
    assert "ew" not in rules["location_heads"]
    assert "care_unit_acronyms" not in rules


def test_removed_cues_no_longer_find_places(phi: PhiDetector) -> None:
    assert _addresses(phi, "pt was excepted at Brinvale, then tranfered to Brinvale") == []


def test_memorial_belongs_to_the_place_name(phi: PhiDetector) -> None:
    text = "Pt will go to Sacred Heart Memorial tomorrow."
    assert _addresses(phi, text) == ["Sacred Heart Memorial"]
