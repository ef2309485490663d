"""The view model: marks, nesting, resource links and bug reports (pure)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from api.ui.annotate import Mark, Node, annotate, build_marks, nest
from nlp.schema import NlpResult
from tests.conftest import ROOT, SAMPLES
from tests.ui.conftest import recorded, sample_text

SAMPLE_NAMES = sorted(p.stem for p in (SAMPLES / "nlp").glob("*.json"))


def flatten(nodes: list[Node]) -> str:
    return "".join(n.text if n.mark is None else flatten(n.children) for n in nodes)


def marks_of(nodes: list[Node]) -> list[Mark]:
    out: list[Mark] = []
    for n in nodes:
        if n.mark is not None:
            out.append(n.mark)
            out.extend(marks_of(n.children))
    return out


def entity(
    begin: int, end: int, text: str, category: str = "MEDICAL_CONDITION", **extra: Any
) -> dict[str, Any]:
    return {
        "BeginOffset": begin,
        "EndOffset": end,
        "Text": text,
        "Category": category,
        "Type": "DX_NAME",
        "Score": 0.9,
        **extra,
    }


def golden(name: str, profile: str) -> list[dict[str, Any]]:
    bundle = json.loads((ROOT / "tests" / "golden" / f"{name}.{profile}.json").read_text("utf-8"))
    return [e["resource"] for e in bundle["entry"][1:]]


@pytest.mark.parametrize("name", SAMPLE_NAMES)
def test_every_entity_of_a_sample_is_highlighted_once(name: str) -> None:
    text = sample_text(name)
    data = recorded(name)
    note = annotate(text, NlpResult.model_validate(data))
    expected = sorted(
        {
            (e["BeginOffset"], e["EndOffset"])
            for op in ("DetectEntitiesV2", "InferICD10CM", "InferRxNorm")
            for e in data.get(op, {}).get("Entities", [])
        }
    )
    drawn = [m for m in marks_of(note.nodes) if m.kind == "entity"]
    assert sorted((m.begin, m.end) for m in drawn) == expected
    assert flatten(note.nodes) == text  # the text exactly once, nothing added or lost
    assert note.undrawn == []
    assert note.mismatched == []


def test_ontology_entities_merge_into_their_detect_entities_twin_or_stand_alone() -> None:
    text = "chest pain and aspirin"
    result = NlpResult.model_validate(
        {
            "DetectEntitiesV2": {"Entities": [entity(0, 10, "chest pain")]},
            "InferICD10CM": {
                "Entities": [
                    entity(
                        0,
                        10,
                        "chest pain",
                        ICD10CMConcepts=[
                            {"Code": "R07.89", "Score": 0.4},
                            {"Code": "R07.9", "Score": 0.8},
                        ],
                        Traits=[{"Name": "SYMPTOM", "Score": 0.7}],
                    )
                ]
            },
            "InferRxNorm": {
                "Entities": [
                    entity(
                        15,
                        22,
                        "aspirin",
                        "MEDICATION",
                        RxNormConcepts=[{"Code": "1191", "Score": 0.9}],
                    )
                ]
            },
        }
    )
    entities, _ = build_marks(text, result)
    assert [(m.begin, m.sources) for m in entities] == [
        (0, ("DetectEntitiesV2", "InferICD10CM")),
        (15, ("InferRxNorm",)),
    ]
    assert [c.code for c in entities[0].concepts] == ["R07.9", "R07.89"]  # ranked by score
    assert [t.name for t in entities[0].traits] == ["SYMPTOM"]


def test_attributes_link_to_their_medication_and_an_entity_span_is_not_drawn_twice() -> None:
    text = "aspirin 81 mg PO"
    dose = {
        "Type": "DOSAGE",
        "BeginOffset": 8,
        "EndOffset": 13,
        "Text": "81 mg",
        "Score": 0.9,
        "RelationshipScore": 0.95,
    }
    route = {
        "Type": "ROUTE_OR_MODE",
        "BeginOffset": 14,
        "EndOffset": 16,
        "Text": "PO",
        "Score": 0.9,
    }
    result = NlpResult.model_validate(
        {
            "DetectEntitiesV2": {
                "Entities": [
                    entity(0, 7, "aspirin", "MEDICATION", Attributes=[dose, route]),
                    entity(14, 16, "PO", "MEDICATION"),
                ]
            },
            "InferRxNorm": {"Entities": [entity(0, 7, "aspirin", "MEDICATION", Attributes=[dose])]},
        }
    )
    note = annotate(text, result)
    aspirin = note.entities[0]
    assert [a.type for a in aspirin.attributes] == ["DOSAGE", "ROUTE_OR_MODE"]
    assert [m.text for m in note.attributes] == ["81 mg"]  # "PO" is an entity already
    assert note.attributes[0].parents == [aspirin]
    twin = aspirin.attributes[1].twin
    assert twin is not None
    assert twin.text == "PO"
    assert "of aspirin" in note.attributes[0].aria_label


def test_nesting_contained_clipped_and_outside_marks() -> None:
    text = "left lower lobe pneumonia"
    marks = [
        Mark("outer", "entity", 0, 15, "left lower lobe", "ANATOMY", None, None),
        Mark("inner", "attribute", 5, 10, "lower", None, None, None),
        Mark("partial", "entity", 11, 25, "lobe pneumonia", None, None, None),
        Mark("outside", "entity", 30, 40, "x", None, None, None),
        Mark("empty", "entity", 3, 3, "", None, None, None),
    ]
    nodes = nest(text, marks)
    assert flatten(nodes) == text
    assert [n.mark.key for n in nodes if n.mark] == ["outer"]
    outer = nodes[0]
    assert [n.mark.key for n in outer.children if n.mark] == ["inner", "partial"]
    by_key = {m.key: m for m in marks}
    assert by_key["partial"].clipped
    assert not by_key["inner"].clipped
    assert not by_key["outside"].drawn
    assert not by_key["empty"].drawn


def test_mismatched_text_is_flagged() -> None:
    note = annotate(
        "chest pain",
        NlpResult.model_validate({"DetectEntitiesV2": {"Entities": [entity(0, 5, "fever")]}}),
    )
    assert [m.text for m in note.mismatched] == ["fever"]
    assert "differs from the note" in note.entities[0].report


def test_clinical_resources_link_by_derivation_offsets() -> None:
    text = sample_text("medication-list")
    note = annotate(
        text,
        NlpResult.model_validate(recorded("medication-list")),
        golden("medication-list", "clinical"),
    )
    linked = {r.reference.split("/")[0]: r for r in note.resources if r.mark_keys}
    assert set(linked) == {"Condition", "MedicationStatement"}
    for link in note.resources:
        for key in link.mark_keys:
            mark = next(m for m in note.entities if m.key == key)
            assert (mark.begin, mark.end) == (link.begin, link.end)
            assert link in mark.resources
    unlinked = sorted(r.resource_type for r in note.resources if not r.mark_keys)
    assert unlinked == ["Linkage", "Provenance"]


def test_healthlake_resources_link_by_concept_code() -> None:
    text = sample_text("example2-advil")
    note = annotate(
        text,
        NlpResult.model_validate(recorded("example2-advil")),
        golden("example2-advil", "healthlake"),
    )
    statements = [r for r in note.resources if r.resource_type == "MedicationStatement"]
    assert len(statements) == 5
    advil = next(m for m in note.entities if m.text == "Advil")
    assert advil.resources == statements
    assert [m[0] for m in advil.markers] == ["neg"]  # "Tom is not prescribed Advil"


def test_bug_report_names_ids_offsets_engine_and_never_the_text() -> None:
    from api.ui.annotate import ReportContext

    text = sample_text("negation-family-hypothetical")
    context = ReportContext(
        "DocumentReference/progress-0001 version 3", "local local-0.4.0", "clinical", "SUCCESS"
    )
    note = annotate(
        text, NlpResult.model_validate(recorded("negation-family-hypothetical")), context=context
    )
    for mark in note.marks:
        report = mark.report
        assert "DocumentReference/progress-0001 version 3" in report
        assert "engine: local local-0.4.0" in report
        assert f"offsets {mark.begin}-{mark.end}" in report
        assert mark.text is not None
        assert mark.text not in report
    negated = [m for m in note.entities if "neg" in {k[0] for k in m.markers}]
    assert negated
    assert all("NEGATION" in m.report and "negated" in m.aria_label for m in negated)
