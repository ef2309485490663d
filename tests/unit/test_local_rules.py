"""Sections, traits table and medication attributes of the local engine (PHI: test_local_phi)."""

from __future__ import annotations

import pytest

from nlp.local.attributes import AttrHit, MedicationAttributes, type_mass_amounts
from nlp.local.sections import Sectionizer
from nlp.local.traits import ATTRIBUTE_TO_TRAIT, CONTEXT_TO_TRAIT, trait_from_icd10
from tests.unit.test_local_engine import TERMS, FakeIcd10Linker, FakeRxNormLinker


@pytest.mark.parametrize(
    ("attribute", "category", "trait"),
    [
        ("is_negated", "NEGATED_EXISTENCE", "NEGATION"),
        ("is_historical", "HISTORICAL", "PAST_HISTORY"),
        ("is_hypothetical", "HYPOTHETICAL", "HYPOTHETICAL"),
        ("is_family", "FAMILY", "PERTAINS_TO_FAMILY"),
        ("is_uncertain", "POSSIBLE_EXISTENCE", "LOW_CONFIDENCE"),
    ],
)
def test_context_attribute_to_trait_table(attribute: str, category: str, trait: str) -> None:
    from medspacy.context.context import DEFAULT_ATTRIBUTES

    assert DEFAULT_ATTRIBUTES[category] == {attribute: True}
    assert ATTRIBUTE_TO_TRAIT[attribute] == trait
    assert CONTEXT_TO_TRAIT[category] == trait


@pytest.mark.parametrize(
    ("code", "trait"),
    [
        ("R10.9", "SYMPTOM"),
        ("R50.9", "SYMPTOM"),
        ("R79.89", "SIGN"),
        ("I10", "DIAGNOSIS"),
        ("J18.9", "DIAGNOSIS"),
        (None, None),
    ],
)
def test_trait_from_icd10_chapter(code: str | None, trait: str | None) -> None:
    assert trait_from_icd10(code) == trait


@pytest.fixture(scope="module")
def sectionizer() -> Sectionizer:
    return Sectionizer()


def test_sections(sectionizer: Sectionizer) -> None:
    text = (
        "CHIEF COMPLAINT: cough\nPast Medical History:\nHTN\nFamily History: CAD\n"
        "Assessment and Plan: pneumonia\nA: stable\nas noted"
    )
    got = [(s.category, text[s.begin : s.header_end].strip()) for s in sectionizer.find(text)]
    assert [c for c, _ in got] == [
        "chief_complaint",
        "past_medical_history",
        "family_history",
        "assessment_and_plan",
        "observation_and_plan",
    ]
    assert sectionizer.context["past_medical_history"] == "HISTORICAL"
    assert sectionizer.context["family_history"] == "FAMILY"
    assert sectionizer.traits["chief_complaint"] == "SYMPTOM"
    assert sectionizer.traits["observation_and_plan"] == "DIAGNOSIS"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "125 micrograms p.o. once daily",
            [("MASS", "125 micrograms"), ("ROUTE_OR_MODE", "p.o."), ("FREQUENCY", "once daily")],
        ),
        (
            "1.1 % topical gel 1 application Topically daily",
            [
                ("STRENGTH", "1.1 %"),
                ("FORM", "topical gel"),
                ("DOSAGE", "1 application"),
                ("ROUTE_OR_MODE", "Topically"),
                ("FREQUENCY", "daily"),
            ],
        ),
        (
            "at 12 mg/hr IV for 5 days",
            [("RATE", "at 12 mg/hr"), ("ROUTE_OR_MODE", "IV"), ("DURATION", "for 5 days")],
        ),
        ("2 tabs q6h prn", [("DOSAGE", "2 tabs"), ("FREQUENCY", "q6h"), ("FREQUENCY", "prn")]),
    ],
)
def test_medication_attributes(text: str, expected: list[tuple[str, str]]) -> None:
    hits = MedicationAttributes().find(text)
    assert [(h.type, text[h.begin : h.end]) for h in hits] == expected


def test_mass_amount_is_strength_only_next_to_a_dose_count() -> None:
    mass = AttrHit(0, 6, "MASS")
    count = AttrHit(7, 12, "DOSAGE")
    assert [h.type for h in type_mass_amounts([mass])] == ["DOSAGE"]
    assert [h.type for h in type_mass_amounts([mass, count])] == ["STRENGTH", "DOSAGE"]


def test_medication_attributes_attach_to_the_right_drug() -> None:
    from nlp.local import LocalEngine

    engine = LocalEngine(TERMS, FakeIcd10Linker(), FakeRxNormLinker())
    text = "aspirin 81 mg daily, heparin 5000 units subq q8h. Insulin 10 units at bedtime."
    result = engine.analyze(text)
    got = {e.text: [(a.type, a.text) for a in e.attributes or []] for e in result.rxnorm_entities}
    assert got == {
        "aspirin": [("DOSAGE", "81 mg"), ("FREQUENCY", "daily")],
        "heparin": [("DOSAGE", "5000 units"), ("ROUTE_OR_MODE", "subq"), ("FREQUENCY", "q8h")],
        "Insulin": [("DOSAGE", "10 units"), ("FREQUENCY", "at bedtime")],
    }


@pytest.mark.parametrize(
    ("text", "pairs"),
    [
        (
            "neuroleptic malignant syndrome (NMS) was seen",
            [("NMS", "neuroleptic malignant syndrome")],
        ),
        (
            "Familial adenomatous polyposis (FAP) and FAP.",
            [("FAP", "Familial adenomatous polyposis")],
        ),
        ("butylated hydroxyanisole (BHA) in rats", [("BHA", "butylated hydroxyanisole")]),
        ("given 5 mg (IV) daily", []),
        ("the dose (2 mg) was", []),
    ],
)
def test_schwartz_hearst_definitions(text: str, pairs: list[tuple[str, str]]) -> None:
    from nlp.local.abbrev import find_abbreviations

    got = [(a.short, text[a.long_begin : a.long_end]) for a in find_abbreviations(text)]
    assert got == pairs


def test_defined_short_form_takes_the_long_form_category() -> None:
    from nlp.local import LocalEngine

    engine = LocalEngine(TERMS, FakeIcd10Linker(), FakeRxNormLinker())
    text = "Crohn's disease (CD) is chronic. CD flares were treated."
    cds = [e for e in engine.analyze(text).entities if e.text == "CD"]
    assert len(cds) == 2
    assert {e.category for e in cds} == {"MEDICAL_CONDITION"}
