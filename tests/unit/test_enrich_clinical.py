"""The clinical profile (D5): top concept, trait rules, double codings, provenance."""

from __future__ import annotations

import json
from typing import Any

import pytest

from enrich import urls
from enrich.text import extract_text
from tests.conftest import load_sample
from tests.golden import SAMPLES, enrich_sample, sample_names


def _of(generated: list[dict[str, Any]], rtype: str) -> list[dict[str, Any]]:
    return [r for r in generated if r["resourceType"] == rtype]


def _codes(resources: list[dict[str, Any]], key: str = "code") -> list[str]:
    return [r[key]["coding"][0]["code"] for r in resources]


def _derivation(resource: dict[str, Any]) -> dict[str, Any]:
    ext = next(e for e in resource["extension"] if e["url"] == urls.DERIVATION_REFERENCE)
    return {
        c["url"]: next(v for k, v in c.items() if k.startswith("value")) for c in ext["extension"]
    }


def _reduced_span(resource: dict[str, Any]) -> dict[str, Any]:
    ext = next(e for e in resource["extension"] if e["url"] == urls.REDUCED_TEXT_SPAN)
    return {c["url"]: c["valueInteger"] for c in ext["extension"]}


def test_example2_negated_medication_not_taken() -> None:
    enrichment = enrich_sample("example2-advil", "clinical")
    meds = _of(enrichment.generated, "MedicationStatement")
    assert len(meds) == 1
    med = meds[0]
    assert med["status"] == "not-taken"
    assert med["medicationCodeableConcept"]["coding"] == [
        {
            "system": "http://healthlake.amazonaws.com/aws-cm/infer-rxnorm/",
            "code": "731533",
            "display": "ibuprofen 200 MG Oral Capsule [Advil]",
        },
        {
            "system": "http://www.nlm.nih.gov/research/umls/rxnorm",
            "code": "731533",
            "display": "ibuprofen 200 MG Oral Capsule [Advil]",
        },
    ]
    doc_ref = "DocumentReference/c549125d-a218-421f-b8bf-23614c5e796c"
    assert _derivation(med) == {
        "reference": {"reference": doc_ref},
        "path": "DocumentReference.content[0].attachment",
        "offset": 22,
        "length": 5,
    }
    assert "Tom is not prescribed Advil"[22 : 22 + 5] == "Advil"
    assert med["context"] == {"reference": "Encounter/enc-tom-0001"}
    assert med["derivedFrom"] == [{"reference": doc_ref}]
    # scores and links do not change the meaning: plain extensions, no modifierExtension (D16)
    assert "modifierExtension" not in med
    assert [m["url"] for m in med["extension"]] == [
        urls.DERIVATION_REFERENCE,
        urls.RXNORM + "aws-cm-rxnorm-entity-score",
        urls.RXNORM + "aws-cm-rxnorm-entity-Concepts-Score",
        urls.SG_LINKAGE,
        urls.SRC_DOC,
    ]
    assert med["extension"][2]["valueDecimal"] == 0.8043
    assert med["meta"]["tag"] == [
        {"system": urls.TAG_SYSTEM, "code": "system-generated", "display": "SYSTEM_GENERATED"}
    ]


def test_example2_one_provenance() -> None:
    enrichment = enrich_sample("example2-advil", "clinical")
    provenances = _of(enrichment.generated, "Provenance")
    assert len(provenances) == 1
    prov = provenances[0]
    others = [f"{r['resourceType']}/{r['id']}" for r in enrichment.generated if r is not prov]
    assert sorted(t["reference"] for t in prov["target"]) == sorted(others)
    assert prov["entity"] == [
        {
            "role": "source",
            "what": {"reference": "DocumentReference/c549125d-a218-421f-b8bf-23614c5e796c"},
        }
    ]
    assert prov["agent"][0]["who"]["display"] == "replay samples-1"
    assert prov["recorded"] == "2024-01-02T03:04:05.678Z"
    assert enrichment.generated[-1] is prov


def test_negation_family_hypothetical_suppress_conditions() -> None:
    generated = enrich_sample("negation-family-hypothetical", "clinical").generated
    conditions = _of(generated, "Condition")
    observations = _of(generated, "Observation")
    # chest pain / shortness of breath (NEGATION), breast cancer / diabetes (family) and
    # headache (HYPOTHETICAL) make nothing; pneumonia's top concept is the only Condition.
    assert _codes(conditions) == ["J18.9"]
    assert _codes(observations) == ["R05.9", "R50.9"]
    cond = conditions[0]
    assert cond["verificationStatus"]["coding"][0]["code"] == "unconfirmed"
    assert cond["encounter"] == {"reference": "Encounter/enc-0002"}
    assert [c["system"] for c in cond["code"]["coding"]] == [urls.ICD10, urls.ICD10CM_SYSTEM]
    text = "community-acquired pneumonia"
    derivation = _derivation(cond)
    assert derivation["length"] == len(text)
    meds = {
        m["medicationCodeableConcept"]["coding"][0]["code"]: m["status"]
        for m in _of(generated, "MedicationStatement")
    }
    assert meds == {
        "161": "unknown",
        "11289": "completed",
        "1191": "not-taken",
        "308460": "unknown",
    }


