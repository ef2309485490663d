"""A fast, deterministic keyword engine for batch tests and benchmarks (no model, no AWS).

Select it with ``--engine python:tests.batch.fake_engine:make_engine[:VERSION]``. It answers in
Comprehend Medical's shape; a note containing ``TRANSIENT-FAIL`` raises a transient error and
``PERMANENT-FAIL`` a permanent one, ``CRASH-WORKER`` ends the process (a dying worker).
"""

from __future__ import annotations

import os
import re

from nlp.base import PermanentEngineError, TransientEngineError
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

# term -> (category, type, trait, ICD-10-CM code or None, RxNorm code or None, description)
TERMS: dict[str, tuple[str, str, str | None, str | None, str | None, str]] = {
    "headache": ("MEDICAL_CONDITION", "DX_NAME", "SYMPTOM", "R51.9", None, "Headache"),
    "hypertension": ("MEDICAL_CONDITION", "DX_NAME", "DIAGNOSIS", "I10", None, "Hypertension"),
    "pneumonia": ("MEDICAL_CONDITION", "DX_NAME", "DIAGNOSIS", "J18.9", None, "Pneumonia"),
    "aspirin": ("MEDICATION", "GENERIC_NAME", None, None, "1191", "aspirin"),
    "metformin": ("MEDICATION", "GENERIC_NAME", None, None, "6809", "metformin"),
}  # fmt: skip
_PATTERN = re.compile(r"\b(" + "|".join(TERMS) + r")\b", re.IGNORECASE)


class KeywordEngine:
    """Finds the words of :data:`TERMS` and reports them as Comprehend Medical would."""

    name = "fake-keyword"

    def __init__(self, version: str = "1.0") -> None:
        self.version = version

    def analyze(self, text: str) -> NlpResult:
        if "TRANSIENT-FAIL" in text:
            raise TransientEngineError("throttled (test)", code="NLP111")
        if "CRASH-WORKER" in text:
            os._exit(13)
        if "PERMANENT-FAIL" in text:
            raise PermanentEngineError("rejected (test)", code="NLP121")
        entities: list[Entity] = []
        icd: list[ICD10CMEntity] = []
        rx: list[RxNormEntity] = []
        for n, match in enumerate(_PATTERN.finditer(text)):
            category, etype, trait, icd_code, rx_code, desc = TERMS[match.group(1).lower()]
            traits = [Trait(Name=trait, Score=0.9)] if trait else []
            span = {"Id": n, "BeginOffset": match.start(), "EndOffset": match.end()}
            common = {**span, "Score": 0.95, "Text": match.group(0), "Category": category}
            entities.append(Entity(**common, Type=etype, Traits=traits, Attributes=[]))
            if icd_code:
                concept = Concept(Description=desc, Code=icd_code, Score=0.8)
                icd.append(
                    ICD10CMEntity(**common, Type=etype, Traits=traits, ICD10CMConcepts=[concept])
                )
            if rx_code:
                concept = Concept(Description=desc, Code=rx_code, Score=0.8)
                rx.append(RxNormEntity(**common, Type=etype, Traits=[], RxNormConcepts=[concept]))
        return NlpResult(
            DetectEntitiesV2=DetectEntitiesV2Response(
                Entities=entities, UnmappedAttributes=[], ModelVersion=self.version
            ),
            InferICD10CM=InferICD10CMResponse(Entities=icd, ModelVersion=self.version),
            InferRxNorm=InferRxNormResponse(Entities=rx, ModelVersion=self.version),
        )


def make_engine(version: str = "1.0") -> KeywordEngine:
    """Factory used by the ``python:`` engine spec."""
    return KeywordEngine(version)


SPEC = "python:tests.batch.fake_engine:make_engine"
