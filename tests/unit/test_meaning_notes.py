"""Clinical meaning end to end: short notes written for these tests -> local engine -> FHIR.

Each note is one situation of issue 8 / DESIGN D16, written from clinical knowledge; every
expectation is what a clinician reading the note would say the generated FHIR must say.
``docs/clinical-meaning.md`` lists the rules these notes exercise.
"""

from __future__ import annotations

from typing import Any

import pytest

from enrich import urls
from enrich.fhir import round_trip
from nlp.local import LocalEngine
from tests.unit.meaning_fixtures import Note, analyse, build_engine

BES = "BEHAVIORAL_ENVIRONMENTAL_SOCIAL"


@pytest.fixture(scope="module")
def engine() -> LocalEngine:
    return build_engine()


def _status(resource: dict[str, Any], key: str) -> str | None:
    concept = resource.get(key)
    return None if concept is None else str(concept["coding"][0]["code"])


# ------------------------------------------------------------------------------- sections


def test_01_headers_are_never_entities_and_hpi_is_current(engine: LocalEngine) -> None:
    note = analyse(
        engine,
        "HISTORY OF PRESENT ILLNESS:\n"
        "Mr. Smith presents with a 3-day history of dyspnea and orthopnea.\n\n"
        "ALLERGIES:\nNone.\n\nPHYSICAL EXAM:\nAlert, in no distress.\n",
    )
    header_words = {"ILLNESS", "ALLERGIES", "PHYSICAL EXAM", "HISTORY OF PRESENT ILLNESS"}
    assert not header_words & {e.text for e in note.result.entities}
    assert "R69" not in note.codes("Condition") + note.codes("Observation")
    for word in ("dyspnea", "orthopnea"):
        assert "PAST_HISTORY" not in note.traits(word)
    generated = note.codes("Condition") + note.codes("Observation")
    assert {"R06.00", "R06.01"} <= set(generated)


def test_02_past_medical_history_list_across_lines(engine: LocalEngine) -> None:
    note = analyse(
        engine,
        "PAST MEDICAL HISTORY:\nHypertension\nAtrial fibrillation\nChronic kidney disease\n\n"
        "HPI: Presents today with chest pain.\n",
    )
    for word in ("Hypertension", "Atrial fibrillation", "Chronic kidney disease"):
        assert "PAST_HISTORY" in note.traits(word)
    assert "PAST_HISTORY" not in note.traits("chest pain")
    # listed history: a Condition, with no clinical status the text does not give
    for code in ("I10", "I48.91", "N18.9"):
        assert "clinicalStatus" not in note.condition(code)


def test_03_inline_nursing_headers(engine: LocalEngine) -> None:
    note = analyse(
        engine,
        "Admitted with pneumonia; PMH: coronary artery disease, hypertension, diabetes; "
        "HPI: 2 week history of cough. Pmhx - asthma. Meds - metformin.\n",
    )
    for word in ("coronary artery disease", "hypertension", "diabetes", "asthma"):
        assert "PAST_HISTORY" in note.traits(word), word
    assert "PAST_HISTORY" not in note.traits("cough")
    assert "PAST_HISTORY" not in note.traits("pneumonia")
    assert _status(note.condition("J18.9"), "clinicalStatus") == "active"
    assert note.medication("6809")["status"] == "active"  # listed under a Meds header


def test_04_resolved_remote_and_remission(engine: LocalEngine) -> None:
    note = analyse(
        engine,
        "Remote history of pneumonia, resolved. Asthma as a child. "
        "Breast cancer, in remission. Coronary artery disease, on aspirin.\n",
    )
    assert _status(note.condition("J18.9"), "clinicalStatus") == "resolved"
    assert _status(note.condition("J45.909"), "clinicalStatus") == "inactive"
    assert _status(note.condition("C50.919"), "clinicalStatus") == "remission"
    assert _status(note.condition("I25.10"), "clinicalStatus") == "active"


def test_05_family_history_is_not_the_patients(engine: LocalEngine) -> None:
    note = analyse(
        engine,
        "FAMILY HISTORY:\nMother with breast cancer. Father had diabetes.\n\n"
        "ASSESSMENT:\nHypertension.\n",
    )
    assert "PERTAINS_TO_FAMILY" in note.traits("breast cancer")
    assert "PERTAINS_TO_FAMILY" in note.traits("diabetes")
    assert note.codes("Condition") == ["I10"]


