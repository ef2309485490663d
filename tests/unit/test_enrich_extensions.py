"""aws-cm tree, system-generated-resources and our record: seed shapes and lenient readers."""

from __future__ import annotations

import copy
import json
from typing import Any

from enrich import urls
from enrich.extensions import (
    SUCCESS_MESSAGE,
    aws_cm_extension,
    count_nested,
    find_extension,
    read_generated_refs,
    read_index_rows,
    read_message,
    read_project_info,
    read_status,
)
from nlp.schema import NlpResult
from tests.golden import enrich_sample
from tests.unit.test_rawresponse import SEED_RAW, seed_boto3_response

HL = "http://healthlake.amazonaws.com/aws-cm/infer-icd10/"


def _c(suffix: str, key: str, value: Any) -> dict[str, Any]:
    return {"url": HL + suffix, key: value}


# S1 4296-4430 verbatim (PDF wraps joined), up to where the guide truncates it.
SEED_ENTITY_HEAD = [
    _c("aws-cm-icd10-entity-id", "valueInteger", 0),
    _c("aws-cm-icd10-entity-text", "valueString", "otitis media"),
    _c("aws-cm-icd10-entity-begin-offset", "valueInteger", 151),
    _c("aws-cm-icd10-entity-end-offset", "valueInteger", 163),
    _c("aws-cm-icd10-entity-score", "valueDecimal", 0.9815994),
]
SEED_CONCEPTS = [
    {
        "url": HL + "aws-cm-icd10-entity-Concept",
        "extension": [
            _c("aws-cm-icd10-entity-Concept-Code", "valueString", "H66.90"),
            _c(
                "aws-cm-icd10-entity-Concept-Description",
                "valueString",
                "Otitis media, unspecified, unspecified ear",
            ),
            _c("aws-cm-icd10-entity-Concept-Score", "valueDecimal", 0.7176407),
        ],
    },
    {
        "url": HL + "aws-cm-icd10-entity-Concept",
        "extension": [
            _c("aws-cm-icd10-entity-Concept-Code", "valueString", "H66.9"),
            _c(
                "aws-cm-icd10-entity-Concept-Description",
                "valueString",
                "Otitis media, unspecified",
            ),
            _c("aws-cm-icd10-entity-Concept-Score", "valueDecimal", 0.6930445),
        ],
    },
]
SEED_THIRD_CONCEPT_CODE = _c("aws-cm-icd10-entity-Concept-Code", "valueString", "H66.92")


def _seed_result() -> NlpResult:
    return NlpResult.model_validate({"InferICD10CM": seed_boto3_response()})


def test_infer_icd10_branch_matches_seed() -> None:
    tree = aws_cm_extension(_seed_result(), "SUCCESS", SUCCESS_MESSAGE)
    assert tree["url"] == "http://healthlake.amazonaws.com/aws-cm/"
    branch = tree["extension"][0]
    assert branch["url"] == HL
    raw, version, entity = branch["extension"][:3]
    assert raw == {"url": HL + "raw-response", "valueString": SEED_RAW}
    assert version == {"url": HL + "model-version", "valueString": "0.1.0"}
    assert entity["url"] == HL + "aws-cm-icd10-entity"
    assert entity["extension"][:5] == SEED_ENTITY_HEAD
    concept_list = entity["extension"][5]
    assert concept_list["url"] == HL + "aws-cm-icd10-entity-ConceptList"
    assert concept_list["extension"][:2] == SEED_CONCEPTS
    assert concept_list["extension"][2]["extension"][0] == SEED_THIRD_CONCEPT_CODE
    assert len(branch["extension"]) == 2 + 3  # raw, version, three entities
    assert tree["extension"][1:] == [
        {"url": "http://healthlake.amazonaws.com/aws-cm/status/", "valueString": "SUCCESS"},
        {
            "url": "http://healthlake.amazonaws.com/aws-cm/message/",
            "valueString": "The Amazon HealthLake integrated medical NLP operation was successful.",
        },
    ]


