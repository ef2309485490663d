"""Gold and predicted mentions, evaluation documents and the scope that filters predictions."""

from __future__ import annotations

from dataclasses import dataclass, field

RXNORM = "rxnorm"
ICD10CM = "icd10cm"
SNOMED = "snomed"
MESH = "mesh"

MEDICAL_CONDITION = "MEDICAL_CONDITION"
MEDICATION = "MEDICATION"
PHI = "PROTECTED_HEALTH_INFORMATION"
TEST_TREATMENT_PROCEDURE = "TEST_TREATMENT_PROCEDURE"

# assertion label of a hand-made gold -> the Comprehend Medical trait it corresponds to
LABEL_TRAITS: dict[str, str] = {
    "negated": "NEGATION",
    "history": "PAST_HISTORY",
    "family": "PERTAINS_TO_FAMILY",
    "hypothetical": "HYPOTHETICAL",
    "uncertain": "LOW_CONFIDENCE",
}


@dataclass(frozen=True)
class Code:
    """One code of a gold mention: ``system`` is one of rxnorm, icd10cm, snomed, mesh."""

    system: str
    code: str


@dataclass(frozen=True)
class GoldMention:
    """An annotated span with its Comprehend category/type.

    ``codes`` holds the gold codes (first = primary); ``traits`` is ``None`` when the corpus does
    not annotate traits, otherwise the set of trait names (possibly empty). ``trait_scope``, when
    given, names the traits annotated for this mention: only they are compared, and each gets an
    accuracy figure (the others are neither credited nor penalised).
    """

    begin: int
    end: int
    category: str
    type: str
    codes: tuple[Code, ...] = ()
    traits: frozenset[str] | None = None
    group: str = ""
    trait_scope: frozenset[str] | None = None


@dataclass(frozen=True)
class PredMention:
    """A predicted span; ``icd10cm`` and ``rxnorm`` are ranked concept codes (best first),
    ``icd10cm_score`` the score of the first ICD-10-CM concept."""

    begin: int
    end: int
    category: str
    type: str
    traits: frozenset[str] = frozenset()
    icd10cm: tuple[str, ...] = ()
    rxnorm: tuple[str, ...] = ()
    icd10cm_score: float | None = None


@dataclass(frozen=True)
class Scope:
    """Which predictions a corpus can judge: categories, optionally restricted to some types.

    ``types`` maps a category to its allowed types; a category absent from ``types`` allows all.
    """

    categories: frozenset[str]
    types: dict[str, frozenset[str]] = field(default_factory=dict)

    def admits(self, category: str, type_: str) -> bool:
        """True when a prediction of this category/type can be judged against this corpus.

        >>> Scope(frozenset({"MEDICATION"})).admits("MEDICATION", "BRAND_NAME")
        True
        >>> Scope(frozenset({"A"}), {"A": frozenset({"X"})}).admits("A", "Y")
        False
        """
        if category not in self.categories:
            return False
        allowed = self.types.get(category)
        return allowed is None or type_ in allowed


@dataclass
class EvalDocument:
    """One text with its gold mentions.

    Attributes:
        doc_id: corpus-local identifier (PMID, ``patient-note``, resource id).
        text: the text given to the engine.
        gold: gold mentions.
        operation: which engine response provides the predicted spans: ``DetectEntitiesV2``,
            ``InferICD10CM`` or ``InferRxNorm``.
        ignore: spans (begin, end) where predictions are neither credited nor penalised.
        condition_codes: for the ``condition recall`` figure, the encounter's coded conditions
            (code -> gold mention indices in ``gold``; empty list = not written in the text).
        scope: overrides the corpus scope for this document.
    """

    doc_id: str
    text: str
    gold: list[GoldMention]
    operation: str = "DetectEntitiesV2"
    ignore: list[tuple[int, int]] = field(default_factory=list)
    condition_codes: dict[str, list[int]] = field(default_factory=dict)
    scope: Scope | None = None
