"""The HealthLake guide's verbatim JSON (S1 7311-7898) reproduced by the healthlake profile."""

from __future__ import annotations

import re
from typing import Any

from enrich import urls
from enrich.extensions import find_extension
from tests.golden import enrich_sample

UUID = re.compile(r"^(\w+)/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
DOC1 = "DocumentReference/0e938f03-da7f-4178-acd8-eea9586c46ed"
DOC2 = "DocumentReference/c549125d-a218-421f-b8bf-23614c5e796c"


def normalize(value: Any) -> Any:
    """Drop ``id`` and ``meta.lastUpdated``; ``Linkage/<uuid>`` etc. -> ``Linkage/*``.

    DocumentReference references are kept: the samples use the guide's document ids.
    """
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if key == "id" or key == "lastUpdated":
                continue
            out[key] = normalize(item)
        return out
    if isinstance(value, list):
        return [normalize(v) for v in value]
    if isinstance(value, str) and not value.startswith("DocumentReference/"):
        return UUID.sub(r"\1/*", value)
    return value


def _mod(url: str, key: str, value: Any) -> dict[str, Any]:
    return {"url": url, key: value}


def _links(linkage: str, doc: str) -> list[dict[str, Any]]:
    return [
        _mod(
            "http://healthlake.amazonaws.com/system-generated-linkage",
            "valueReference",
            {"reference": linkage},
        ),
        _mod(
            "http://healthlake.amazonaws.com/source-document-reference",
            "valueReference",
            {"reference": doc},
        ),
    ]


ICD = "http://healthlake.amazonaws.com/aws-cm/infer-icd10/"


def _seed_coded(
    resource_type: str, code: str, display: str, scores: tuple[float, float], updated: str
) -> dict[str, Any]:
    """Condition / Observation of S1 7488-7535 and 7634-7679 (same shape, values verbatim)."""
    return {
        "subject": {"reference": "Patient/0679b7b7-937d-488a-b48d-6315b8e7003b"},
        "resourceType": resource_type,
        "code": {
            "coding": [
                {
                    "system": "http://healthlake.amazonaws.com/aws-cm/infer-icd10/",
                    "code": code,
                    "display": display,
                }
            ],
            "text": display,
        },
        "meta": {"lastUpdated": updated, "tag": [{"display": "SYSTEM_GENERATED"}]},
        "modifierExtension": [
            _mod(ICD + "aws-cm-icd10-entity-score", "valueDecimal", scores[0]),
            _mod(ICD + "aws-cm-icd10-entity-Concept-Score", "valueDecimal", scores[1]),
            *_links("Linkage/e366d29f-2c22-4c19-866e-09603937935a", DOC1),
        ],
    }


SEED_CONDITION = _seed_coded(
    "Condition",
    "I70.0",
    "Atherosclerosis of aorta",
    (0.94417894, 0.8458298),
    "2022-10-21T19:38:30.877Z",
)
SEED_OBSERVATION = {
    **_seed_coded(
        "Observation",
        "A52.06",
        "Other syphilitic heart involvement",
        (0.45005733, 0.1111792),
        "2022-10-21T19:38:30.879Z",
    ),
    "status": "unknown",
}

SEED_MS_IDS = [
    "cbf6af10-b0b9-451c-bdde-99611e3498a8",
    "9a89b0d3-6681-45ca-9926-27951edce5c7",
    "4a01f6c8-5f3a-4122-80ab-405312f96aa2",
    "fbfb77d8-70cf-4579-b4c0-d6fe3c01656b",
    "1340c9ce-9c48-4bf9-9b2f-d0ab027f5e0b",
]

# S1 7772-7825, verbatim.
SEED_LINKAGE_2 = {
    "resourceType": "Linkage",
    "id": "394bb244-177b-4409-8657-26b20ed56dd7",
    "active": True,
    "item": [
        *(
            {
                "type": "alternate",
                "resource": {
                    "reference": f"MedicationStatement/{i}",
                    "type": "MedicationStatement",
                },
            }
            for i in SEED_MS_IDS
        ),
        {"type": "source", "resource": {"reference": DOC2, "type": "DocumentReference"}},
    ],
    "meta": {"lastUpdated": "2022-10-24T20:05:03.501Z", "tag": [{"display": "SYSTEM_GENERATED"}]},
}

# S1 7857-7898: the three elements the guide shows of a MedicationStatement.
SEED_MS_FRAGMENT = {
    "medicationCodeableConcept": {
        "coding": [
            {
                "system": "http://healthlake.amazonaws.com/aws-cm/infer-rxnorm/",
                "code": "731533",
                "display": "ibuprofen 200 MG Oral Capsule [Advil]",
            }
        ]
    },
    "meta": {"lastUpdated": "2022-10-24T20:05:02.800Z", "tag": [{"display": "SYSTEM_GENERATED"}]},
    "modifierExtension": _links("Linkage/394bb244-177b-4409-8657-26b20ed56dd7", DOC2),
}

# S1 7681-7750: the system-generated-resources extension of Example 2.
SEED_SGR_2 = {
    "extension": [
        {
            "url": "http://healthlake.amazonaws.com/linkage",
            "valueReference": {"reference": "Linkage/394bb244-177b-4409-8657-26b20ed56dd7"},
        },
        *(
            {
                "url": "http://healthlake.amazonaws.com/nlp-entity",
                "valueReference": {"reference": f"MedicationStatement/{i}"},
            }
            for i in SEED_MS_IDS
        ),
    ],
    "url": "http://healthlake.amazonaws.com/system-generated-resources/",
}


def _by_code(resources: list[dict[str, Any]], rtype: str, code: str) -> dict[str, Any]:
    key = "medicationCodeableConcept" if rtype == "MedicationStatement" else "code"
    found = [
        r for r in resources if r["resourceType"] == rtype and r[key]["coding"][0]["code"] == code
    ]
    assert len(found) == 1, f"expected one {rtype} with code {code}, got {len(found)}"
    return found[0]


def test_example1_condition_and_observation() -> None:
    generated = enrich_sample("example1-synthea", "healthlake").generated
    assert normalize(_by_code(generated, "Condition", "I70.0")) == normalize(SEED_CONDITION)
    assert normalize(_by_code(generated, "Observation", "A52.06")) == normalize(SEED_OBSERVATION)


def test_example1_one_resource_per_concept_no_filtering() -> None:
    generated = enrich_sample("example1-synthea", "healthlake").generated
    kinds = [r["resourceType"] for r in generated]
    # Sinus Pain (DIAGNOSIS, 3 concepts) -> 3 Conditions; six SIGN/SYMPTOM entities with
    # 3+2+2+5+2+2 concepts -> 16 Observations; the A52.06 concept scores 0.11 and is kept.
    assert kinds.count("Condition") == 3
    assert kinds.count("Observation") == 16
    assert kinds.count("MedicationStatement") == 3
    assert kinds[-1] == "Linkage"
    assert "Provenance" not in kinds


def test_example1_linkage_items() -> None:
    generated = enrich_sample("example1-synthea", "healthlake").generated
    linkage = generated[-1]
    alternates = [i for i in linkage["item"] if i["type"] == "alternate"]
    assert [i["resource"]["reference"] for i in alternates] == [
        f"{r['resourceType']}/{r['id']}" for r in generated[:-1]
    ]
    assert linkage["item"][-1] == {
        "type": "source",
        "resource": {"reference": DOC1, "type": "DocumentReference"},
    }


def test_example2_linkage_and_five_medication_statements() -> None:
    enrichment = enrich_sample("example2-advil", "healthlake")
    generated = enrichment.generated
    meds = [r for r in generated if r["resourceType"] == "MedicationStatement"]
    assert len(meds) == 5
    assert [r["resourceType"] for r in generated] == ["MedicationStatement"] * 5 + ["Linkage"]
    assert normalize(generated[-1]) == normalize(SEED_LINKAGE_2)
    fragment = {k: _by_code(meds, "MedicationStatement", "731533")[k] for k in SEED_MS_FRAGMENT}
    assert normalize(fragment) == normalize(SEED_MS_FRAGMENT)
    for med in meds:
        assert med["status"] == "unknown"
        assert med["subject"] == {"reference": "Patient/tom-0001"}
        assert len(med["medicationCodeableConcept"]["coding"]) == 1
        assert "text" not in med["medicationCodeableConcept"]
        assert normalize(med["modifierExtension"]) == normalize(
            SEED_MS_FRAGMENT["modifierExtension"]
        )
        assert med["modifierExtension"][0]["valueReference"]["reference"] == (
            f"Linkage/{generated[-1]['id']}"
        )
    sgr = find_extension(enrichment.document, urls.SGR)
    assert normalize(sgr) == normalize(SEED_SGR_2)


def test_example2_no_condition_or_observation() -> None:
    generated = enrich_sample("example2-advil", "healthlake").generated
    assert not [r for r in generated if r["resourceType"] in ("Condition", "Observation")]
