"""Pydantic models in Amazon Comprehend Medical's response shape (aliases are the AWS keys).

Field order follows the botocore service model (= the Java SDK v1 member order), which
``enrich.rawresponse`` relies on to reproduce HealthLake's ``raw-response`` strings.

A boto3 response (minus ``ResponseMetadata``) validates as-is, and
``model.model_dump(by_alias=True, exclude_none=True)`` gives it back unchanged.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class CMModel(BaseModel):
    """Base: AWS keys as aliases, Python names accepted too, unknown keys kept."""

    model_config = ConfigDict(populate_by_name=True, extra="allow")

    def to_aws(self) -> dict[str, Any]:
        """The boto3-shaped dict (AWS keys, no nulls)."""
        return self.model_dump(by_alias=True, exclude_none=True)


class Trait(CMModel):
    name: str = Field(alias="Name")
    score: float | None = Field(default=None, alias="Score")


class Attribute(CMModel):
    """DetectEntitiesV2 attribute."""

    type: str | None = Field(default=None, alias="Type")
    score: float | None = Field(default=None, alias="Score")
    relationship_score: float | None = Field(default=None, alias="RelationshipScore")
    relationship_type: str | None = Field(default=None, alias="RelationshipType")
    id: int | None = Field(default=None, alias="Id")
    begin_offset: int | None = Field(default=None, alias="BeginOffset")
    end_offset: int | None = Field(default=None, alias="EndOffset")
    text: str | None = Field(default=None, alias="Text")
    category: str | None = Field(default=None, alias="Category")
    traits: list[Trait] | None = Field(default=None, alias="Traits")


class Entity(CMModel):
    """DetectEntitiesV2 entity."""

    id: int | None = Field(default=None, alias="Id")
    begin_offset: int | None = Field(default=None, alias="BeginOffset")
    end_offset: int | None = Field(default=None, alias="EndOffset")
    score: float | None = Field(default=None, alias="Score")
    text: str | None = Field(default=None, alias="Text")
    category: str | None = Field(default=None, alias="Category")
    type: str | None = Field(default=None, alias="Type")
    traits: list[Trait] | None = Field(default=None, alias="Traits")
    attributes: list[Attribute] | None = Field(default=None, alias="Attributes")


class UnmappedAttribute(CMModel):
    type: str | None = Field(default=None, alias="Type")
    attribute: Attribute | None = Field(default=None, alias="Attribute")


class DetectEntitiesV2Response(CMModel):
    entities: list[Entity] = Field(default_factory=list, alias="Entities")
    unmapped_attributes: list[UnmappedAttribute] | None = Field(
        default=None, alias="UnmappedAttributes"
    )
    pagination_token: str | None = Field(default=None, alias="PaginationToken")
    model_version: str | None = Field(default=None, alias="ModelVersion")


class Concept(CMModel):
    """ICD10CMConcept / RxNormConcept: Description, Code, Score."""

    description: str | None = Field(default=None, alias="Description")
    code: str = Field(alias="Code")
    score: float | None = Field(default=None, alias="Score")


class ICD10CMAttribute(CMModel):
    type: str | None = Field(default=None, alias="Type")
    score: float | None = Field(default=None, alias="Score")
    relationship_score: float | None = Field(default=None, alias="RelationshipScore")
    id: int | None = Field(default=None, alias="Id")
    begin_offset: int | None = Field(default=None, alias="BeginOffset")
    end_offset: int | None = Field(default=None, alias="EndOffset")
    text: str | None = Field(default=None, alias="Text")
    traits: list[Trait] | None = Field(default=None, alias="Traits")
    category: str | None = Field(default=None, alias="Category")
    relationship_type: str | None = Field(default=None, alias="RelationshipType")


class ICD10CMEntity(CMModel):
    id: int | None = Field(default=None, alias="Id")
    text: str | None = Field(default=None, alias="Text")
    category: str | None = Field(default=None, alias="Category")
    type: str | None = Field(default=None, alias="Type")
    score: float | None = Field(default=None, alias="Score")
    begin_offset: int | None = Field(default=None, alias="BeginOffset")
    end_offset: int | None = Field(default=None, alias="EndOffset")
    attributes: list[ICD10CMAttribute] | None = Field(default=None, alias="Attributes")
    traits: list[Trait] | None = Field(default=None, alias="Traits")
    concepts: list[Concept] | None = Field(default=None, alias="ICD10CMConcepts")


class InferICD10CMResponse(CMModel):
    entities: list[ICD10CMEntity] = Field(default_factory=list, alias="Entities")
    pagination_token: str | None = Field(default=None, alias="PaginationToken")
    model_version: str | None = Field(default=None, alias="ModelVersion")


class RxNormAttribute(CMModel):
    type: str | None = Field(default=None, alias="Type")
    score: float | None = Field(default=None, alias="Score")
    relationship_score: float | None = Field(default=None, alias="RelationshipScore")
    id: int | None = Field(default=None, alias="Id")
    begin_offset: int | None = Field(default=None, alias="BeginOffset")
    end_offset: int | None = Field(default=None, alias="EndOffset")
    text: str | None = Field(default=None, alias="Text")
    traits: list[Trait] | None = Field(default=None, alias="Traits")


class RxNormEntity(CMModel):
    id: int | None = Field(default=None, alias="Id")
    text: str | None = Field(default=None, alias="Text")
    category: str | None = Field(default=None, alias="Category")
    type: str | None = Field(default=None, alias="Type")
    score: float | None = Field(default=None, alias="Score")
    begin_offset: int | None = Field(default=None, alias="BeginOffset")
    end_offset: int | None = Field(default=None, alias="EndOffset")
    attributes: list[RxNormAttribute] | None = Field(default=None, alias="Attributes")
    traits: list[Trait] | None = Field(default=None, alias="Traits")
    concepts: list[Concept] | None = Field(default=None, alias="RxNormConcepts")


class InferRxNormResponse(CMModel):
    entities: list[RxNormEntity] = Field(default_factory=list, alias="Entities")
    pagination_token: str | None = Field(default=None, alias="PaginationToken")
    model_version: str | None = Field(default=None, alias="ModelVersion")


class Assertion(CMModel):
    """docref-nlp's reading of one entity beyond Comprehend Medical's traits (not an AWS shape).

    Comprehend Medical has no trait for "allergen", "stopped" or "resolved"; the local engine
    writes them here, beside the three responses, so that the responses (and HealthLake's
    raw-response strings and aws-cm tree built from them) stay exactly Comprehend's. An
    assertion names its entity by span, category and type (``docs/clinical-meaning.md``).

    Attributes:
        status: medication ``ACTIVE`` / ``STOPPED`` / ``COMPLETED``; condition ``RESOLVED`` /
            ``INACTIVE`` / ``REMISSION``.
        role: ``ALLERGEN`` (the substance of an allergy statement: the allergy entity and the
            medication at its span) or ``REACTION`` (a condition that is the reaction to the
            allergen at ``related_begin_offset``/``related_end_offset``).
        substance_category: for an allergen, FHIR AllergyIntolerance.category when known
            (``medication``, ``food``, ``environment``, ``biologic``).
    """

    begin_offset: int = Field(alias="BeginOffset")
    end_offset: int = Field(alias="EndOffset")
    category: str = Field(alias="Category")
    type: str | None = Field(default=None, alias="Type")
    status: str | None = Field(default=None, alias="Status")
    role: str | None = Field(default=None, alias="Role")
    related_begin_offset: int | None = Field(default=None, alias="RelatedBeginOffset")
    related_end_offset: int | None = Field(default=None, alias="RelatedEndOffset")
    substance_category: str | None = Field(default=None, alias="SubstanceCategory")


class NlpResult(CMModel):
    """The three Comprehend Medical responses for one text (the replay-file shape).

    Any of the three may be missing, meaning "no entities" for that operation. ``assertions``
    (key ``Assertions``) is ours, not Comprehend's: see :class:`Assertion`.
    """

    detect_entities: DetectEntitiesV2Response | None = Field(default=None, alias="DetectEntitiesV2")
    icd10cm: InferICD10CMResponse | None = Field(default=None, alias="InferICD10CM")
    rxnorm: InferRxNormResponse | None = Field(default=None, alias="InferRxNorm")
    assertions: list[Assertion] | None = Field(default=None, alias="Assertions")

    @property
    def entities(self) -> list[Entity]:
        return self.detect_entities.entities if self.detect_entities else []

    @property
    def icd10cm_entities(self) -> list[ICD10CMEntity]:
        return self.icd10cm.entities if self.icd10cm else []

    @property
    def rxnorm_entities(self) -> list[RxNormEntity]:
        return self.rxnorm.entities if self.rxnorm else []

    @property
    def model_version(self) -> str:
        """The model versions of the three operations, joined (``de/icd/rx``)."""
        parts = [
            (r.model_version or "") if r else ""
            for r in (self.detect_entities, self.icd10cm, self.rxnorm)
        ]
        return "/".join(parts)
