"""The built local engine on a short discharge summary: what the generated FHIR says (issue 8).

Skips when the assets are not built (``docref-nlp models build``; ``make test`` builds them).
"""

from __future__ import annotations

from typing import Any

import pytest

from enrich.fhir import round_trip
from tests.unit.meaning_fixtures import Note, analyse

NOTE = """DISCHARGE SUMMARY

HISTORY OF PRESENT ILLNESS:
The patient is a 72-year-old man who presents with a 3-day history of dyspnea and orthopnea.
He denies chest pain.

PAST MEDICAL HISTORY:
Chronic kidney disease stage 3
Atrial fibrillation
Remote history of pneumonia, resolved.

SOCIAL HISTORY:
Former smoker, quit 10 years ago. Drinks alcohol socially.

ALLERGIES:
Penicillin (rash).

MEDICATIONS:
Continue metformin 500 mg PO twice daily.
Discontinued: glipizide.

DISCHARGE INSTRUCTIONS:
Return if chest pain or shortness of breath worsens.
"""


@pytest.fixture(scope="module")
def note() -> Note:
    from nlp.base import EngineError
    from nlp.local import LocalEngine
    from nlp.local.assets import assets_dir

    if not (assets_dir() / "lexicon.pkl").exists():
        pytest.skip(f"local assets not built in {assets_dir()}: run `docref-nlp models build`")
    try:
        engine = LocalEngine.from_assets()
    except EngineError as exc:
        pytest.skip(f"local assets unusable: {exc}")
    return analyse(engine, NOTE)


def _derived_text(note: Note, resource: dict[str, Any]) -> str:
    ext = next(e for e in resource["extension"] if e["url"].endswith("derivation-reference"))
    parts = {c["url"]: c.get("valueInteger") for c in ext["extension"]}
    return note.text[parts["offset"] : parts["offset"] + parts["length"]]


def test_what_the_generated_fhir_says(note: Note) -> None:
    derived = [r for r in note.generated if r["resourceType"] not in ("Linkage", "Provenance")]
    said = {(r["resourceType"], _derived_text(note, r).lower()): r for r in derived}
    # no header became an entity, no former smoker became nicotine dependence
    assert not [w for _, w in said if w in ("illness", "allergies", "history")]
    assert not [r for r in note.of("Condition") if r["code"]["coding"][-1]["code"][:3] == "F17"]
    assert not [e for e in note.result.entities if e.type == "AGE" and e.text == "10"]
    # remote pneumonia is resolved; the HPI symptoms are current
    assert said[("Condition", "pneumonia")]["clinicalStatus"]["coding"][0]["code"] == "resolved"
    for word in ("dyspnea", "orthopnea"):
        assert "PAST_HISTORY" not in note.traits(word)
    # the allergen is an AllergyIntolerance, not a drug taken; its rash is no condition of now
    (allergy,) = note.of("AllergyIntolerance")
    assert allergy["code"]["text"] == "Penicillin"
    assert allergy["reaction"][0]["manifestation"][0]["text"] == "rash"
    assert ("MedicationStatement", "penicillin") not in said
    assert not [k for k in said if k[1] == "rash"]
    # statuses and dosage from the text
    assert said[("MedicationStatement", "glipizide")]["status"] == "stopped"
    metformin = said[("MedicationStatement", "metformin")]
    assert metformin["status"] == "active"
    assert metformin["dosage"][0]["timing"]["repeat"]["frequency"] == 2
    # smoking status, and the discharge instructions' conditional findings make nothing
    smoking = [r for r in note.of("Observation") if "category" in r]
    assert [s["valueCodeableConcept"]["coding"][0]["code"] for s in smoking] == ["8517006"]
    assert ("Observation", "shortness of breath") not in said
    for r in note.generated:
        round_trip(r)