def test_healthlake_profile_does_not_filter_negation_or_family() -> None:
    generated = enrich_sample("negation-family-hypothetical", "healthlake").generated
    codes = _codes(_of(generated, "Condition"))
    assert "C50.919" in codes  # family history, still a Condition in HealthLake
    assert "R07.9" in _codes(_of(generated, "Observation"))  # negated chest pain
    assert all(m["status"] == "unknown" for m in _of(generated, "MedicationStatement"))
    assert all(r["meta"]["tag"] == [{"display": "SYSTEM_GENERATED"}] for r in generated)


def test_min_score_drops_low_top_concepts() -> None:
    generated = enrich_sample("example1-synthea", "clinical").generated
    # "Pain" tops at R52 0.41 (< 0.5): no Observation; Sinus Pain -> I70.0 Condition.
    assert _codes(_of(generated, "Condition")) == ["I70.0"]
    assert "R52" not in _codes(_of(generated, "Observation"))
    assert "A52.06" not in _codes(_of(generated, "Observation"))


def test_diagnosis_wins_over_sign_symptom() -> None:
    from datetime import UTC, datetime

    from enrich import EnrichmentPolicy, enrich_document
    from nlp.schema import NlpResult
    from tests.conftest import load_sample

    doc = load_sample("example2-advil")
    result = NlpResult.model_validate(
        {
            "InferICD10CM": {
                "Entities": [
                    {
                        "Id": 0,
                        "Text": "Tom",
                        "Score": 0.9,
                        "BeginOffset": 0,
                        "EndOffset": 3,
                        "Traits": [{"Name": "SYMPTOM", "Score": 0.9}, {"Name": "DIAGNOSIS"}],
                        "ICD10CMConcepts": [{"Code": "R69", "Score": 0.9}],
                    }
                ]
            }
        }
    )
    for profile in ("clinical", "healthlake"):
        out = enrich_document(
            doc,
            result,
            policy=EnrichmentPolicy(profile=profile),  # type: ignore[arg-type]
            now=datetime(2024, 1, 1, tzinfo=UTC),
            engine_name="x",
            engine_version="1",
        )
        assert out.generated[0]["resourceType"] == "Condition"
        assert not _of(out.generated, "Observation")


def test_long_discharge_summary_offsets_beyond_20000() -> None:
    enrichment = enrich_sample("discharge-summary-long", "clinical")
    meds = _of(enrichment.generated, "MedicationStatement")
    offsets = [_derivation(m)["offset"] for m in meds]
    assert max(offsets) > 25_000
    assert enrichment.status == "SUCCESS"
    # Negated chest pain at discharge gives no Observation.
    assert "R07.9" not in _codes(_of(enrichment.generated, "Observation"))


@pytest.mark.parametrize("name", [n for n in sample_names() if n != "pdf-only"])
def test_derivation_offsets_point_at_the_entity_text(name: str) -> None:
    """For every clinical resource, text[offset:offset+length] is the entity it came from."""
    doc = load_sample(name)
    extracted = extract_text(doc)
    assert extracted is not None
    assert extracted.text is not None
    recorded = json.loads((SAMPLES / "nlp" / f"{name}.json").read_text(encoding="utf-8"))
    spans = {
        (e["BeginOffset"], e["EndOffset"] - e["BeginOffset"]): e["Text"]
        for op in ("InferICD10CM", "InferRxNorm")
        for e in recorded[op]["Entities"]
    }
    generated = enrich_sample(name, "clinical").generated
    derived = [r for r in generated if r["resourceType"] not in ("Linkage", "Provenance")]
    assert derived
    reduced = extracted.content_type.startswith("text/html")
    for resource in derived:
        d = _derivation(resource)
        if reduced:
            # offsets into the HTML-reduced text are not offsets into the attachment (D16)
            assert "offset" not in d
            assert "length" not in d
            d = _reduced_span(resource)
        span = (d["offset"], d["length"])
        assert extracted.text[span[0] : span[0] + span[1]] == spans[span]
