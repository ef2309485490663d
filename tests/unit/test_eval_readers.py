"""Corpus readers on tiny inline fixtures written in each corpus' real format."""

from __future__ import annotations

import base64
import io

import pytest

from nlp.evaluation.comprehend_docs import close_truncated, entities_in_block, page_documents
from nlp.evaluation.deid import DeidFormatError, build_documents, parse_phi, parse_records
from nlp.evaluation.pubtator import PubTatorFormatError, parse_pubtator
from nlp.evaluation.synthea import documents_from_bundle
from nlp.evaluation.types import (
    ICD10CM,
    MEDICAL_CONDITION,
    MEDICATION,
    PHI,
    RXNORM,
    SNOMED,
    TEST_TREATMENT_PROCEDURE,
    Code,
)

PUBTATOR = (
    "100|t|Lithium toxicity.\n"
    "100|a|Renal failure after lithium.\n"
    "100\t0\t7\tLithium\tChemical\tD008094\n"
    "100\t8\t16\ttoxicity\tDisease\tD064420\n"
    "100\t18\t31\tRenal failure\tDisease\tD051437|D007676\tRenal failure|x\n"
    "100\t38\t45\tlithium\tChemical\t-1\n"
    "100\tCID\tD008094\tD064420\n"
    "\n"
    "200|t|Ataxia.\n"
    "200|a|No abstract mention.\n"
    "200\t0\t6\tAtaxia\tSpecificDisease\t D001259\n"
)


def test_pubtator_offsets_index_title_space_abstract() -> None:
    docs = list(parse_pubtator(io.StringIO(PUBTATOR)))
    assert [d.doc_id for d in docs] == ["100", "200"]
    first = docs[0]
    assert first.text == "Lithium toxicity. Renal failure after lithium."
    assert [first.text[m.begin : m.end] for m in first.gold] == [
        "Lithium",
        "toxicity",
        "Renal failure",
        "lithium",
    ]
    assert [(m.category, m.type) for m in first.gold] == [
        (MEDICATION, "GENERIC_NAME"),
        (MEDICAL_CONDITION, "DX_NAME"),
        (MEDICAL_CONDITION, "DX_NAME"),
        (MEDICATION, "GENERIC_NAME"),
    ]
    assert first.gold[2].codes == (Code("mesh", "D051437"), Code("mesh", "D007676"))
    assert first.gold[3].codes == ()  # "-1" = no identifier
    assert docs[1].gold[0].group == "SpecificDisease"
    assert docs[1].gold[0].codes == (Code("mesh", "D001259"),)


def test_pubtator_rejects_bad_lines() -> None:
    with pytest.raises(PubTatorFormatError, match="NLP701"):
        list(parse_pubtator(io.StringIO("1|t|A.\n1\tx\n")))
    with pytest.raises(PubTatorFormatError, match="NLP702"):
        list(parse_pubtator(io.StringIO("1|t|A b.\n1|a|C.\n1\t0\t99\tA\tDisease\tD1\n")))


DEID_TEXT = (
    "START_OF_RECORD=1||||1||||\n"
    "PT SEEN BY DR. SMITH ON 7/22. CALL 555-1234.\n"
    "\n"
    "||||END_OF_RECORD\n"
    "\n"
    "START_OF_RECORD=1||||2||||\n"
    "NO PHI HERE. PT IS 92 YO.\n"
    "||||END_OF_RECORD\n"
    "START_OF_RECORD=81||||1||||\n"
    "OUTSIDE THE GOLD RANGE.\n"
    "||||END_OF_RECORD\n"
)
DEID_PHI = [
    "1 1 15 20 HCPName SMITH",
    "1 1 24 28 Date 7/22",
    "1 1 35 43 Phone 555-1234",
    "1 2 19 21 Other 92",
]