def test_05b_an_inline_family_history_ends_with_its_line(engine: LocalEngine) -> None:
    note = analyse(
        engine,
        "Family history: mother had breast cancer; father with diabetes.\n"
        "She has hypertension and takes aspirin. She is not taking warfarin.\n",
    )
    assert "PERTAINS_TO_FAMILY" in note.traits("breast cancer")
    assert "PERTAINS_TO_FAMILY" in note.traits("diabetes")
    for own in ("hypertension", "aspirin", "warfarin"):
        assert "PERTAINS_TO_FAMILY" not in note.traits(own), own
    assert "NEGATION" in note.traits("warfarin")


# ------------------------------------------------------------------------------- allergies


def test_06_allergy_section_gives_allergy_intolerance_not_medication(engine: LocalEngine) -> None:
    note = analyse(
        engine,
        "ALLERGIES:\nPenicillin (rash), sulfa (hives).\n\n"
        "MEDICATIONS:\nMetformin 500 mg PO twice daily.\n",
    )
    allergies = {a["code"]["text"]: a for a in note.of("AllergyIntolerance")}
    assert set(allergies) == {"Penicillin", "sulfa"}
    pcn = allergies["Penicillin"]
    assert [c["code"] for c in pcn["code"]["coding"]] == ["7980", "7980"]
    assert pcn["code"]["coding"][1]["system"] == urls.RXNORM_SYSTEM
    assert pcn["category"] == ["medication"]
    assert pcn["patient"] == {"reference": "Patient/p-1"}
    assert _status(pcn, "clinicalStatus") == "active"
    assert _status(pcn, "verificationStatus") == "unconfirmed"
    assert pcn["reaction"][0]["manifestation"][0]["coding"][-1]["code"] == "R21"
    sulfa = allergies["sulfa"]
    assert "coding" not in sulfa["code"]
    assert sulfa["reaction"][0]["manifestation"][0]["text"] == "hives"
    # no MedicationStatement for the allergen, no Condition/Observation for the reactions
    assert note.codes("MedicationStatement") == ["6809"]
    assert not {"R21", "L50.9"} & set(note.codes("Observation") + note.codes("Condition"))
    assert "HYPOTHETICAL" not in note.traits("Penicillin", "MEDICATION")


def test_07_nkda_gives_no_resource(engine: LocalEngine) -> None:
    note = analyse(engine, "Allergies: NKDA.\nHypertension, on lisinopril 10 mg daily.\n")
    assert "NEGATION" in note.traits("NKDA", BES)
    assert note.of("AllergyIntolerance") == []


def test_08_allergy_cue_in_a_sentence(engine: LocalEngine) -> None:
    note = analyse(
        engine,
        "She is allergic to codeine, which causes nausea. Takes aspirin 81 mg daily.\n",
    )
    (codeine,) = note.of("AllergyIntolerance")
    assert codeine["code"]["coding"][-1]["code"] == "2670"
    assert codeine["reaction"][0]["manifestation"][0]["text"] == "nausea"
    assert note.codes("MedicationStatement") == ["1191"]
    assert note.medication("1191")["status"] == "active"
    assert "R11.0" not in note.codes("Observation")


def test_09_food_and_environment_allergens(engine: LocalEngine) -> None:
    note = analyse(engine, "Allergies: shellfish (anaphylaxis), latex.\n")
    allergies = {a["code"]["text"]: a for a in note.of("AllergyIntolerance")}
    assert allergies["shellfish"]["category"] == ["food"]
    assert allergies["latex"]["category"] == ["environment"]
    reaction = allergies["shellfish"]["reaction"][0]["manifestation"][0]
    assert reaction["coding"][-1]["code"] == "T78.2XXA"
    assert "reaction" not in allergies["latex"]


# ------------------------------------------------------------------------------- social


def test_10_former_smoker_alcohol_drugs(engine: LocalEngine) -> None:
    note = analyse(
        engine,
        "SOCIAL HISTORY:\nFormer smoker, quit 10 years ago. Drinks alcohol socially. "
        "Denies illicit drug use.\n",
    )
    assert note.entity("Former smoker").type == "TOBACCO_USE"
    assert "PAST_HISTORY" in note.traits("Former smoker")
    alcohol = note.entity("Drinks alcohol")
    assert (alcohol.category, alcohol.type) == (BES, "ALCOHOL_CONSUMPTION")
    assert [(a.type, a.text) for a in alcohol.attributes] == [("FREQUENCY", "socially")]
    drugs = note.entity("illicit drug use")
    assert drugs.type == "REC_DRUG_USE"
    assert "NEGATION" in note.traits("illicit drug use")
    assert not [e for e in note.result.entities if e.type == "AGE"]  # "10 years ago"
    (smoking,) = note.of("Observation")
    assert smoking["code"]["coding"][0]["code"] == urls.SMOKING_STATUS_CODE
    assert smoking["valueCodeableConcept"]["coding"][0]["code"] == "8517006"
    assert smoking["category"][0]["coding"][0]["code"] == "social-history"
    assert note.of("Condition") == []  # never nicotine dependence for a former smoker
    assert note.of("MedicationStatement") == []  # alcohol is a behaviour, not a drug


