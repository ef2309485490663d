"""Differences between two results of one note (pure)."""

from __future__ import annotations

from typing import Any

from api.ui.annotate import annotate
from api.ui.compare import compare
from nlp.schema import NlpResult

TEXT = "cough, fever, aspirin 81 mg, rash"


def result(*entities: dict[str, Any], icd: list[dict[str, Any]] | None = None) -> NlpResult:
    return NlpResult.model_validate(
        {"DetectEntitiesV2": {"Entities": list(entities)}, "InferICD10CM": {"Entities": icd or []}}
    )


def ent(needle: str, category: str = "MEDICAL_CONDITION", **extra: Any) -> dict[str, Any]:
    begin = TEXT.index(needle)
    fields = {"Category": category, "Type": "DX_NAME", "Score": 0.9, "Traits": []}
    fields.update(extra)
    return {"BeginOffset": begin, "EndOffset": begin + len(needle), "Text": needle, **fields}


def test_added_removed_changed_and_same() -> None:
    dose = {"Type": "DOSAGE", "BeginOffset": 22, "EndOffset": 27, "Text": "81 mg"}
    old = result(ent("cough"), ent("fever"), ent("aspirin", "MEDICATION"), ent("rash", Score=0.9))
    new = result(
        ent("fever", Traits=[{"Name": "NEGATION", "Score": 0.9}]),
        ent("aspirin", "MEDICATION", Attributes=[dose]),
        ent("rash", Score=0.2),  # a score alone is no change
        ent("81 mg", "MEDICATION", Type="DOSAGE"),
    )
    a, b = annotate(TEXT, old, prefix="a-"), annotate(TEXT, new, prefix="b-")
    diff = compare(a, b)
    by_text = {(r.a or r.b).text: r for r in diff.rows if (r.a or r.b) is not None}
    assert by_text["cough"].status == "removed"
    assert by_text["81 mg"].status == "added"
    assert by_text["fever"].changes == ("traits +NEGATION",)
    assert by_text["aspirin"].changes == ("attributes +DOSAGE",)
    assert by_text["rash"].status == "same"
    assert [diff.count(s) for s in ("added", "removed", "changed", "same")] == [1, 1, 2, 1]
    assert [m.diff for m in a.entities] == ["removed", "changed", "changed", None]
    assert [m.diff for m in b.entities] == ["changed", "changed", "added", None]
    assert "removed" in a.entities[0].aria_label
    assert a.entities[0].badges == "− removed"


def test_category_type_and_top_concept_changes_are_named() -> None:
    old = result(ent("rash"), icd=[ent("rash", ICD10CMConcepts=[{"Code": "R21", "Score": 0.9}])])
    new = result(
        ent("rash", "ANATOMY", Type="SYSTEM_ORGAN_SITE"),
        icd=[ent("rash", ICD10CMConcepts=[{"Code": "L30.9", "Score": 0.9}])],
    )
    (row,) = compare(annotate(TEXT, old), annotate(TEXT, new)).rows
    assert row.changes == (
        "category MEDICAL_CONDITION → ANATOMY",
        "type DX_NAME → SYSTEM_ORGAN_SITE",
        "ICD-10-CM R21 → L30.9",
    )