def test_seed_search_example_document_reproduced() -> None:
    """The otitis/strep sample gives the seed's search-result infer-icd10 branch (S1 4283-4430)."""
    enrichment = enrich_sample("otitis-strep", "healthlake")
    doc = enrichment.document
    assert doc["id"] == "985c3e94-4219-4c79-97a1-c94694525e24"
    tree = find_extension(doc, urls.AWS_CM)
    assert tree is not None
    branches = [b["url"] for b in tree["extension"]]
    assert branches == [urls.DETECT, urls.ICD10, urls.RXNORM, urls.STATUS, urls.MESSAGE]
    icd = tree["extension"][1]["extension"]
    assert icd[0] == {"url": HL + "raw-response", "valueString": SEED_RAW}
    assert icd[2]["extension"][:5] == SEED_ENTITY_HEAD
    assert icd[2]["extension"][5]["extension"][:2] == SEED_CONCEPTS


def test_value_decimal_serializes_as_float32_shortest_digits() -> None:
    tree = aws_cm_extension(_seed_result(), "SUCCESS", SUCCESS_MESSAGE)
    text = json.dumps(tree)
    assert '"valueDecimal": 0.9815994}' in text
    assert '"valueDecimal": 0.61046}' in text
    assert "0.98159939" not in text


def test_detect_entities_and_rxnorm_branches_d2_shape() -> None:
    doc = enrich_sample("example2-advil", "healthlake").document
    tree = find_extension(doc, urls.AWS_CM)
    assert tree is not None
    de, _icd, rx = tree["extension"][:3]
    d = urls.DETECT
    advil = de["extension"][3]
    assert [c["url"] for c in advil["extension"]] == [
        d + "aws-cm-de-entity-" + s
        for s in ("id", "text", "category", "type", "score", "begin-offset", "end-offset")
    ] + [d + "aws-cm-de-entity-TraitList"]
    trait = advil["extension"][-1]["extension"][0]
    assert trait["url"] == d + "aws-cm-de-entity-Trait"
    assert trait["extension"][0] == {
        "url": d + "aws-cm-de-entity-Trait-Name",
        "valueString": "NEGATION",
    }
    r = urls.RXNORM
    entity = rx["extension"][2]
    assert [c["url"] for c in entity["extension"]] == [
        r + "aws-cm-rxnorm-entity-" + s
        for s in ("id", "text", "begin-offset", "end-offset", "score", "ConceptList")
    ]
    concept = entity["extension"][-1]["extension"][0]
    assert concept["url"] == r + "aws-cm-rxnorm-entity-Concept"
    assert concept["extension"] == [
        {"url": r + "aws-cm-rxnorm-entity-Concepts-Code", "valueString": "731533"},
        {
            "url": r + "aws-cm-rxnorm-entity-Concepts-Description",
            "valueString": "ibuprofen 200 MG Oral Capsule [Advil]",
        },
        {"url": r + "aws-cm-rxnorm-entity-Concepts-Score", "valueDecimal": 0.8043},
    ]


def test_system_generated_resources_extension_shape() -> None:
    enrichment = enrich_sample("example2-advil", "healthlake")
    sgr = find_extension(enrichment.document, urls.SGR)
    assert sgr is not None
    assert sgr["url"] == "http://healthlake.amazonaws.com/system-generated-resources/"
    kids = sgr["extension"]
    assert kids[0]["url"] == "http://healthlake.amazonaws.com/linkage"
    assert kids[0]["valueReference"]["reference"].startswith("Linkage/")
    assert [k["url"] for k in kids[1:]] == ["http://healthlake.amazonaws.com/nlp-entity"] * 5
    meds = [r for r in enrichment.generated if r["resourceType"] == "MedicationStatement"]
    assert [k["valueReference"] for k in kids[1:]] == [
        {"reference": f"MedicationStatement/{m['id']}"} for m in meds
    ]
    assert read_generated_refs(enrichment.document) == [
        kids[0]["valueReference"]["reference"],
        *(f"MedicationStatement/{m['id']}" for m in meds),
    ]