def test_11_current_daily_smoker(engine: LocalEngine) -> None:
    note = analyse(engine, "Social: smokes 1 ppd for 20 years.\n")
    smokes = note.entity("smokes")
    assert {(a.type, a.text) for a in smokes.attributes} == {
        ("AMOUNT", "1 ppd"),
        ("DURATION", "for 20 years"),
    }
    (smoking,) = note.of("Observation")
    assert smoking["valueCodeableConcept"]["coding"][0]["code"] == "449868002"


def test_12_never_smoker(engine: LocalEngine) -> None:
    note = analyse(engine, "Social history: Never smoker. No alcohol use.\n")
    (smoking,) = note.of("Observation")
    assert smoking["valueCodeableConcept"]["coding"][0]["code"] == "266919005"
    assert "NEGATION" in note.traits("alcohol use")


def test_13_past_tobacco_abuse_is_no_condition(engine: LocalEngine) -> None:
    note = analyse(engine, "PMH: tobacco abuse, hypertension.\n")
    assert "PAST_HISTORY" in note.traits("tobacco abuse")
    assert note.codes("Condition") == ["I10"]


def test_14_alcohol_withdrawal_stays_a_condition(engine: LocalEngine) -> None:
    note = analyse(engine, "Assessment: alcohol withdrawal.\n")
    assert note.entity("alcohol withdrawal").category == "MEDICAL_CONDITION"
    assert not [e for e in note.result.entities if e.category == BES]


# ------------------------------------------------------------------------------- hypothetical


def test_15_discharge_instructions_only_conditional_findings(engine: LocalEngine) -> None:
    note = analyse(
        engine,
        "DISCHARGE INSTRUCTIONS:\nTake furosemide 40 mg daily. "
        "Return if chest pain or shortness of breath worsens.\n",
    )
    assert "HYPOTHETICAL" in note.traits("chest pain")
    assert "HYPOTHETICAL" in note.traits("shortness of breath")
    assert "HYPOTHETICAL" not in note.traits("furosemide")
    assert note.medication("4603")["status"] == "active"
    assert note.of("Observation") == []


# ------------------------------------------------------------------------------- ConText fixes


def test_16_exam_list_after_a_colon(engine: LocalEngine) -> None:
    note = analyse(engine, "PHYSICAL EXAM:\nExtremities: No clubbing, cyanosis, or edema.\n")
    for word in ("clubbing", "cyanosis", "edema"):
        assert "NEGATION" in note.traits(word), word
    assert note.of("Observation") == []


def test_17_odd_spacing_and_evaluate_for(engine: LocalEngine) -> None:
    note = analyse(engine, "Lungs: negative   for wheezing. Will evaluate for pneumonia.\n")
    assert "NEGATION" in note.traits("wheezing")
    assert "NEGATION" not in note.traits("pneumonia")
    assert "LOW_CONFIDENCE" in note.traits("pneumonia")
    # a suspected diagnosis is provisional, not a fact
    assert _status(note.condition("J18.9"), "verificationStatus") == "provisional"


def test_18_non_productive_cough_is_a_cough(engine: LocalEngine) -> None:
    note = analyse(engine, "Reports non-productive cough and nonproductive cough since Monday.\n")
    coughs = [e for e in note.result.entities if e.text == "cough"]
    assert len(coughs) == 2
    assert all(not {t.name for t in e.traits or []} & {"NEGATION"} for e in coughs)
    assert note.codes("Observation") == ["R05.9", "R05.9"]


def test_19_cue_inside_a_name_and_purpose(engine: LocalEngine) -> None:
    note = analyse(
        engine,
        "Diagnosis: migraine without aura. Started enoxaparin for VTE prophylaxis.\n",
    )
    assert "NEGATION" not in note.traits("migraine without aura")
    assert note.condition("G43.009")
    enoxaparin = note.medication("67108")
    assert enoxaparin["status"] == "active"
    assert "HYPOTHETICAL" in note.traits("VTE")
    assert "I82.90" not in note.codes("Condition")


