"""Generated resources: Condition, Observation, MedicationStatement, Linkage, Provenance (D5).

Each builder returns a FHIR R4 dict. ``healthlake`` shapes are HealthLake's verbatim ones
(spec §3.2); ``clinical`` adds standard codings, the HL7 derivation-reference extension, the
document's encounter, a searchable tag and (for Condition) ``verificationStatus: unconfirmed``,
keeps scores and links in plain ``extension`` (they do not change the meaning of the resource,
so they are no ``modifierExtension``), and adds what the text says (D16): statuses, dosage,
AllergyIntolerance and the smoking-status Observation (``allergy.py``).

Pieces that repeat are built once and shared, never mutated: a document's references and link
extensions by its resources (``Source``), a concept's CodeableConcept and the status codings by
every resource that holds them (the store and the API copy what they change).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from enrich import urls
from enrich.source import Source as Source  # uncompiled (cached_property); for callers
from enrich.tree import hl_decimal
from nlp.schema import Concept

Json = dict[str, Any]


@dataclass(frozen=True)
class Mention:
    """One entity of an ontology response: offsets, entity score and the chosen concept."""

    begin: int | None
    end: int | None
    entity_score: float | None
    concept: Concept


def system_generated_tag(clinical: bool) -> Json:
    """The SYSTEM_GENERATED tag: display only (HealthLake) or with system and code (clinical)."""
    if clinical:
        return {"system": urls.TAG_SYSTEM, "code": urls.TAG_CODE, "display": urls.SYSTEM_GENERATED}
    return {"display": urls.SYSTEM_GENERATED}


_TAGS = {clinical: system_generated_tag(clinical) for clinical in (True, False)}


def meta(src: Source) -> Json:
    """``meta`` of a generated resource (its tag shared)."""
    return {"lastUpdated": src.last_updated, "tag": [_TAGS[src.clinical]]}


def score_ext(url: str, value: float | None) -> list[Json]:
    """A score extension (HealthLake's float32 digits), or nothing without a score."""
    return [] if value is None else [{"url": url, "valueDecimal": hl_decimal(value)}]


def link_exts(src: Source) -> list[Json]:
    """The system-generated-linkage and source-document-reference extensions."""
    return list(src.links)


def derivation_reference(src: Source, begin: int | None, end: int | None) -> Json:
    """HL7 ``derivation-reference``: the document, the attachment path, offset and length.

    Offset and length are left out when the analysed text is not the attachment's own
    (``Source.offsets_in_attachment``); :func:`text_extensions` then gives them separately.
    """
    children = list(src.derivation_head)
    if begin is not None and src.offsets_in_attachment:
        children += _span(begin, end)
    return {"url": urls.DERIVATION_REFERENCE, "extension": children}


def _span(begin: int, end: int | None) -> list[Json]:
    out: list[Json] = [{"url": "offset", "valueInteger": begin}]
    if end is not None:
        out.append({"url": "length", "valueInteger": end - begin})
    return out


def text_extensions(src: Source, begin: int | None, end: int | None) -> list[Json]:
    """Where the entity is: derivation-reference, and for HTML our reduced-text span."""
    out = [derivation_reference(src, begin, end)]
    if begin is not None and not src.offsets_in_attachment:
        out.append({"url": urls.REDUCED_TEXT_SPAN, "extension": _span(begin, end)})
    return out


def coding(system: str, concept: Concept) -> Json:
    """A Coding from a concept (display when the concept has a description).

    The concept's values are read as they are (through its ``__dict__``): compiled code
    would check the declared types, and a concept made without validation may hold others.
    """
    values: dict[str, Any] = concept.__dict__
    coding: Json = {"system": system, "code": values["code"]}
    description = values["description"]
    if description:
        coding["display"] = description
    return coding


_CODEABLE: dict[tuple[str, str, bool, bool, str, str | None], Json] = {}


def codeable(hl_system: str, std_system: str, concept: Concept, src: Source, text: bool) -> Json:
    """A CodeableConcept: HealthLake's coding, and in the clinical profile the standard one.

    Shared by every resource of the same concept (kept for string codes and descriptions).
    """
    values: dict[str, Any] = concept.__dict__
    code: object = values["code"]
    description: object = values["description"]
    if type(code) is not str or not (description is None or type(description) is str):
        return _codeable(hl_system, std_system, concept, src.clinical, text)
    key = (hl_system, std_system, src.clinical, text, code, description)
    found = _CODEABLE.get(key)
    if found is None:
        if len(_CODEABLE) >= 65536:
            _CODEABLE.clear()
        found = _CODEABLE[key] = _codeable(hl_system, std_system, concept, src.clinical, text)
    return found


def _codeable(
    hl_system: str, std_system: str, concept: Concept, clinical: bool, text: bool
) -> Json:
    codings = [coding(hl_system, concept)]
    if clinical:
        codings.append(coding(std_system, concept))
    out: Json = {"coding": codings}
    description = concept.__dict__["description"]
    if text and description:
        out["text"] = description
    return out


def base(resource_type: str, rid: str, src: Source, m: Mention, scores: tuple[str, str]) -> Json:
    """id, meta, and the extensions: scores and links (modifierExtension in healthlake)."""
    out: Json = {"resourceType": resource_type, "id": rid, "meta": meta(src)}
    own = [
        *score_ext(scores[0], m.entity_score),
        *score_ext(scores[1], m.concept.score),
        *link_exts(src),
    ]
    if src.clinical:
        out["extension"] = [*text_extensions(src, m.begin, m.end), *own]
    else:
        out["modifierExtension"] = own
    return out


def _add_context(out: Json, src: Source, encounter_key: str, derived_key: str | None) -> None:
    """subject (both profiles); encounter and derivedFrom (clinical only)."""
    if src.subject is not None:
        out["subject"] = src.subject
    if src.clinical:
        if src.encounter is not None:
            out[encounter_key] = src.encounter
        if derived_key is not None:
            out[derived_key] = [src.doc_reference]


_CODED: dict[tuple[str, str], Json] = {}


def coded(system: str, code: str) -> Json:
    """``{"coding": [{"system": system, "code": code}]}``, shared (a status: a few codes)."""
    found = _CODED.get((system, code))
    if found is None:
        found = {"coding": [{"system": system, "code": code}]}
        if type(code) is str and len(_CODED) < 1024:
            _CODED[(system, code)] = found
    return found


_ICD_SCORES = (urls.ICD10_ENTITY_SCORE, urls.ICD10_CONCEPT_SCORE)
_RX_SCORES = (urls.RXNORM_ENTITY_SCORE, urls.RXNORM_CONCEPT_SCORE)


def condition_from(
    rid: str,
    src: Source,
    m: Mention,
    clinical_status: str | None = None,
    verification: str = "unconfirmed",
) -> Json:
    """A Condition from an InferICD10CM concept (trait DIAGNOSIS).

    Clinical profile: ``clinical_status`` is a condition-clinical code (None: left out) and
    ``verification`` a condition-ver-status code.
    """
    out = base("Condition", rid, src, m, _ICD_SCORES)
    if src.clinical and clinical_status is not None:
        out["clinicalStatus"] = coded(urls.CONDITION_CLINICAL, clinical_status)
    if src.clinical:
        out["verificationStatus"] = coded(urls.CONDITION_VER_STATUS, verification)
    out["code"] = codeable(urls.HL_ICD10_SYSTEM, urls.ICD10CM_SYSTEM, m.concept, src, True)
    _add_context(out, src, "encounter", None)
    if src.clinical:
        out["evidence"] = [{"detail": [src.doc_reference]}]
    return out


def observation_from(rid: str, src: Source, m: Mention) -> Json:
    """An Observation from an InferICD10CM concept (trait SIGN or SYMPTOM)."""
    out = base("Observation", rid, src, m, _ICD_SCORES)
    out["status"] = "preliminary" if src.clinical else "unknown"
    out["code"] = codeable(urls.HL_ICD10_SYSTEM, urls.ICD10CM_SYSTEM, m.concept, src, True)
    _add_context(out, src, "encounter", "derivedFrom")
    return out


def medication_statement_from(
    rid: str, src: Source, m: Mention, status: str, dosage: Json | None = None
) -> Json:
    """A MedicationStatement from an InferRxNorm concept.

    HealthLake's shape has only the linkage modifier extensions (spec §3.2); the clinical
    profile puts the RxNorm scores first, as on Condition (D5), and the ``dosage`` read from
    the attributes.
    """
    if src.clinical:
        out = base("MedicationStatement", rid, src, m, _RX_SCORES)
    else:
        out = {"resourceType": "MedicationStatement", "id": rid, "meta": meta(src)}
        out["modifierExtension"] = link_exts(src)
    out["status"] = status
    out["medicationCodeableConcept"] = codeable(
        urls.HL_RXNORM_SYSTEM, urls.RXNORM_SYSTEM, m.concept, src, src.clinical
    )
    _add_context(out, src, "context", "derivedFrom")
    if src.clinical and dosage is not None:
        out["dosage"] = [dosage]
    return out


def linkage_for(rid: str, src: Source, refs: list[str]) -> Json:
    """The Linkage: every generated resource as ``alternate``, then the document as ``source``."""
    items = [
        {"type": "alternate", "resource": {"reference": r, "type": r.split("/", 1)[0]}}
        for r in refs
    ]
    items.append(
        {"type": "source", "resource": {"reference": src.doc_ref, "type": "DocumentReference"}}
    )
    return {"resourceType": "Linkage", "id": rid, "meta": meta(src), "active": True, "item": items}


def provenance_for(
    rid: str, src: Source, targets: list[str], engine_name: str, engine_version: str
) -> Json:
    """One Provenance per run: targets the generated resources, entity is the document."""
    return {
        "resourceType": "Provenance",
        "id": rid,
        "meta": meta(src),
        "target": [{"reference": r} for r in targets],
        "recorded": src.last_updated,
        "activity": {"coding": [{"system": urls.PROVENANCE_ACTIVITY, "code": "CREATE"}]},
        "agent": [
            {
                "type": {"coding": [{"system": urls.PROVENANCE_AGENT_TYPE, "code": "assembler"}]},
                "who": {
                    "identifier": {"system": urls.DEVICE_ID_SYSTEM, "value": engine_name},
                    "display": f"{engine_name} {engine_version}",
                },
            }
        ],
        "entity": [{"role": "source", "what": {"reference": src.doc_ref}}],
    }
