"""Medication mentions as dose lines write them: combination products are one entity; release
words, combination strengths and bracketed brands reach the RxNorm linker."""

from __future__ import annotations

import pytest

from nlp.local import LocalEngine
from nlp.local.medcombo import drug_dose_follows
from nlp.local.pipeline import annotate_text, annotator_of
from tests.unit.test_local_engine import MED, FakeIcd10Linker, FakeRxNormLinker, FakeTerm

TERMS = [
    FakeTerm(name, MED, "GENERIC_NAME", "rxnorm")
    for name in (
        "amoxicillin",
        "clavulanate",
        "acetaminophen",
        "hydrocodone bitartrate",
        "hydrocodone",
        "lisinopril",
        "hydrochlorothiazide",
        "aspirin",
        "clopidogrel",
        "metformin",
        "oxycodone hydrochloride",
        "insulin",
        "fluticasone",
        "adalimumab",
        "ASA",
    )
] + [
    FakeTerm("Plavix", MED, "BRAND_NAME", "drugner"),
    FakeTerm("Tylenol", MED, "BRAND_NAME", "drugner"),
    FakeTerm("Norco", MED, "BRAND_NAME", "rxnorm"),
    FakeTerm("vitamin b12", MED, "GENERIC_NAME", "rxnorm"),
    FakeTerm("vitamin b12", "TEST_TREATMENT_PROCEDURE", "TEST_NAME", "tests"),
    FakeTerm("APAP", MED, "GENERIC_NAME", "drugner"),
    FakeTerm("salmeterol", MED, "GENERIC_NAME", "rxnorm"),
    FakeTerm("salmeterolum", MED, "GENERIC_NAME", "drugner"),
]


@pytest.fixture(scope="module")
def engine() -> LocalEngine:
    return LocalEngine(TERMS, FakeIcd10Linker(), FakeRxNormLinker(), build_id="test")


def _meds(engine: LocalEngine, text: str) -> list[tuple[str, str]]:
    """(entity text, text given to the RxNorm linker) of each medication mention."""
    mentions = annotate_text(engine.nlp, annotator_of(engine.nlp), text)
    return [
        (text[m.begin : m.end], m.link or text[m.begin : m.end])
        for m in mentions
        if m.category == MED
    ]


def test_rxnorm_spelling_with_words_the_dictionary_left_out(engine: LocalEngine) -> None:
    text = (
        "insulin isophane, human 70 unt/ml / insulin, regular, human 30 unt/ml "
        "injectable suspension [humulin]"
    )
    got = _meds(engine, text)
    assert got[0] == (
        "insulin isophane, human 70 unt/ml / insulin",
        "insulin isophane, human / insulin, regular, human 70 unt/ml 30 unt/ml suspension "
        "[humulin]",
    )
    line = "120 actuat fluticasone 0.044 mg/actuat metered dose inhaler [Flovent]"
    assert _meds(engine, line)[0] == (
        "fluticasone",
        "fluticasone 120 actuat 0.044 mg/actuat [Flovent]",
    )


def test_rxnorm_spelling_with_strengths_between_the_names(
    engine: LocalEngine,
) -> None:
    text = "Medications: amoxicillin 250 mg / clavulanate 125 mg oral tablet; aspirin 81 mg"
    got = _meds(engine, text)
    assert got == [
        ("amoxicillin 250 mg / clavulanate", "amoxicillin / clavulanate 250 mg 125 mg"),
        ("aspirin", "aspirin"),
    ]
    entity = engine.analyze(text).rxnorm_entities[0]
    types = [(a.text, a.type) for a in entity.attributes or []]
    assert ("250 mg", "DOSAGE") in types
    assert ("125 mg", "DOSAGE") in types
    assert ("tablet", "FORM") in types


@pytest.mark.parametrize(
    ("text", "entity", "link"),
    [
        ("Take hydrocodone-APAP 5-325 mg q6h prn", "hydrocodone-APAP", "5-325 mg"),
        ("hydrocodone/acetaminophen 10/325 mg q4h", "hydrocodone/acetaminophen", "10/325 mg"),
        (
            "lisinopril and hydrochlorothiazide 20/12.5 mg daily",
            "lisinopril and hydrochlorothiazide",
            "20/12.5 mg",
        ),
        ("Norco 5/325 1 tab q4h prn", "Norco", "5/325 mg"),
    ],
)
def test_joined_names_with_a_combination_strength_are_one_medication(
    engine: LocalEngine, text: str, entity: str, link: str
) -> None:
    got = _meds(engine, text)
    assert len(got) == 1
    assert got[0][0] == entity
    assert got[0][1].endswith(link)


@pytest.mark.parametrize(
    "text",
    [
        "Started aspirin and clopidogrel 75 mg daily",  # dual therapy, one strength
        "on ASA/Plavix",  # two drugs without a dose
        "aspirin, clopidogrel",
        "aspirin 81 mg and clopidogrel 75 mg daily",
        "aspirin 81 mg / clopidogrel 75 mg daily",  # no dose form: two drugs
    ],
)
def test_two_drugs_stay_two(engine: LocalEngine, text: str) -> None:
    assert len(_meds(engine, text)) == 2


@pytest.mark.parametrize(
    ("text", "link"),
    [
        ("metformin ER 500 mg twice daily", "metformin ER"),
        ("metformin 500 mg extended release tablet", "metformin extended release"),
        ("metformin 500 mg twice daily", "metformin"),
        (
            "abuse-deterrent 12 hr oxycodone hydrochloride 15 mg extended release oral tablet",
            "oxycodone hydrochloride abuse-deterrent 12 hr extended release",
        ),
        ("acetaminophen 325 mg oral tablet [Tylenol]", "acetaminophen [Tylenol]"),
        ("metformin 500 mg per Dr. Smith", "metformin"),  # "Dr" is no release word
        ("0.4 ml adalimumab 100 mg/ml prefilled syringe", "adalimumab 0.4 ml 100 mg/ml syringe"),
    ],
)
def test_dose_line_words_reach_the_linker(engine: LocalEngine, text: str, link: str) -> None:
    assert _meds(engine, text)[0][1] == link


def test_a_drug_dose_is_not_a_test_value(engine: LocalEngine) -> None:
    eng = engine
    med = eng.analyze("vitamin b12 5 mg/ml injectable solution")
    assert [e.text for e in med.rxnorm_entities] == ["vitamin b12"]
    lab = eng.analyze("vitamin b12 450 pg/ml")
    assert lab.rxnorm_entities == []
    assert [e.type for e in lab.entities if e.text == "vitamin b12"] == ["TEST_NAME"]
    assert drug_dose_follows("potassium 20 mEq PO", 9)
    assert not drug_dose_follows("potassium 4.1 mEq/L", 9)


def test_a_whole_drug_name_is_not_completed_to_a_longer_one(engine: LocalEngine) -> None:
    text = "fluticasone propionate 0.25 mg/actuat / salmeterol 0.05 mg/actuat dry powder inhaler"
    got = _meds(engine, text)
    assert len(got) == 1
    assert "salmeterolum" not in got[0][1]
    assert got[0][1].startswith("fluticasone propionate / salmeterol ")
