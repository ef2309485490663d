"""How many of the engine's condition mentions get an ICD-10-CM concept the clinical profile
uses (top concept at ``min_score``, 0.5 by default): a Condition or Observation is created
only for those."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from nlp.evaluation.types import MEDICAL_CONDITION, EvalDocument, PredMention


class ConditionConcepts:
    """Predicted MEDICAL_CONDITION mentions, and those whose top ICD-10-CM concept scores at
    least ``min_score``; the same for the mentions that overlap a gold condition."""

    def __init__(self, min_score: float = 0.5) -> None:
        self.min_score = min_score
        self.mentions = self.linked = self.gold_mentions = self.gold_linked = 0

    def add(self, doc: EvalDocument, preds: Sequence[PredMention]) -> None:
        golds = [(g.begin, g.end) for g in doc.gold if g.category == MEDICAL_CONDITION]
        for p in preds:
            if p.category != MEDICAL_CONDITION:
                continue
            ok = p.icd10cm_score is not None and p.icd10cm_score >= self.min_score
            self.mentions += 1
            self.linked += ok
            if any(min(p.end, e) > max(p.begin, b) for b, e in golds):
                self.gold_mentions += 1
                self.gold_linked += ok

    def as_dict(self) -> dict[str, Any]:
        return {
            "condition_concepts": {
                "min_score": self.min_score,
                "mentions": self.mentions,
                "with_concept": self.linked,
                "matching_gold": self.gold_mentions,
                "matching_gold_with_concept": self.gold_linked,
            }
        }

    def lines(self) -> list[str]:
        return [
            f"condition mentions with an ICD-10-CM concept >= {self.min_score}: "
            f"{self.linked} of {self.mentions} ({self.gold_linked} of the {self.gold_mentions} "
            "that overlap a gold condition)"
        ]
