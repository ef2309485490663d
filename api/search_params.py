"""The one list of supported search parameters: the 26 NLP ones and the standard ones per type."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from enrich.urls import PROJECT_BASE

FieldKind = Literal["string", "token", "number"]
StandardKind = Literal["token", "reference", "date", "string"]

#: Resource types the FHIR API reads and searches; only DocumentReference is written by clients.
SEARCHABLE_TYPES: tuple[str, ...] = (
    "DocumentReference",
    "Condition",
    "Observation",
    "MedicationStatement",
    "AllergyIntolerance",
    "Linkage",
    "Provenance",
)
#: Types generated from a DocumentReference (their ``derived-from`` is the source document).
GENERATED_TYPES: tuple[str, ...] = SEARCHABLE_TYPES[1:]


@dataclass(frozen=True)
class Component:
    """One component of an NLP parameter: an ``IndexRow`` column and its matching kind."""

    field: str
    kind: FieldKind


@dataclass(frozen=True)
class NlpParam:
    """An NLP search parameter of DocumentReference (spec §4).

    ``operation`` is the aws-cm branch it reads (``None`` for ``cm-decoration-status``, which
    reads the document's NLP status). A composite matches inside one index row, i.e. inside one
    entity, or one concept of one entity.
    """

    name: str
    operation: Literal["detect-entities", "infer-icd10", "infer-rxnorm"] | None
    components: tuple[Component, ...]
    description: str

    @property
    def type(self) -> str:
        """FHIR SearchParameter type."""
        return "composite" if len(self.components) > 1 else self.components[0].kind


_TEXT = Component("text", "string")
_CATEGORY = Component("category", "token")
_TYPE = Component("type", "token")
_SCORE = Component("score", "number")
_CODE = Component("concept_code", "token")
_DESC = Component("concept_description", "string")
_CSCORE = Component("concept_score", "number")

_DE = "detect-entities"
_ICD = "infer-icd10"
_RX = "infer-rxnorm"
_SUB = {_DE: "DetectEntities", _ICD: "InferICD10CM", _RX: "InferRxNorm"}


_LABELS = {
    "text": "Entity Text",
    "category": "Entity Category",
    "type": "Entity Type",
    "score": "Entity Score",
    "concept_code": "Entity Concept Code",
    "concept_description": "Entity Concept Description",
    "concept_score": "Entity Concept Score",
}


def _nlp(name: str, op: Any, *comps: Component) -> NlpParam:
    what = " and ".join(_LABELS[c.field] for c in comps)
    if len(comps) > 1:
        same_concept = all(c.field.startswith("concept_") for c in comps)
        what += " of one concept" if same_concept else " of one entity"
    text = f"{what} within the {_SUB[op]} subextension within the AWS CM Extension"
    return NlpParam(name, op, comps, text)


NLP_PARAMS: dict[str, NlpParam] = {
    p.name: p
    for p in (
        _nlp("detectEntities-entity-category", _DE, _CATEGORY),
        _nlp("detectEntities-entity-text", _DE, _TEXT),
        _nlp("detectEntities-entity-type", _DE, _TYPE),
        _nlp("detectEntities-entity-score", _DE, _SCORE),
        _nlp("detectEntities-entity-text-category", _DE, _TEXT, _CATEGORY),
        _nlp("detectEntities-entity-type-score", _DE, _TYPE, _SCORE),
        _nlp("detectEntities-entity-text-score", _DE, _TEXT, _SCORE),
        _nlp("detectEntities-entity-text-type", _DE, _TEXT, _TYPE),
        _nlp("detectEntities-entity-category-score", _DE, _CATEGORY, _SCORE),
        _nlp("infer-icd10cm-entity-text", _ICD, _TEXT),
        _nlp("infer-icd10cm-entity-score", _ICD, _SCORE),
        _nlp("infer-icd10cm-entity-concept-code", _ICD, _CODE),
        _nlp("infer-icd10cm-entity-concept-description", _ICD, _DESC),
        _nlp("infer-icd10cm-entity-concept-score", _ICD, _CSCORE),
        _nlp("infer-icd10cm-entity-text-concept-code", _ICD, _TEXT, _CODE),
        _nlp("infer-icd10cm-entity-text-concept-score", _ICD, _TEXT, _CSCORE),
        _nlp("infer-icd10cm-entity-concept-description-concept-score", _ICD, _DESC, _CSCORE),
        _nlp("infer-rxnorm-entity-text", _RX, _TEXT),
        _nlp("infer-rxnorm-entity-score", _RX, _SCORE),
        _nlp("infer-rxnorm-entity-concept-code", _RX, _CODE),
        _nlp("infer-rxnorm-entity-concept-description", _RX, _DESC),
        _nlp("infer-rxnorm-entity-concept-score", _RX, _CSCORE),
        _nlp("infer-rxnorm-entity-text-concept-code", _RX, _TEXT, _CODE),
        _nlp("infer-rxnorm-entity-text-concept-score", _RX, _TEXT, _CSCORE),
        _nlp("infer-rxnorm-entity-concept-description-concept-score", _RX, _DESC, _CSCORE),
        NlpParam(
            "cm-decoration-status",
            None,
            (Component("status", "token"),),
            "NLP status of the document: SUCCESS, VALIDATION_ERROR or UNSUPPORTED_CONTENT",
        ),
    )
}


@dataclass(frozen=True)
class StandardParam:
    """A standard search parameter, indexed from the resource JSON at write time.

    ``paths`` are dotted element paths (lists are walked; ``elem[key=value]`` keeps only list
    items whose ``key`` equals ``value``); ``targets`` restricts a reference parameter to
    those resource types. ``computed`` parameters are filled by the store from the enrichment
    relationships (``derived-from``, ``nlp-generated``), not from paths.
    """

    name: str
    kind: StandardKind
    paths: tuple[str, ...] = ()
    targets: tuple[str, ...] = ()
    description: str = ""
    computed: bool = False


def _ref(name: str, *paths: str, targets: tuple[str, ...] = (), doc: str = "") -> StandardParam:
    return StandardParam(name, "reference", paths, targets, doc)


def _tok(name: str, *paths: str, doc: str = "") -> StandardParam:
    return StandardParam(name, "token", paths, (), doc)


def _date(name: str, *paths: str, doc: str = "") -> StandardParam:
    return StandardParam(name, "date", paths, (), doc)


DERIVED_FROM = StandardParam(
    "derived-from",
    "reference",
    (),
    ("DocumentReference",),
    "The DocumentReference this resource was generated from",
    computed=True,
)
NLP_GENERATED = StandardParam(
    "nlp-generated",
    "reference",
    (),
    GENERATED_TYPES,
    "Resources generated from this DocumentReference (for _include)",
    computed=True,
)

#: Parameters every searchable type has (handled specially by the store, except ``_tag``).
COMMON_PARAMS: dict[str, StandardParam] = {
    "_id": _tok("_id", doc="Logical id"),
    "_lastUpdated": _date("_lastUpdated", doc="meta.lastUpdated"),
    "_tag": _tok("_tag", "meta.tag", doc="meta.tag (system|code; a display-only tag by display)"),
}

_SUBJECT = _ref("subject", "subject", doc="Who or what the resource is about")
_PATIENT = _ref("patient", "subject", targets=("Patient",), doc="subject, when a Patient")

STANDARD_PARAMS: dict[str, dict[str, StandardParam]] = {
    "DocumentReference": {
        p.name: p
        for p in (
            _SUBJECT,
            _PATIENT,
            _date("date", "date", doc="When the reference was created"),
            _tok("type", "type", doc="Kind of document"),
            _tok("category", "category", doc="Categorization of document"),
            _tok("status", "status", doc="current | superseded | entered-in-error"),
            _tok("identifier", "identifier", doc="Master Version Specific Identifier / other"),
            _ref("encounter", "context.encounter", doc="Context of the document content"),
            _ref("author", "author", doc="Who and/or what authored the document"),
            _tok("contenttype", "content.attachment.contentType", doc="Attachment mime type"),
            NLP_GENERATED,
        )
    },
    "Condition": {
        p.name: p
        for p in (
            _SUBJECT,
            _PATIENT,
            _tok("code", "code", doc="Code for the condition"),
            _tok("category", "category", doc="The category of the condition"),
            _tok("clinical-status", "clinicalStatus", doc="The clinical status"),
            _tok("verification-status", "verificationStatus", doc="The verification status"),
            _ref("encounter", "encounter", doc="Encounter created as part of"),
            _date("onset-date", "onsetDateTime", "onsetPeriod", doc="Date of onset"),
            _date("recorded-date", "recordedDate", doc="Date record was first recorded"),
            _tok("identifier", "identifier", doc="A unique identifier of the condition"),
            DERIVED_FROM,
        )
    },
    "Observation": {
        p.name: p
        for p in (
            _SUBJECT,
            _PATIENT,
            _tok("code", "code", doc="The code of the observation type"),
            _tok("category", "category", doc="The classification of the type of observation"),
            _tok("status", "status", doc="The status of the observation"),
            _ref("encounter", "encounter", doc="Encounter related to the observation"),
            _date(
                "date",
                "effectiveDateTime",
                "effectivePeriod",
                "effectiveInstant",
                doc="Clinically relevant time/time-period for observation",
            ),
            DERIVED_FROM,
        )
    },
    "MedicationStatement": {
        p.name: p
        for p in (
            _SUBJECT,
            _PATIENT,
            _tok(
                "code", "medicationCodeableConcept", doc="Return statements of this medication code"
            ),
            _tok("status", "status", doc="Return statements that match the given status"),
            _ref("context", "context", doc="Returns statements for a specific context"),
            _date(
                "effective",
                "effectiveDateTime",
                "effectivePeriod",
                doc="Date when patient was taking (or not taking) the medication",
            ),
            DERIVED_FROM,
        )
    },
    "AllergyIntolerance": {
        p.name: p
        for p in (
            _ref("patient", "patient", targets=("Patient",), doc="Who the sensitivity is for"),
            _tok("code", "code", "reaction.substance", doc="Code that identifies the allergy"),
            _tok("clinical-status", "clinicalStatus", doc="active | inactive | resolved"),
            _tok("verification-status", "verificationStatus", doc="unconfirmed | confirmed"),
            _tok("category", "category", doc="food | medication | environment | biologic"),
            _tok("manifestation", "reaction.manifestation", doc="Clinical symptoms/signs"),
            _ref("encounter", "encounter", doc="Encounter when the allergy was asserted"),
            DERIVED_FROM,
        )
    },
    "Linkage": {
        p.name: p
        for p in (
            _ref("item", "item.resource", doc="Matches on any item in the Linkage"),
            _ref("source", "item[type=source].resource", doc="Matches on the source item"),
            _ref("author", "author", doc="Author of the Linkage"),
            DERIVED_FROM,
        )
    },
    "Provenance": {
        p.name: p
        for p in (
            _ref("target", "target", doc="Target Reference(s)"),
            _ref("patient", "target", targets=("Patient",), doc="Target Reference(s), Patients"),
            _ref("agent", "agent.who", doc="Who participated"),
            _ref("entity", "entity.what", doc="Identity of entity"),
            _date("recorded", "recorded", doc="When the activity was recorded / updated"),
            DERIVED_FROM,
        )
    },
}


def standard_param(resource_type: str, name: str) -> StandardParam | None:
    """The standard parameter ``name`` of ``resource_type`` (common ones included)."""
    return COMMON_PARAMS.get(name) or STANDARD_PARAMS.get(resource_type, {}).get(name)


def search_parameter_resource(name: str) -> dict[str, Any] | None:
    """The FHIR SearchParameter definition of one NLP parameter (``None`` if unknown)."""
    param = NLP_PARAMS.get(name)
    if param is None:
        return None
    resource: dict[str, Any] = {
        "resourceType": "SearchParameter",
        "id": name,
        "url": _canonical(name),
        "name": name.replace("-", "_"),
        "status": "active",
        "experimental": False,
        "publisher": "docref-nlp",
        "description": (
            f"{param.description}. Composite separator '|' (also '$'); strings match FHIR "
            "string semantics, scores FHIR number semantics (implicit precision, prefixes "
            "eq ne gt lt ge le ap), codes exactly; a composite matches inside one "
            "entity (description+score: one concept)."
            if param.type == "composite"
            else f"{param.description}."
        ),
        "code": name,
        "base": ["DocumentReference"],
        "type": param.type,
        "expression": "DocumentReference.extension('http://healthlake.amazonaws.com/aws-cm/')",
    }
    if param.type == "string":
        resource["modifier"] = ["missing", "exact", "contains"]
    elif param.type != "composite":
        resource["modifier"] = ["missing"]
    if param.type == "composite":
        resource["component"] = [
            {
                "definition": f"{PROJECT_BASE}/SearchParameter/{_simple_for(param, c)}",
                "expression": c.field,
            }
            for c in param.components
        ]
        resource["modifier"] = ["exact", "contains"]
    return resource


def _simple_for(param: NlpParam, component: Component) -> str:
    """Name of the simple parameter that reads the same column of the same branch."""
    for other in NLP_PARAMS.values():
        if other.operation == param.operation and other.components == (component,):
            return other.name
    return param.name


def _canonical(name: str) -> str:
    return f"{PROJECT_BASE}/SearchParameter/{name}"
