"""Clinical-profile resources of the behavioural category: AllergyIntolerance, smoking status (D16).

Both come from DetectEntitiesV2's BEHAVIORAL_ENVIRONMENTAL_SOCIAL entities (ALLERGIES,
TOBACCO_USE); they carry the same meta, derivation-reference, score and link extensions as the
other generated resources.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from enrich import urls
from enrich.resources import (
    Json,
    Source,
    coding,
    link_exts,
    meta,
    score_ext,
    text_extensions,
)
from nlp.schema import Concept


@dataclass(frozen=True)
class Reaction:
    """A reaction written with the allergen: its words and, when linked, its ICD-10-CM concept."""

    text: str
    concept: Concept | None = None


@dataclass(frozen=True)
class Allergy:
    """One allergy statement.

    Attributes:
        begin: Offset of the allergen.
        end: End offset of the allergen.
        text: The allergen as written.
        entity_score: Score of the ALLERGIES entity.
        concept: The allergen's RxNorm concept, when it is a linked medication.
        category: FHIR AllergyIntolerance.category code, when known.
        reactions: The reactions written with it.
    """

    begin: int | None
    end: int | None
    text: str
    entity_score: float | None
    concept: Concept | None = None
    category: str | None = None
    reactions: list[Reaction] = field(default_factory=list)


def _extensions(src: Source, begin: int | None, end: int | None, scores: list[Json]) -> list[Json]:
    return [*text_extensions(src, begin, end), *scores, *link_exts(src)]


def allergy_intolerance_from(rid: str, src: Source, a: Allergy) -> Json:
    """An AllergyIntolerance: active, unconfirmed, substance coded with RxNorm when linked.

    ``patient`` is the document's subject; reactions become ``reaction[].manifestation``
    (ICD-10-CM coded when linked, always with their text).
    """
    scores = [
        *score_ext(urls.DETECT_ENTITY_SCORE, a.entity_score),
        *score_ext(urls.RXNORM_CONCEPT_SCORE, a.concept.score if a.concept else None),
    ]
    out: Json = {
        "resourceType": "AllergyIntolerance",
        "id": rid,
        "meta": meta(src),
        "extension": _extensions(src, a.begin, a.end, scores),
        "clinicalStatus": {"coding": [{"system": urls.ALLERGY_CLINICAL, "code": "active"}]},
        "verificationStatus": {
            "coding": [{"system": urls.ALLERGY_VERIFICATION, "code": "unconfirmed"}]
        },
    }
    if a.category is not None:
        out["category"] = [a.category]
    code: Json = {"text": a.text}
    if a.concept is not None:
        code = {
            "coding": [
                coding(urls.HL_RXNORM_SYSTEM, a.concept),
                coding(urls.RXNORM_SYSTEM, a.concept),
            ],
            "text": a.text,
        }
    out["code"] = code
    if src.subject is not None:
        out["patient"] = src.subject
    if src.encounter is not None:
        out["encounter"] = src.encounter
    manifestations = [_manifestation(r) for r in a.reactions]
    if manifestations:
        out["reaction"] = [{"manifestation": manifestations}]
    return out


def _manifestation(r: Reaction) -> Json:
    if r.concept is None:
        return {"text": r.text}
    return {
        "coding": [coding(urls.HL_ICD10_SYSTEM, r.concept), coding(urls.ICD10CM_SYSTEM, r.concept)],
        "text": r.text,
    }


@dataclass(frozen=True)
class SmokingStatus:
    """A tobacco-use mention read as a 72166-2 answer."""

    begin: int | None
    end: int | None
    text: str
    entity_score: float | None
    answer: tuple[str, str]


def smoking_status_from(rid: str, src: Source, s: SmokingStatus) -> Json:
    """Observation LOINC 72166-2 "Tobacco smoking status", a SNOMED CT answer, social-history."""
    code, display = s.answer
    out: Json = {
        "resourceType": "Observation",
        "id": rid,
        "meta": meta(src),
        "extension": _extensions(
            src, s.begin, s.end, score_ext(urls.DETECT_ENTITY_SCORE, s.entity_score)
        ),
        "status": "preliminary",
        "category": [{"coding": [{"system": urls.OBSERVATION_CATEGORY, "code": "social-history"}]}],
        "code": {
            "coding": [
                {
                    "system": urls.LOINC_SYSTEM,
                    "code": urls.SMOKING_STATUS_CODE,
                    "display": "Tobacco smoking status",
                }
            ],
            "text": "Tobacco smoking status",
        },
    }
    if src.subject is not None:
        out["subject"] = src.subject
    if src.encounter is not None:
        out["encounter"] = src.encounter
    out["derivedFrom"] = [{"reference": src.doc_ref}]
    out["valueCodeableConcept"] = {
        "coding": [{"system": urls.SNOMED_SYSTEM, "code": code, "display": display}],
        "text": s.text,
    }
    return out
