"""Shared pieces of generated resources: built once, equal to what a fresh build gives."""

from __future__ import annotations

import json

from enrich import urls
from enrich.generate import _SpanTraits
from enrich.resources import Mention, Source, codeable, coded, condition_from
from nlp.schema import Concept, Entity, Trait


def _source(clinical: bool = True) -> Source:
    return Source(
        doc_ref="DocumentReference/d1",
        subject={"reference": "Patient/p1"},
        encounter=None,
        linkage_ref="Linkage/l1",
        last_updated="2024-01-02T00:00:00.000Z",
        clinical=clinical,
        attachment_index=0,
    )


def test_a_concepts_codeable_concept_is_shared_and_equal_to_a_fresh_one() -> None:
    concept = Concept(Code="J02.0", Description="Streptococcal pharyngitis", Score=0.9)
    again = Concept(Code="J02.0", Description="Streptococcal pharyngitis", Score=0.5)
    src = _source()
    first = codeable(urls.HL_ICD10_SYSTEM, urls.ICD10CM_SYSTEM, concept, src, True)
    assert codeable(urls.HL_ICD10_SYSTEM, urls.ICD10CM_SYSTEM, again, src, True) is first
    assert first == {
        "coding": [
            {"system": urls.HL_ICD10_SYSTEM, "code": "J02.0", "display": concept.description},
            {"system": urls.ICD10CM_SYSTEM, "code": "J02.0", "display": concept.description},
        ],
        "text": concept.description,
    }
    healthlake = codeable(urls.HL_ICD10_SYSTEM, urls.ICD10CM_SYSTEM, concept, _source(False), True)
    assert healthlake["coding"] == first["coding"][:1]  # the profile is part of the key
    untexted = codeable(urls.HL_ICD10_SYSTEM, urls.ICD10CM_SYSTEM, concept, src, False)
    assert "text" not in untexted


def test_unvalidated_codes_are_built_each_time() -> None:
    odd = Concept.model_construct(code=1191, description=None, score=None)
    src = _source()
    one = codeable(urls.HL_RXNORM_SYSTEM, urls.RXNORM_SYSTEM, odd, src, True)
    two = codeable(urls.HL_RXNORM_SYSTEM, urls.RXNORM_SYSTEM, odd, src, True)
    assert (
        one
        == two
        == {
            "coding": [
                {"system": urls.HL_RXNORM_SYSTEM, "code": 1191},
                {"system": urls.RXNORM_SYSTEM, "code": 1191},
            ]
        }
    )
    assert one is not two
    assert coded("s", "active") is coded("s", "active")
    assert coded("s", "active") == {"coding": [{"system": "s", "code": "active"}]}


def test_resources_of_one_document_share_its_references_and_write_the_same_json() -> None:
    src = _source()
    concept = Concept(Code="J02.0", Description="Streptococcal pharyngitis", Score=0.9)
    a = condition_from("c1", src, Mention(0, 5, 0.8, concept), "active")
    b = condition_from("c2", src, Mention(7, 9, 0.7, concept), "active")
    assert a["extension"][-1] is b["extension"][-1]  # source-document-reference
    assert a["evidence"][0]["detail"][0] is src.doc_reference
    assert json.loads(json.dumps(a))["extension"][0] == {
        "url": urls.DERIVATION_REFERENCE,
        "extension": [
            {"url": "reference", "valueReference": {"reference": "DocumentReference/d1"}},
            {"url": "path", "valueString": "DocumentReference.content[0].attachment"},
            {"url": "offset", "valueInteger": 0},
            {"url": "length", "valueInteger": 5},
        ],
    }


def test_span_traits_are_read_when_asked() -> None:
    entities = [
        Entity(BeginOffset=0, EndOffset=4, Traits=[Trait(Name="NEGATION", Score=0.9)]),
        Entity(BeginOffset=0, EndOffset=4, Traits=[Trait(Name="SIGN", Score=0.3)]),
        Entity(BeginOffset=5, EndOffset=9, Traits=[Trait(Name="SYMPTOM", Score=0.95)]),
    ]
    traits = _SpanTraits(entities, 0.5)
    assert traits(0, 4) == {"NEGATION"}
    assert traits(0, 4) == {"NEGATION"}  # from the memo
    assert traits(5, 9) == {"SYMPTOM"}
    assert traits(1, 2) == set()