def test_deid_offsets_start_after_the_record_line() -> None:
    records = parse_records(DEID_TEXT)
    assert set(records) == {(1, 1), (1, 2), (81, 1)}
    docs, scope = build_documents(records, parse_phi(DEID_PHI))
    assert [d.doc_id for d in docs] == ["1-1", "1-2"]
    note = docs[0]
    assert [note.text[m.begin : m.end] for m in note.gold] == ["SMITH", "7/22", "555-1234"]
    assert [m.type for m in note.gold] == ["NAME", "DATE", "PHONE_OR_FAX"]
    assert {m.category for m in note.gold} == {PHI}
    assert docs[1].gold == []
    assert docs[1].ignore == [(19, 21)]
    # only the mapped types present in the gold are in scope (no AGE here)
    assert scope.admits(PHI, "NAME")
    assert not scope.admits(PHI, "AGE")


def test_deid_rejects_spans_outside_notes() -> None:
    records = parse_records(DEID_TEXT)
    with pytest.raises(DeidFormatError, match="NLP713"):
        build_documents(records, parse_phi(["1 2 0 500 Date x"]))
    with pytest.raises(DeidFormatError, match="NLP711"):
        parse_phi(["1 x 0 5 Date x"])


NOTE = (
    "# Chief Complaint\n- otitis media (disorder)\n\n"
    "# History\nPatient has a history of acute bronchitis (disorder) and otitis media (disorder).\n"
    "# Medications\ncefuroxime 250 mg oral tablet\n"
    "# Vital Signs\n- Body Height: 92.8 cm\n"
    "## Plan\n- plain x-ray of chest (procedure)\n"
)


def _bundle() -> dict[str, object]:
    def entry(resource: dict[str, object]) -> dict[str, object]:
        return {"fullUrl": f"urn:uuid:{resource['id']}", "resource": resource}

    def coded(system: str, code: str, display: str) -> dict[str, object]:
        return {"coding": [{"system": system, "code": code, "display": display}]}

    sct, rxn, loinc = (
        "http://snomed.info/sct",
        "http://www.nlm.nih.gov/research/umls/rxnorm",
        "http://loinc.org",
    )
    enc = {"reference": "urn:uuid:enc-1"}
    old = {"reference": "urn:uuid:enc-0"}
    data = base64.b64encode(NOTE.encode()).decode()
    return {
        "resourceType": "Bundle",
        "entry": [
            entry({"resourceType": "Encounter", "id": "enc-1"}),
            entry(
                {
                    "resourceType": "Condition",
                    "id": "c1",
                    "encounter": enc,
                    "code": coded(sct, "65363002", "Otitis media (disorder)"),
                }
            ),
            entry(
                {
                    "resourceType": "Condition",
                    "id": "c0",
                    "encounter": old,
                    "code": coded(sct, "10509002", "Acute bronchitis (disorder)"),
                }
            ),
            entry(
                {
                    "resourceType": "Condition",
                    "id": "c2",
                    "encounter": enc,
                    "code": coded(sct, "1111", "Never written (finding)"),
                }
            ),
            entry(
                {
                    "resourceType": "MedicationRequest",
                    "id": "m1",
                    "encounter": enc,
                    "medicationCodeableConcept": coded(
                        rxn, "309097", "Cefuroxime 250 MG Oral Tablet"
                    ),
                }
            ),
            entry(
                {
                    "resourceType": "Procedure",
                    "id": "p1",
                    "encounter": enc,
                    "code": coded(sct, "399208008", "Plain X-ray of chest (procedure)"),
                }
            ),
            entry(
                {
                    "resourceType": "Observation",
                    "id": "o1",
                    "encounter": enc,
                    "code": coded(loinc, "8302-2", "Body Height"),
                }
            ),
            entry(
                {
                    "resourceType": "DocumentReference",
                    "id": "doc-1",
                    "context": {"encounter": [enc]},
                    "content": [
                        {"attachment": {"contentType": "text/plain; charset=utf-8", "data": data}}
                    ],
                }
            ),
        ],
    }


