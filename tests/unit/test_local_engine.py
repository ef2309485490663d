"""A tiny lexicon and fake linkers for the local engine tests (no built assets needed)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from nlp.schema import Concept


@dataclass(frozen=True)
class FakeTerm:
    """Same fields as ``nlp.local.lexicon.Term``."""

    text: str
    category: str
    type: str
    source: str
    code: str | None = None


MC, MED = "MEDICAL_CONDITION", "MEDICATION"

TERMS = [
    FakeTerm("pneumonia", MC, "DX_NAME", "icd10cm", "J18.9"),
    FakeTerm("abdominal pain", MC, "DX_NAME", "icd10cm", "R10.9"),
    FakeTerm("nausea", MC, "DX_NAME", "icd10cm", "R11.0"),
    FakeTerm("hypertension", MC, "DX_NAME", "icd10cm", "I10"),
    FakeTerm("heart murmur", MC, "DX_NAME", "hpo", "HP:0030148"),
    FakeTerm("Crohn's disease", MC, "DX_NAME", "icd10cm", "K50.90"),
    FakeTerm("non-small cell lung cancer", MC, "DX_NAME", "icd10cm", "C34.90"),
    FakeTerm("haemorrhage", MC, "DX_NAME", "icd10cm", "R58"),
    FakeTerm("levothyroxine", MED, "GENERIC_NAME", "rxnorm", "10582"),
    FakeTerm("Synthroid", MED, "BRAND_NAME", "rxnorm", "224920"),
    FakeTerm("aspirin", MED, "GENERIC_NAME", "rxnorm", "1191"),
    FakeTerm("heparin", MED, "GENERIC_NAME", "rxnorm", "5224"),
    FakeTerm("insulin", MED, "GENERIC_NAME", "rxnorm", "5856"),
    FakeTerm("DM", MC, "DX_NAME", "abbrev", "E11.9"),
]

_ICD = {
    "pneumonia": [("J18.9", "Pneumonia, unspecified organism", 0.9), ("J18.1", "Lobar", 0.5)],
    "abdominal pain": [("R10.9", "Unspecified abdominal pain", 0.8), ("R10.13", "Epigastric", 0.7)],
    "nausea": [("R11.0", "Nausea", 0.9)],
    "hypertension": [("I10", "Essential (primary) hypertension", 0.95)],
}


class FakeIcd10Linker:
    """Returns fixed concepts, deliberately unsorted, and records calls."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple[str, ...]]] = []

    def link(self, text: str, k: int = 5, attributes: Sequence[str] = ()) -> list[Concept]:
        self.calls.append((text, tuple(attributes)))
        rows = _ICD.get(text.lower(), [])
        return [Concept(code=c, description=d, score=s) for c, d, s in reversed(rows)][:k]