def test_20_negation_ends_at_the_clause(engine: LocalEngine) -> None:
    note = analyse(engine, "no n/v, tolerating diet, c/o pain at incision. No fever; cough.\n")
    assert "NEGATION" in note.traits("n/v")
    assert "NEGATION" not in note.traits("pain")
    assert "NEGATION" in note.traits("fever")
    assert "NEGATION" not in note.traits("cough")
    assert set(note.codes("Observation")) == {"R52", "R05.9"}


# ------------------------------------------------------------------------------- medications


def test_21_medication_statuses_from_the_text(engine: LocalEngine) -> None:
    note = analyse(
        engine,
        "MEDICATIONS:\nContinue metformin 500 mg PO twice daily.\nDiscontinued: glipizide.\n"
        "Lisinopril held for hypotension.\nCompleted a course of amoxicillin.\n"
        "Not taking warfarin. Previously on atorvastatin. Aspirin given.\n\n"
        "PLAN:\nWill start heparin drip.\n",
    )
    assert note.medication("6809")["status"] == "active"
    assert note.medication("4821")["status"] == "stopped"
    assert note.medication("29046")["status"] == "stopped"
    assert note.medication("723")["status"] == "completed"
    assert note.medication("11289")["status"] == "not-taken"
    assert note.medication("5224")["status"] == "intended"
    assert note.medication("83367")["status"] == "completed"
    assert note.medication("1191")["status"] == "completed"


def test_22_dosage_from_the_attributes(engine: LocalEngine) -> None:
    note = analyse(engine, "Home medications:\n- atorvastatin 40 mg PO nightly\n")
    med = note.medication("83367")
    assert med["status"] == "active"
    (dosage,) = med["dosage"]
    assert dosage["text"] == "40 mg PO nightly"
    assert dosage["route"]["coding"][0]["code"] == "26643006"
    assert dosage["timing"]["repeat"] == {
        "frequency": 1,
        "period": 1,
        "periodUnit": "d",
        "when": ["HS"],
    }
    assert dosage["doseAndRate"][0]["doseQuantity"] == {
        "value": 40,
        "unit": "mg",
        "system": urls.UCUM_SYSTEM,
        "code": "mg",
    }


def test_23_unknown_only_when_nothing_says(engine: LocalEngine) -> None:
    note = analyse(engine, "Metoprolol 25 mg.\n")
    assert note.medication("6918")["status"] == "unknown"


def test_24_a_relatives_drug_is_not_the_patients(engine: LocalEngine) -> None:
    note = analyse(engine, "Her mother takes insulin. Patient takes metformin.\n")
    assert "PERTAINS_TO_FAMILY" in note.traits("insulin")
    assert note.codes("MedicationStatement") == ["6809"]


# ------------------------------------------------------------------------------- FHIR form


def test_25_html_note_offsets_say_where_they_point(engine: LocalEngine) -> None:
    note = analyse(
        engine,
        "<html><body><h1>Note</h1><p>Patient has pneumonia &amp; cough.</p></body></html>",
        content_type="text/html",
    )
    (condition,) = [
        r
        for r in note.generated
        if r.get("code", {}).get("coding", [{}])[-1].get("code") == "J18.9"
    ]
    derivation = next(e for e in condition["extension"] if e["url"] == urls.DERIVATION_REFERENCE)
    assert {c["url"] for c in derivation["extension"]} == {"reference", "path"}
    span = next(e for e in condition["extension"] if e["url"] == urls.REDUCED_TEXT_SPAN)
    offset, length = (c["valueInteger"] for c in span["extension"])
    assert note.text[offset : offset + length] == "pneumonia"


def _every_note(engine: LocalEngine) -> list[Note]:
    texts = [
        "HISTORY OF PRESENT ILLNESS:\nPresents with dyspnea.\n\nPAST MEDICAL HISTORY:\n"
        "Remote history of pneumonia, resolved.\nHypertension\n\n"
        "ALLERGIES:\nPenicillin (rash), shellfish.\n\nSOCIAL HISTORY:\nFormer smoker.\n\n"
        "MEDICATIONS:\nContinue metformin 500 mg PO twice daily. Discontinued: glipizide.\n",
        "Social: smokes 1 ppd. Never drinks alcohol.\nAllergic to codeine (nausea).\n",
    ]
    return [analyse(engine, t) for t in texts]


