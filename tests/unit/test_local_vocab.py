"""The clinical vocabulary of the local engine: word lists, short forms, morphology, findings."""

from __future__ import annotations

import pytest

from nlp.local import LocalEngine
from nlp.local.text import load_rules
from nlp.schema import Entity
from tests.unit.test_local_engine import TERMS, FakeIcd10Linker, FakeRxNormLinker


@pytest.fixture(scope="module")
def engine() -> LocalEngine:
    return LocalEngine(TERMS, FakeIcd10Linker(), FakeRxNormLinker(), build_id="test")


def entities(engine: LocalEngine, text: str) -> list[tuple[str, str]]:
    """(text, category) of every clinical entity found in ``text``."""
    out: list[Entity] = engine.analyze(text).entities
    return [(e.text or "", e.category or "") for e in out if e.category != "ANATOMY"]


def test_chemical_cues_hold_no_corpus_tuned_entries() -> None:
    chemicals = set(load_rules("cues.json")["chemicals"])
    # research chemicals and ordinary words that were in the list only as BC5CDR dev mentions
    assert chemicals.isdisjoint({"camp", "kainate", "streptozocin", "vitamin c", "ethambutol"})


def test_summer_camp_is_not_a_medication(engine: LocalEngine) -> None:
    found = entities(engine, "She went to summer camp in July and takes aspirin daily.")
    assert ("camp", "MEDICATION") not in found
    assert ("aspirin", "MEDICATION") in found