class FakeRxNormLinker:
    """One concept per known drug; records the attributes it was given."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str | None, str | None, str | None]] = []

    def link(
        self,
        text: str,
        strength: str | None = None,
        form: str | None = None,
        route: str | None = None,
        k: int = 5,
    ) -> list[Concept]:
        self.calls.append((text, strength, form, route))
        return [
            Concept(code="1", description=f"{text} low", score=0.4),
            Concept(code="2", description=f"{text} high", score=0.9),
        ][:k]


# ---------------------------------------------------------------------------------- tests
import pytest  # noqa: E402

from nlp.local import LocalEngine  # noqa: E402
from nlp.schema import NlpResult  # noqa: E402

NOTE = (
    "Chief Complaint: abdominal pain and nausea since yesterday.\n\n"
    "History of Present Illness: Mr. Miller reports taking levothyroxine 125 mcg by mouth daily, "
    "but denies taking Synthroid. No evidence of pneumonia.\n"
    "Past Medical History: hypertension, Crohn's disease.\n"
    "Family history of non-small cell lung cancer in his father.\n"
    "Labs: Creatinine 1.4 mg/dL. BP 142/88 mmHg.\n"
    "Plan: if nausea persists, consider heparin. Seen on 3/14/2024, call 555-123-4567.\n"
)


@pytest.fixture(scope="module")
def icd() -> FakeIcd10Linker:
    return FakeIcd10Linker()


@pytest.fixture(scope="module")
def rx() -> FakeRxNormLinker:
    return FakeRxNormLinker()


@pytest.fixture(scope="module")
def engine(icd: FakeIcd10Linker, rx: FakeRxNormLinker) -> LocalEngine:
    return LocalEngine(TERMS, icd, rx, build_id="test")


@pytest.fixture(scope="module")
def result(engine: LocalEngine) -> NlpResult:
    return engine.analyze(NOTE)


def _find(result: NlpResult, text: str):  # type: ignore[no-untyped-def]
    hits = [e for e in result.entities if e.text == text]
    assert hits, f"{text!r} not found in {[e.text for e in result.entities]}"
    return hits[0]


def test_offsets_match_text_in_every_response(result: NlpResult) -> None:
    items: list[Any] = []
    entities: list[Any] = [*result.entities, *result.icd10cm_entities, *result.rxnorm_entities]
    for e in entities:
        items.append(e)
        items.extend(e.attributes or [])
    assert items
    for it in items:
        assert it.text == NOTE[it.begin_offset : it.end_offset]


def test_ids_unique_per_span_and_increasing_in_text_order(result: NlpResult) -> None:
    for entities in (result.entities, result.icd10cm_entities, result.rxnorm_entities):
        seen: dict[int, tuple[int, int]] = {}
        for e in entities:
            for it in [e, *(e.attributes or [])]:
                span = (it.begin_offset, it.end_offset)
                assert seen.setdefault(it.id, span) == span
        spans = sorted(seen.items())
        assert [s for _, s in spans] == sorted(s for _, s in spans)


def test_result_round_trips_through_validation(result: NlpResult) -> None:
    dumped = result.to_aws()
    assert NlpResult.model_validate(dumped).to_aws() == dumped
    # the three Comprehend responses, and our Assertions beside them (nlp.schema.Assertion)
    assert set(dumped) == {"DetectEntitiesV2", "InferICD10CM", "InferRxNorm", "Assertions"}


def test_every_model_has_all_its_fields(result: NlpResult) -> None:
    from pydantic import BaseModel

    seen: set[str] = set()
    stack: list[object] = [result]
    while stack:
        obj = stack.pop()
        if isinstance(obj, BaseModel):
            assert set(obj.__dict__) == set(type(obj).model_fields), type(obj).__name__
            seen.add(type(obj).__name__)
            stack.extend(obj.__dict__.values())
        elif isinstance(obj, list):
            stack.extend(obj)
    assert {"Entity", "Attribute", "ICD10CMEntity", "RxNormEntity", "RxNormAttribute"} <= seen


def test_every_category_is_produced(result: NlpResult) -> None:
    cats = {e.category for e in result.entities}
    cats |= {a.category for e in result.entities for a in e.attributes or []}
    assert {
        "MEDICAL_CONDITION",
        "MEDICATION",
        "TEST_TREATMENT_PROCEDURE",
        "ANATOMY",
        "TIME_EXPRESSION",
        "PROTECTED_HEALTH_INFORMATION",
    } <= cats


def test_traits_from_context_and_sections(result: NlpResult) -> None:
    def traits(text: str) -> set[str]:
        return {t.name for t in _find(result, text).traits or []}

    assert "NEGATION" in traits("pneumonia")
    assert "NEGATION" in traits("Synthroid")
    assert "PAST_HISTORY" in traits("hypertension")
    assert "PERTAINS_TO_FAMILY" in traits("non-small cell lung cancer")
    assert "HYPOTHETICAL" in traits("heparin")
    assert "SYMPTOM" in traits("abdominal pain")
    assert "NEGATION" not in traits("abdominal pain")


def test_normalised_matches(result: NlpResult) -> None:
    assert _find(result, "Crohn's disease").category == "MEDICAL_CONDITION"


def test_icd_concepts_sorted_and_limited(result: NlpResult) -> None:
    linked = [e for e in result.icd10cm_entities if e.concepts]
    assert linked
    for e in linked:
        scores = [c.score or 0.0 for c in e.concepts or []]
        assert scores == sorted(scores, reverse=True)
        assert len(scores) <= 5
    assert {t.name for t in result.icd10cm_entities[0].traits or []} <= {
        "NEGATION",
        "DIAGNOSIS",
        "SIGN",
        "SYMPTOM",
        "PERTAINS_TO_FAMILY",
        "HYPOTHETICAL",
        "LOW_CONFIDENCE",
    }


def test_rxnorm_entities_and_linker_attributes(result: NlpResult, rx: FakeRxNormLinker) -> None:
    levo = next(e for e in result.rxnorm_entities if e.text == "levothyroxine")
    assert {a.type for a in levo.attributes or []} == {"DOSAGE", "ROUTE_OR_MODE", "FREQUENCY"}
    assert ("levothyroxine", "125 mcg", None, "by mouth") in rx.calls
    assert [c.code for c in levo.concepts or []] == ["2", "1"]
    synth = next(e for e in result.rxnorm_entities if e.text == "Synthroid")
    assert [t.name for t in synth.traits or []] == ["NEGATION"]


def test_phi_types(result: NlpResult) -> None:
    phi = {e.text: e.type for e in result.entities if e.category == "PROTECTED_HEALTH_INFORMATION"}
    assert phi.get("Miller") == "NAME"
    assert phi.get("3/14/2024") == "DATE"
    assert phi.get("555-123-4567") == "PHONE_OR_FAX"


def test_test_values(result: NlpResult) -> None:
    bp = _find(result, "BP")
    assert [(a.type, a.text) for a in bp.attributes or []] == [
        ("TEST_VALUE", "142/88"),
        ("TEST_UNIT", "mmHg"),
    ]


def test_deterministic_and_analyze_many(engine: LocalEngine, result: NlpResult) -> None:
    again = engine.analyze(NOTE)
    assert again.to_aws() == result.to_aws()
    many = list(engine.analyze_many([NOTE, "No rash.", NOTE]))
    assert many[0].to_aws() == result.to_aws() == many[2].to_aws()


def test_model_version_names_engine_and_build(result: NlpResult) -> None:
    assert result.detect_entities is not None
    assert result.detect_entities.model_version == result.icd10cm.model_version  # type: ignore[union-attr]
    version = result.detect_entities.model_version or ""
    assert version.startswith("local-")
    assert version.endswith("+test")


def test_empty_and_whitespace_text(engine: LocalEngine) -> None:
    for text in ("", "   \n"):
        r = engine.analyze(text)
        assert r.entities == []
        assert r.icd10cm_entities == []
        assert r.rxnorm_entities == []
