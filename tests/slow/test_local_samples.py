"""The real local pipeline (built assets) on every sample note: shape and invariants."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import SAMPLES

pytestmark = pytest.mark.slow

SAMPLE_FILES = sorted(SAMPLES.glob("*.json"))
CATEGORIES = {
    "MEDICATION",
    "MEDICAL_CONDITION",
    "PROTECTED_HEALTH_INFORMATION",
    "TEST_TREATMENT_PROCEDURE",
    "ANATOMY",
    "TIME_EXPRESSION",
    "BEHAVIORAL_ENVIRONMENTAL_SOCIAL",
}


@pytest.fixture(scope="module")
def engine() -> Any:
    from nlp.base import EngineError
    from nlp.local import LocalEngine
    from nlp.local.assets import assets_dir

    if not (assets_dir() / "lexicon.pkl").exists():
        pytest.skip(f"local assets not built in {assets_dir()}: run `docref-nlp models build`")
    try:
        return LocalEngine.from_assets()
    except EngineError as exc:
        pytest.skip(f"local assets unusable: {exc}")


def _text(path: Path) -> str | None:
    from enrich.text import extract_text

    found = extract_text(json.loads(path.read_text(encoding="utf-8")))
    return found.text if found is not None else None


@pytest.mark.parametrize("path", SAMPLE_FILES, ids=[p.stem for p in SAMPLE_FILES])
def test_sample(engine: Any, path: Path) -> None:
    text = _text(path)
    if not text:
        pytest.skip("sample has no inline text attachment")
    result = engine.analyze(text)
    dumped = result.to_aws()
    # the three Comprehend responses; our Assertions beside them (nlp.schema.Assertion)
    assertions = dumped.pop("Assertions", [])
    assert set(dumped) == {"DetectEntitiesV2", "InferICD10CM", "InferRxNorm"}
    spans = {
        (e["BeginOffset"], e["EndOffset"], e["Category"])
        for e in dumped["DetectEntitiesV2"]["Entities"]
    }
    for a in assertions:
        assert (a["BeginOffset"], a["EndOffset"], a["Category"]) in spans
    for op in dumped.values():
        assert op["ModelVersion"] == engine.version
        for ent in op["Entities"]:
            for item in [ent, *ent.get("Attributes", [])]:
                assert item["Text"] == text[item["BeginOffset"] : item["EndOffset"]]
                assert 0.0 <= item["Score"] <= 1.0
            scores = [c["Score"] for c in ent.get("ICD10CMConcepts", ent.get("RxNormConcepts", []))]
            assert scores == sorted(scores, reverse=True)
            assert len(scores) <= 5
    assert {e["Category"] for e in dumped["DetectEntitiesV2"]["Entities"]} <= CATEGORIES
    assert dumped["DetectEntitiesV2"]["Entities"], "every clinical sample has entities"
    again = engine.analyze(text).to_aws()
    assert again.pop("Assertions", []) == assertions
    assert again == dumped  # deterministic


def test_icd_linking_on_a_clear_condition(engine: Any) -> None:
    result = engine.analyze("Assessment: essential hypertension and type 2 diabetes mellitus.")
    codes = {c.code for e in result.icd10cm_entities for c in (e.concepts or [])[:1]}
    assert "I10" in codes
    assert any(code.startswith("E11") for code in codes)