def test_synthea_gold_from_coded_resources() -> None:
    (doc,) = documents_from_bundle(_bundle())
    assert doc.doc_id == "doc-1"
    assert doc.text == NOTE
    found = [(doc.text[m.begin : m.end], m.type, m.codes) for m in doc.gold]
    assert found == [
        ("otitis media", "DX_NAME", (Code(SNOMED, "65363002"),)),
        ("acute bronchitis", "DX_NAME", (Code(SNOMED, "10509002"),)),
        ("otitis media", "DX_NAME", (Code(SNOMED, "65363002"),)),
        ("cefuroxime 250 mg oral tablet", "GENERIC_NAME", (Code(RXNORM, "309097"),)),
        ("Body Height", "TEST_NAME", ()),
        ("plain x-ray of chest", "PROCEDURE_NAME", ()),
    ]
    assert doc.gold[5].category == TEST_TREATMENT_PROCEDURE
    # encounter conditions: otitis media in two places, one condition never written
    assert doc.condition_codes == {"65363002": [0, 2], "1111": []}


COMPREHEND_PAGE = r"""# InferICD10CM

 "She has had no nausea\. The patient denies fever\."

```
{
    "Entities": [
        {
            "Id": 1, "Text": "nausea", "Category": "MEDICAL_CONDITION", "Type": "DX_NAME",
            "BeginOffset": 14, "EndOffset": 20,
            "Attributes": [{"Type": "ACUITY", "RelationshipScore": 0.9, "Text": "x",
                            "Category": "MEDICAL_CONDITION", "Type": "ACUITY",
                            "BeginOffset": 0, "EndOffset": 1}],
            "Traits": [{"Name": "NEGATION", "Score": 0.9}],
            "ICD10CMConcepts": [{"Description": "Nausea", "Code": "R11.0", "Score": 0.8}]
        },
...
```

And the fever entity, cut short:

```
        {
            "Id": 2, "Text": "fever", "Category": "MEDICAL_CONDITION", "Type": "DX_NAME",
            "BeginOffset": 3, "EndOffset": 8,
            "Traits": [{"Name": "NEGATION", "Score": 0.9}],
            "ICD10CMConcepts": [{"Code": "R50.9", "Score": 0.8}
```
"""


def test_comprehend_page_entities_and_realignment() -> None:
    (doc,) = page_documents("ontology-icd10.md", COMPREHEND_PAGE)
    assert doc.text == "She has had no nausea. The patient denies fever."
    assert doc.operation == "InferICD10CM"
    spans = [(doc.text[m.begin : m.end], m.codes[0], m.traits) for m in doc.gold]
    assert spans == [
        ("nausea", Code(ICD10CM, "R11.0"), frozenset({"NEGATION"})),
        ("fever", Code(ICD10CM, "R50.9"), frozenset({"NEGATION"})),
    ]
    assert doc.scope is not None
    assert doc.scope.categories == {MEDICAL_CONDITION}


def test_comprehend_rxnorm_input_block_and_old_concept_keys() -> None:
    page = (
        '```\n{\n    "Text": "patient no longer\n        taking warfarin"\n}\n```\n\n'
        '```\n[{"Id": 0, "Text": "warfarin", "Category": "MEDICATION", "Type": "GENERIC_NAME",'
        ' "BeginOffset": 25, "EndOffset": 33, "Traits": [],'
        ' "RxNormConcepts": [{"ConceptName": "Warfarin", "ConceptId": "11289"}]}]\n```\n'
    )
    (doc,) = page_documents("ontology-RxNorm.md", page)
    assert doc.text == "patient no longer taking warfarin"
    assert doc.gold[0].codes == (Code(RXNORM, "11289"),)
    assert doc.gold[0].traits == frozenset()


def test_json_repair_helpers() -> None:
    assert close_truncated('{"a": "}"') == '{"a": "}"}'
    assert close_truncated('{"a": 1}') is None
    assert close_truncated('{"a": 1]') is None
    assert entities_in_block('{"Text": "a"}') == []
