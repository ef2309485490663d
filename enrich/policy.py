"""EnrichmentPolicy: which profile, thresholds and traits decide what gets generated (DESIGN D5)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Profile = Literal["healthlake", "clinical"]
PROFILES: tuple[Profile, ...] = ("healthlake", "clinical")


class EnrichmentPolicy(BaseModel):
    """Generation rules. The ``healthlake`` profile ignores every threshold and trait filter.

    Attributes:
        profile: ``clinical`` (default) or ``healthlake`` (byte-for-byte HealthLake behaviour).
        min_score: clinical: minimum score of an entity's top concept for a resource (0.5).
        min_entity_score: clinical: minimum entity score (0.0).
        trait_min_score: clinical: a trait counts only at or above this score (0.0).
        condition_traits: traits that make a Condition (``DIAGNOSIS``).
        observation_traits: traits that make an Observation (``SIGN``, ``SYMPTOM``).
        suppressing_traits: clinical: traits that stop a Condition/Observation
            (``NEGATION``, ``HYPOTHETICAL``, ``PERTAINS_TO_FAMILY``).
        medication_negation_traits: clinical: traits that make a MedicationStatement
            ``not-taken`` (``NEGATION``).
        medication_past_traits: clinical: traits that make it ``completed`` (``PAST_HISTORY``).
        medication_suppressing_traits: clinical: traits that stop a MedicationStatement
            (``PERTAINS_TO_FAMILY``: a relative's drug is not the patient's).
        past_use_code_prefixes: clinical: ICD-10-CM codes (by prefix) of substance dependence
            that a past-history mention never makes a Condition for (``F17``, ``Z72.0``: a
            former smoker gets the smoking-status Observation, not nicotine dependence).
        allergies: clinical: AllergyIntolerance from allergy statements (True).
        smoking_status: clinical: the LOINC 72166-2 Observation from tobacco use (True).
        max_nested_objects: nested JSON objects/arrays allowed in the decorated document
            before the result becomes ``VALIDATION_ERROR`` (``None``: no limit). Default:
            10,000 in the ``healthlake`` profile, as HealthLake; no limit in ``clinical``, so
            that long notes are never left without results (D7): the local engine's full
            aws-cm tree for a 25,000-character note passes 10,000 objects.
    """

    model_config = ConfigDict(frozen=True)

    profile: Profile = "clinical"
    min_score: float = Field(default=0.5, ge=0.0, le=1.0)
    min_entity_score: float = Field(default=0.0, ge=0.0, le=1.0)
    trait_min_score: float = Field(default=0.0, ge=0.0, le=1.0)
    condition_traits: frozenset[str] = frozenset({"DIAGNOSIS"})
    observation_traits: frozenset[str] = frozenset({"SIGN", "SYMPTOM"})
    suppressing_traits: frozenset[str] = frozenset(
        {"NEGATION", "HYPOTHETICAL", "PERTAINS_TO_FAMILY"}
    )
    medication_negation_traits: frozenset[str] = frozenset({"NEGATION"})
    medication_past_traits: frozenset[str] = frozenset({"PAST_HISTORY"})
    medication_suppressing_traits: frozenset[str] = frozenset({"PERTAINS_TO_FAMILY"})
    past_use_code_prefixes: tuple[str, ...] = ("F17", "Z72.0")
    allergies: bool = True
    smoking_status: bool = True
    max_nested_objects: int | None = 10_000

    @model_validator(mode="before")
    @classmethod
    def _profile_default_limit(cls, data: Any) -> Any:
        if (
            isinstance(data, dict)
            and data.get("profile", "clinical") == "clinical"
            and "max_nested_objects" not in data
        ):
            return {**data, "max_nested_objects": None}
        return data

    @property
    def is_healthlake(self) -> bool:
        """True for the byte-for-byte HealthLake profile."""
        return self.profile == "healthlake"
