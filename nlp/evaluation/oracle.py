"""GoldEngine: an NlpEngine that answers with a corpus' gold, to check the harness end to end."""

from __future__ import annotations

from collections.abc import Iterable

from nlp.base import PermanentEngineError
from nlp.evaluation.types import ICD10CM, MEDICAL_CONDITION, MEDICATION, RXNORM, EvalDocument
from nlp.schema import (
    Concept,
    DetectEntitiesV2Response,
    Entity,
    ICD10CMEntity,
    InferICD10CMResponse,
    InferRxNormResponse,
    NlpResult,
    RxNormEntity,
    Trait,
)


def result_from_gold(doc: EvalDocument) -> NlpResult:
    """The three responses a perfect engine would give for ``doc`` (gold codes as concepts)."""
    entities: list[Entity] = []
    icd: list[ICD10CMEntity] = []
    rx: list[RxNormEntity] = []
    for n, g in enumerate(doc.gold):
        text = doc.text[g.begin : g.end]
        traits = [Trait(name=t, score=1.0) for t in sorted(g.traits or ())]
        common = {
            "Id": n,
            "BeginOffset": g.begin,
            "EndOffset": g.end,
            "Score": 1.0,
            "Text": text,
            "Category": g.category,
            "Type": g.type,
            "Traits": traits,
        }
        entities.append(Entity.model_validate(common))
        icd_codes = [Concept(code=c.code, score=1.0) for c in g.codes if c.system == ICD10CM]
        rx_codes = [Concept(code=c.code, score=1.0) for c in g.codes if c.system == RXNORM]
        if g.category == MEDICAL_CONDITION:
            icd.append(ICD10CMEntity.model_validate({**common, "ICD10CMConcepts": icd_codes}))
        if g.category == MEDICATION:
            rx.append(RxNormEntity.model_validate({**common, "RxNormConcepts": rx_codes}))
    return NlpResult(
        DetectEntitiesV2=DetectEntitiesV2Response(Entities=entities, ModelVersion="gold"),
        InferICD10CM=InferICD10CMResponse(Entities=icd, ModelVersion="gold"),
        InferRxNorm=InferRxNormResponse(Entities=rx, ModelVersion="gold"),
    )


class GoldEngine:
    """Replays the gold of known documents; unknown text raises ``PermanentEngineError``.

    Args:
        documents: the documents whose gold to replay (looked up by text).
    """

    name = "gold"
    version = "1"

    def __init__(self, documents: Iterable[EvalDocument]) -> None:
        self._by_text = {d.text: d for d in documents}

    def analyze(self, text: str) -> NlpResult:
        doc = self._by_text.get(text)
        if doc is None:
            raise PermanentEngineError("[NLP751] text not in the gold set")
        return result_from_gold(doc)
