"""Data tables: ConText categories -> Comprehend traits and statuses, traits each response allows.

``is_uncertain`` (ConText POSSIBLE_EXISTENCE) has no exact Comprehend counterpart; we map it
to LOW_CONFIDENCE, whose documented meaning ("the entity is uncertain") is the closest.

The clinical rules add categories of their own (``rules/context.json``): PAST_EVENT is past
history (PAST_HISTORY); RESOLVED and REMOTE are past history with a status; REMISSION, ACTIVE,
STOPPED and COMPLETED are statuses only, written to the result's ``Assertions``
(``nlp.schema.Assertion``), except that a stopped behaviour (quit smoking) is PAST_HISTORY.
"""

from __future__ import annotations

# medspacy attribute (ConText category) -> Comprehend Medical trait.
CONTEXT_TO_TRAIT: dict[str, str] = {
    "NEGATED_EXISTENCE": "NEGATION",  # is_negated
    "HISTORICAL": "PAST_HISTORY",  # is_historical
    "HYPOTHETICAL": "HYPOTHETICAL",  # is_hypothetical
    "FAMILY": "PERTAINS_TO_FAMILY",  # is_family
    "POSSIBLE_EXISTENCE": "LOW_CONFIDENCE",  # is_uncertain (closest counterpart)
    "PAST_EVENT": "PAST_HISTORY",  # ours: "s/p CABG", "had a cath", "dialysis yesterday"
    "RESOLVED": "PAST_HISTORY",  # ours: "pneumonia, resolved"
    "REMOTE": "PAST_HISTORY",  # ours: "remote history of", "as a child"
}

# Our ConText categories -> assertion status, by entity category, strongest first.
CONTEXT_TO_STATUS: dict[str, tuple[tuple[str, str], ...]] = {
    "MEDICATION": (("STOPPED", "STOPPED"), ("COMPLETED", "COMPLETED"), ("ACTIVE", "ACTIVE")),
    "MEDICAL_CONDITION": (
        ("RESOLVED", "RESOLVED"),
        ("REMISSION", "REMISSION"),
        ("REMOTE", "INACTIVE"),
    ),
}
# Categories that are past use for a behaviour (BEHAVIORAL_ENVIRONMENTAL_SOCIAL).
BEHAVIOUR_PAST = frozenset({"STOPPED", "HISTORICAL"})

# The same table keyed by medspacy's span attribute names.
ATTRIBUTE_TO_TRAIT: dict[str, str] = {
    "is_negated": "NEGATION",
    "is_historical": "PAST_HISTORY",
    "is_hypothetical": "HYPOTHETICAL",
    "is_family": "PERTAINS_TO_FAMILY",
    "is_uncertain": "LOW_CONFIDENCE",
}

# Traits each DetectEntitiesV2 category may carry (spec §2.4).
DETECT_TRAITS: dict[str, frozenset[str]] = {
    "MEDICAL_CONDITION": frozenset(
        {
            "DIAGNOSIS",
            "SIGN",
            "SYMPTOM",
            "NEGATION",
            "PAST_HISTORY",
            "HYPOTHETICAL",
            "PERTAINS_TO_FAMILY",
            "LOW_CONFIDENCE",
        }
    ),
    "MEDICATION": frozenset(
        {"NEGATION", "PAST_HISTORY", "HYPOTHETICAL", "PERTAINS_TO_FAMILY", "LOW_CONFIDENCE"}
    ),
    "TEST_TREATMENT_PROCEDURE": frozenset(
        {"NEGATION", "PAST_HISTORY", "HYPOTHETICAL", "PERTAINS_TO_FAMILY", "LOW_CONFIDENCE"}
    ),
    # AttributeName minus the condition kinds (botocore comprehendmedical service model).
    "BEHAVIORAL_ENVIRONMENTAL_SOCIAL": frozenset(
        {
            "NEGATION",
            "PAST_HISTORY",
            "HYPOTHETICAL",
            "PERTAINS_TO_FAMILY",
            "LOW_CONFIDENCE",
            "FUTURE",
        }
    ),
}
# InferICD10CM (ICD10CMTraitName) and InferRxNorm (RxNormTraitName) enums.
ICD10CM_TRAITS = frozenset(
    {
        "NEGATION",
        "DIAGNOSIS",
        "SIGN",
        "SYMPTOM",
        "PERTAINS_TO_FAMILY",
        "HYPOTHETICAL",
        "LOW_CONFIDENCE",
    }
)
RXNORM_TRAITS = frozenset({"NEGATION", "PAST_HISTORY"})

# Order in which traits are listed in a response.
TRAIT_ORDER = (
    "SIGN",
    "SYMPTOM",
    "DIAGNOSIS",
    "NEGATION",
    "PERTAINS_TO_FAMILY",
    "HYPOTHETICAL",
    "LOW_CONFIDENCE",
    "PAST_HISTORY",
    "FUTURE",
)


# Fallback for DIAGNOSIS / SIGN / SYMPTOM from the top ICD-10-CM code's chapter: chapter R
# "Symptoms, signs and abnormal clinical and laboratory findings" R00-R69 -> SYMPTOM,
# R70-R99 (abnormal findings) -> SIGN; every other chapter -> DIAGNOSIS.
def trait_from_icd10(code: str | None) -> str | None:
    """DIAGNOSIS / SIGN / SYMPTOM from an ICD-10-CM code's chapter, or None without a code."""
    if not code:
        return None
    if code[0] == "R":
        try:
            block = int(code[1:3])
        except ValueError:
            return "SYMPTOM"
        return "SIGN" if block >= 70 else "SYMPTOM"
    return "DIAGNOSIS"


def context_traits(categories: set[str]) -> set[str]:
    """Comprehend traits for a set of ConText categories."""
    return {CONTEXT_TO_TRAIT[c] for c in categories if c in CONTEXT_TO_TRAIT}


def context_status(category: str, categories: set[str]) -> str | None:
    """The assertion status an entity of ``category`` gets from its ConText categories."""
    for ctx, status in CONTEXT_TO_STATUS.get(category, ()):
        if ctx in categories:
            return status
    return None
