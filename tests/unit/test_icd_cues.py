"""DIAGNOSIS / SIGN / SYMPTOM cues: "x-day history of" is no diagnosis cue, and a sign or
symptom word stays one whatever cue or section precedes it (invented sentences)."""

from __future__ import annotations

import pytest

from nlp.local import LocalEngine
from nlp.schema import NlpResult
from tests.unit.test_local_engine import MC, TERMS, FakeIcd10Linker, FakeRxNormLinker, FakeTerm

_KINDS = {"DIAGNOSIS", "SIGN", "SYMPTOM"}
_EXTRA = [
    FakeTerm("dyspnea", MC, "DX_NAME", "icd10cm", "R06.00"),
    FakeTerm("productive cough", MC, "DX_NAME", "hpo", "HP:0031245"),
    FakeTerm("cough", MC, "DX_NAME", "icd10cm", "R05.9"),
    FakeTerm("chest pain", MC, "DX_NAME", "icd10cm", "R07.9"),
    FakeTerm("syncope", MC, "DX_NAME", "icd10cm", "R55"),
    FakeTerm("wheezing", MC, "DX_NAME", "icd10cm", "R06.2"),
    FakeTerm("diabetes", MC, "DX_NAME", "icd10cm", "E11.9"),
    FakeTerm("anemia", MC, "DX_NAME", "icd10cm", "D64.9"),
    FakeTerm("atrial fibrillation", MC, "DX_NAME", "icd10cm", "I48.91"),
]


@pytest.fixture(scope="module")
def engine() -> LocalEngine:
    return LocalEngine([*TERMS, *_EXTRA], FakeIcd10Linker(), FakeRxNormLinker(), build_id="t")


def _kind(result: NlpResult, text: str) -> set[str]:
    hits = [e for e in result.entities if e.text == text]
    assert hits, f"{text!r} not in {[e.text for e in result.entities]}"
    return {t.name for t in hits[0].traits or []} & _KINDS


@pytest.mark.parametrize(
    ("sentence", "mention", "kind"),
    [
        # a duration before "history of": what the patient has now, its own kind
        ("She presents with a 3-day history of worsening dyspnea.", "dyspnea", "SYMPTOM"),
        ("He has a 2 week history of productive cough.", "productive cough", "SYMPTOM"),
        ("Reports a several-day history of chest pain.", "chest pain", "SYMPTOM"),
        ("A 10-year history of diabetes, on metformin.", "diabetes", "DIAGNOSIS"),  # ICD chapter
        # a sign or symptom word stays one after a diagnosis cue
        ("History of syncope last spring.", "syncope", "SYMPTOM"),
        ("Known wheezing with exertion.", "wheezing", "SIGN"),
        # words that also name a diagnosis keep the diagnosis cue
        ("History of anemia and atrial fibrillation.", "anemia", "DIAGNOSIS"),
        ("History of anemia and atrial fibrillation.", "atrial fibrillation", "DIAGNOSIS"),
        ("History of hypertension.", "hypertension", "DIAGNOSIS"),
        # a diagnosis section does not make a symptom a diagnosis either
        ("Past Medical History: syncope, diabetes.", "syncope", "SYMPTOM"),
        ("Past Medical History: syncope, diabetes.", "diabetes", "DIAGNOSIS"),
        # other cues as before
        ("Patient denies cough.", "cough", "SYMPTOM"),
        ("On exam, wheezing noted.", "wheezing", "SIGN"),
    ],
)
def test_trait_kind(engine: LocalEngine, sentence: str, mention: str, kind: str) -> None:
    assert _kind(engine.analyze(sentence), mention) == {kind}


def test_duration_history_is_not_past_history(engine: LocalEngine) -> None:
    result = engine.analyze("She presents with a 3-day history of worsening dyspnea.")
    names = {t.name for e in result.entities if e.text == "dyspnea" for t in e.traits or []}
    assert "PAST_HISTORY" not in names