def test_26_scores_and_links_are_plain_extensions(engine: LocalEngine) -> None:
    for note in _every_note(engine):
        derived = [r for r in note.generated if r["resourceType"] not in ("Linkage", "Provenance")]
        assert {r["resourceType"] for r in derived} >= {"Condition", "MedicationStatement"} or (
            {r["resourceType"] for r in derived} >= {"AllergyIntolerance", "Observation"}
        )
        for r in derived:
            assert "modifierExtension" not in r
            assert urls.SG_LINKAGE in {e["url"] for e in r["extension"]}
            assert r["meta"]["tag"][0]["code"] == "system-generated"


def test_27_new_resources_are_linked_and_have_provenance(engine: LocalEngine) -> None:
    note = _every_note(engine)[0]
    refs = {f"{r['resourceType']}/{r['id']}" for r in note.generated}
    (linkage,) = note.of("Linkage")
    (provenance,) = note.of("Provenance")
    linked = {i["resource"]["reference"] for i in linkage["item"] if i["type"] == "alternate"}
    targets = {t["reference"] for t in provenance["target"]}
    for r in note.of("AllergyIntolerance") + note.of("Observation"):
        ref = f"{r['resourceType']}/{r['id']}"
        assert ref in linked
        assert ref in targets
        assert ref in refs


def test_28_every_resource_validates_with_fhir_resources(engine: LocalEngine) -> None:
    kinds: set[str] = set()
    for note in _every_note(engine):
        for r in note.generated:
            dumped = round_trip(r)
            assert dumped["id"] == r["id"]
            kinds.add(r["resourceType"])
    assert kinds >= {"AllergyIntolerance", "Observation", "MedicationStatement", "Condition"}


def every_bundle(engine: LocalEngine) -> list[dict[str, Any]]:
    """Transaction-like Bundles of what the notes generate (for the Medplum test)."""
    return [
        {
            "resourceType": "Bundle",
            "type": "collection",
            "entry": [{"resource": r} for r in note.generated],
        }
        for note in _every_note(engine)
    ]


def test_29_plans_and_targets(engine: LocalEngine) -> None:
    note = analyse(
        engine,
        "PLAN:\nRepeat chest x-ray in am. Titrate to maintain MAP > 65. Echo done yesterday.\n"
        "Would continue aspirin until INR is checked.\n",
    )
    assert "HYPOTHETICAL" in note.traits("chest x-ray")  # a planned test
    assert "HYPOTHETICAL" not in note.traits("MAP")  # a target value, not a test to do
    assert "PAST_HISTORY" in note.traits("Echo")  # done before: past, not planned
    assert "HYPOTHETICAL" not in note.traits("Echo")
    assert note.medication("1191")["status"] == "intended"  # "would continue": a proposal


def test_30_a_dated_condition_is_past(engine: LocalEngine) -> None:
    note = analyse(engine, "s/p pneumonia 2015. Now with cough.\n")
    assert "PAST_HISTORY" in note.traits("pneumonia")
    assert "PAST_HISTORY" not in note.traits("cough")


def test_31_the_story_before_this_unit_is_past_but_not_the_presenting_problem(
    engine: LocalEngine,
) -> None:
    note = analyse(
        engine,
        "Pt is a 70 yo man admitted to the OSH ER with chest pain and hypotension. "
        "Head CT neg. Given 2 units FFP and vitamin K; on warfarin at home. "
        "Arrived in the unit at 2200 on a heparin gtt.\n"
        "Neuro: alert. CV: CXR this am, furosemide 20 mg IV given.\n",
    )
    for done_before in ("Head CT", "FFP", "vitamin K"):
        assert "PAST_HISTORY" in note.traits(done_before), done_before
    assert note.medication("5224")["status"] == "active"  # heparin gtt on arrival
    assert "PAST_HISTORY" not in note.traits("chest pain")  # the presenting problem is current
    assert "PAST_HISTORY" not in note.traits("warfarin")  # a home medication is in use
    for here in ("heparin", "CXR", "furosemide"):  # at or after the arrival: this unit
        assert "PAST_HISTORY" not in note.traits(here), here


def test_32_no_arrival_no_story(engine: LocalEngine) -> None:
    note = analyse(engine, "Pt admitted to MICU with sepsis. Given heparin and a CXR was done.\n")
    for word in ("heparin", "CXR"):
        assert "PAST_HISTORY" not in note.traits(word), word