def test_read_index_rows_from_our_tree() -> None:
    rows = enrich_sample("otitis-strep", "healthlake").index_rows
    icd = [r for r in rows if r.operation == "infer-icd10"]
    assert len(icd) == 15  # 3 entities x 5 concepts
    first = icd[0]
    assert (first.entity_id, first.text, first.begin_offset, first.end_offset) == (
        0,
        "otitis media",
        151,
        163,
    )
    assert (first.score, first.concept_code, first.concept_score) == (
        0.9815994,
        "H66.90",
        0.7176407,
    )
    assert {r.entity_index for r in icd} == {0, 1, 2}
    de = [r for r in rows if r.operation == "detect-entities"]
    otitis = next(r for r in de if r.text == "otitis media")
    assert otitis.category == "MEDICAL_CONDITION"
    assert otitis.type == "DX_NAME"
    assert otitis.traits == ("DIAGNOSIS",)
    assert otitis.concept_code is None
    rx = [r for r in rows if r.operation == "infer-rxnorm" and r.text == "Amoxicillin"]
    assert [r.concept_code for r in rx] == ["308182", "723", "239191"]


def test_readers_are_lenient_for_healthlake_exports() -> None:
    """An export-like tree: Concepts infix, string decimals, unknown children, extra siblings."""
    r = urls.RXNORM
    e = r + "aws-cm-rxnorm-entity"
    concept = {
        "url": e + "-Concepts",
        "extension": [
            {"url": r + "x-Concepts-Code", "valueString": "723"},
            {"url": r + "x-Concepts-Score", "valueDecimal": 0.8},
        ],
    }
    entity = {
        "url": e,
        "extension": [
            {"url": e + "-text", "valueString": "Amox"},
            {"url": e + "-score", "valueDecimal": "0.9"},
            {"url": e + "-future", "valueString": "x"},
            {"url": e + "-ConceptList", "extension": [concept]},
        ],
    }
    branch = {
        "url": r,
        "extension": [
            {"url": r + "raw-response", "valueString": "{...}"},
            {"url": r + "model-version", "valueString": "0.1.0"},
            entity,
        ],
    }
    status = {"url": "http://healthlake.amazonaws.com/aws-cm/status", "valueString": "SUCCESS"}
    exported = {
        "resourceType": "DocumentReference",
        "extension": [
            {"url": "http://example.org/other", "valueString": "kept"},
            {"url": "http://healthlake.amazonaws.com/aws-cm", "extension": [branch, status]},
        ],
    }
    rows = read_index_rows(exported)
    assert len(rows) == 1
    row = rows[0]
    assert (row.operation, row.text, row.score) == ("infer-rxnorm", "Amox", 0.9)
    assert (row.concept_code, row.concept_score, row.concept_description) == ("723", 0.8, None)
    assert read_status(exported) == "SUCCESS"
    assert read_message(exported) is None
    assert read_project_info(exported) is None


def test_read_project_info_round_trip() -> None:
    enrichment = enrich_sample("example2-advil", "clinical")
    info = read_project_info(enrichment.document)
    assert info is not None
    assert info.text_hash == enrichment.text_hash
    assert (info.engine_name, info.engine_version, info.profile) == (
        "replay",
        "samples-1",
        "clinical",
    )
    assert info.processed_at == "2024-01-02T03:04:05.678Z"
    assert info.provenance is not None
    assert info.provenance.startswith("Provenance/")


def test_count_nested_counts_objects_and_arrays() -> None:
    tree = aws_cm_extension(None, "UNSUPPORTED_CONTENT", "m")
    # tree object + its extension array + two child objects
    assert count_nested(tree) == 4
    assert count_nested(copy.deepcopy([tree, tree])) == 9
