"""A small clinical lexicon, code-table linkers and helpers for the clinical-meaning tests.

The local engine runs for real (sections, ConText, allergies, social history, statuses); only
the vocabulary is this fixed table, so the tests need no built assets and test meaning, not
recall. Codes are real ICD-10-CM codes and RxCUIs.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from enrich import EnrichmentPolicy, enrich_document
from enrich.core import Enrichment
from nlp.local import LocalEngine
from nlp.schema import Concept, NlpResult
from tests.unit.test_local_engine import FakeTerm

MC, MED, TTP = "MEDICAL_CONDITION", "MEDICATION", "TEST_TREATMENT_PROCEDURE"


CONDITIONS = {
    "illness": ("R69", "Illness, unspecified"),
    "allergies": ("T78.40XA", "Allergy, unspecified, initial encounter"),
    "dyspnea": ("R06.00", "Dyspnea, unspecified"),
    "orthopnea": ("R06.01", "Orthopnea"),
    "chest pain": ("R07.9", "Chest pain, unspecified"),
    "shortness of breath": ("R06.02", "Shortness of breath"),
    "chronic kidney disease": ("N18.9", "Chronic kidney disease, unspecified"),
    "atrial fibrillation": ("I48.91", "Unspecified atrial fibrillation"),
    "heart failure": ("I50.9", "Heart failure, unspecified"),
    "coronary artery disease": ("I25.10", "Atherosclerotic heart disease"),
    "hypertension": ("I10", "Essential (primary) hypertension"),
    "diabetes": ("E11.9", "Type 2 diabetes mellitus without complications"),
    "pneumonia": ("J18.9", "Pneumonia, unspecified organism"),
    "asthma": ("J45.909", "Unspecified asthma, uncomplicated"),
    "breast cancer": ("C50.919", "Malignant neoplasm of unspecified site of unspecified breast"),
    "rash": ("R21", "Rash and other nonspecific skin eruption"),
    "hives": ("L50.9", "Urticaria, unspecified"),
    "anaphylaxis": ("T78.2XXA", "Anaphylactic shock, unspecified, initial encounter"),
    "nausea": ("R11.0", "Nausea"),
    "n/v": ("R11.2", "Nausea with vomiting, unspecified"),
    "clubbing": ("R68.3", "Clubbing of fingers"),
    "cyanosis": ("R23.0", "Cyanosis"),
    "edema": ("R60.9", "Edema, unspecified"),
    "wheezing": ("R06.2", "Wheezing"),
    "cough": ("R05.9", "Cough, unspecified"),
    "fever": ("R50.9", "Fever, unspecified"),
    "pain": ("R52", "Pain, unspecified"),
    "hypotension": ("I95.9", "Hypotension, unspecified"),
    "migraine without aura": ("G43.009", "Migraine without aura, not intractable"),
    "migraine": ("G43.909", "Migraine, unspecified"),
    "vte": ("I82.90", "Acute embolism and thrombosis of unspecified vein"),
    "smoker": ("F17.210", "Nicotine dependence, cigarettes, uncomplicated"),
    "tobacco abuse": ("Z72.0", "Tobacco use"),
    "alcohol withdrawal": ("F10.239", "Alcohol dependence with withdrawal, unspecified"),
}
DRUGS = {
    "metformin": ("6809", "metformin"),
    "glipizide": ("4821", "glipizide"),
    "furosemide": ("4603", "furosemide"),
    "lisinopril": ("29046", "lisinopril"),
    "aspirin": ("1191", "aspirin"),
    "penicillin": ("7980", "penicillin G"),
    "amoxicillin": ("723", "amoxicillin"),
    "codeine": ("2670", "codeine"),
    "enoxaparin": ("67108", "enoxaparin"),
    "heparin": ("5224", "heparin"),
    "warfarin": ("11289", "warfarin"),
    "atorvastatin": ("83367", "atorvastatin"),
    "metoprolol": ("6918", "metoprolol"),
    "insulin": ("5856", "insulin"),
    "alcohol": ("448", "ethanol"),
}
TERMS = [
    *(FakeTerm(t, MC, "DX_NAME", "icd10cm", c) for t, (c, _) in CONDITIONS.items()),
    *(FakeTerm(t, MED, "GENERIC_NAME", "rxnorm", c) for t, (c, _) in DRUGS.items()),
    FakeTerm("physical exam", TTP, "PROCEDURE_NAME", "procedures"),
]


class TableLinker:
    """Concepts from a ``{text: (code, description)}`` table (score 0.9), any attributes."""

    def __init__(self, table: dict[str, tuple[str, str]]) -> None:
        self.table = table

    def link(self, text: str, **_: Any) -> list[Concept]:
        found = self.table.get(text.lower())
        return [] if found is None else [Concept(code=found[0], description=found[1], score=0.9)]


def build_engine() -> LocalEngine:
    """The real local engine over the fixed table."""
    return LocalEngine(TERMS, TableLinker(CONDITIONS), TableLinker(DRUGS), build_id="meaning-test")


def document(text: str, content_type: str = "text/plain") -> dict[str, Any]:
    """A DocumentReference holding ``text`` inline, with a subject and an encounter."""
    data = base64.b64encode(text.encode("utf-8")).decode("ascii")
    return {
        "resourceType": "DocumentReference",
        "id": "note-1",
        "status": "current",
        "subject": {"reference": "Patient/p-1"},
        "context": {"encounter": [{"reference": "Encounter/e-1"}]},
        "content": [{"attachment": {"contentType": content_type, "data": data}}],
    }


def enrich(doc: dict[str, Any], result: NlpResult, profile: str = "clinical") -> Enrichment:
    """``enrich_document`` at a fixed clock."""
    return enrich_document(
        doc,
        result,
        policy=EnrichmentPolicy(profile=profile),  # type: ignore[arg-type]
        now=datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC),
        engine_name="local",
        engine_version="test",
    )


@dataclass
class Note:
    """One note analysed and enriched: the text, the NLP result and the generated resources."""

    text: str
    result: NlpResult
    generated: list[dict[str, Any]]

    def entity(self, text: str, category: str | None = None) -> Any:
        """The first DetectEntitiesV2 entity with this text (and category)."""
        for e in self.result.entities:
            if e.text == text and (category is None or e.category == category):
                return e
        raise AssertionError(f"no entity {text!r} ({category})")

    def traits(self, text: str, category: str | None = None) -> set[str]:
        """Trait names of that entity."""
        return {t.name for t in self.entity(text, category).traits or []}

    def of(self, resource_type: str) -> list[dict[str, Any]]:
        """Generated resources of one type."""
        return [r for r in self.generated if r["resourceType"] == resource_type]

    def codes(self, resource_type: str) -> list[str]:
        """The first code of each generated resource of that type (standard system)."""
        out = []
        for r in self.of(resource_type):
            concept = r.get("code") or r.get("medicationCodeableConcept") or {}
            codings = concept.get("coding") or [{}]
            out.append(codings[-1].get("code", concept.get("text")))
        return out

    def medication(self, code: str) -> dict[str, Any]:
        """The MedicationStatement coded ``code``."""
        for r in self.of("MedicationStatement"):
            if r["medicationCodeableConcept"]["coding"][-1]["code"] == code:
                return r
        raise AssertionError(f"no MedicationStatement {code}")

    def condition(self, code: str) -> dict[str, Any]:
        """The Condition coded ``code``."""
        for r in self.of("Condition"):
            if r["code"]["coding"][-1]["code"] == code:
                return r
        raise AssertionError(f"no Condition {code}")


def analyse(engine: LocalEngine, text: str, content_type: str = "text/plain") -> Note:
    """Analyse ``text`` and enrich it in the clinical profile."""
    doc = document(text, content_type)
    if content_type.startswith("text/html"):
        from enrich.text import extract_text

        extracted = extract_text(doc)
        assert extracted is not None
        assert extracted.text is not None
        text = extracted.text
    result = engine.analyze(text)
    return Note(text, result, enrich(doc, result).generated)
