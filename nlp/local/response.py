"""Mentions -> the three Comprehend Medical responses (ids, traits per operation, concepts)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from nlp.local.annotate import MC, MED, Attr, Mention
from nlp.local.traits import (
    DETECT_TRAITS,
    ICD10CM_TRAITS,
    RXNORM_TRAITS,
    TRAIT_ORDER,
    trait_from_icd10,
)
from nlp.schema import Concept, NlpResult

ICD_ATTRIBUTE_TYPES = frozenset(
    {
        "ACUITY",
        "DIRECTION",
        "SYSTEM_ORGAN_SITE",
        "QUALITY",
        "QUANTITY",
        "TIME_TO_DX_NAME",
        "TIME_EXPRESSION",
    }
)
RX_ATTRIBUTE_TYPES = frozenset(
    {"DOSAGE", "DURATION", "FORM", "FREQUENCY", "RATE", "ROUTE_OR_MODE", "STRENGTH"}
)


class Icd10LinkerLike(Protocol):
    """``models.linker.Icd10Linker`` as the engine uses it."""

    def link(self, text: str, *, k: int = 5, attributes: Sequence[str] = ()) -> list[Concept]: ...


class RxNormLinkerLike(Protocol):
    """``models.linker.RxNormLinker`` as the engine uses it."""

    def link(
        self,
        text: str,
        *,
        strength: str | None = None,
        form: str | None = None,
        route: str | None = None,
        k: int = 5,
    ) -> list[Concept]: ...


class Linking:
    """Linkers with a per-engine cache (same text and attributes -> same concepts).

    Args:
        icd10: The ICD-10-CM linker, or None (no ICD10CMConcepts).
        rxnorm: The RxNorm linker, or None (no RxNormConcepts).
    """

    def __init__(self, icd10: Icd10LinkerLike | None, rxnorm: RxNormLinkerLike | None) -> None:
        self.icd10 = icd10
        self.rxnorm = rxnorm
        self._icd: dict[tuple[str, tuple[str, ...]], list[dict[str, Any]]] = {}
        self._rx: dict[tuple[str, str | None, str | None, str | None], list[dict[str, Any]]] = {}

    def icd(self, text: str, attributes: tuple[str, ...]) -> list[dict[str, Any]]:
        """Up to five ICD-10-CM concepts by descending score, as wire dicts."""
        if self.icd10 is None:
            return []
        key = (text.lower(), attributes)
        got = self._icd.get(key)
        if got is None:
            got = _sorted(self.icd10.link(text, k=5, attributes=attributes))
            if len(self._icd) < 100_000:
                self._icd[key] = got
        return got

    def rx(
        self, text: str, strength: str | None, form: str | None, route: str | None
    ) -> list[dict[str, Any]]:
        """Up to five RxNorm concepts by descending score, as wire dicts."""
        if self.rxnorm is None:
            return []
        key = (text.lower(), strength, form, route)
        got = self._rx.get(key)
        if got is None:
            got = _sorted(self.rxnorm.link(text, strength=strength, form=form, route=route, k=5))
            if len(self._rx) < 100_000:
                self._rx[key] = got
        return got


def _sorted(concepts: list[Concept]) -> list[dict[str, Any]]:
    best = sorted(concepts, key=lambda c: (-(c.score or 0.0), c.code))[:5]
    return [{"Description": c.description, "Code": c.code, "Score": c.score} for c in best]


def _round(x: float) -> float:
    return round(float(x), 4)


class _Ids:
    """Ids by text order over every distinct (span, type) of one response."""

    def __init__(self, mentions: Sequence[Mention], attr_filter: frozenset[str] | None) -> None:
        spans: set[tuple[int, int, str]] = set()
        for m in mentions:
            spans.add((m.begin, m.end, m.type))
            for a in m.attributes:
                if attr_filter is None or a.type in attr_filter:
                    spans.add((a.begin, a.end, a.type))
        self._ids = {s: i for i, s in enumerate(sorted(spans))}

    def __call__(self, begin: int, end: int, typ: str) -> int:
        return self._ids[(begin, end, typ)]


def _traits(m: Mention, allowed: frozenset[str]) -> list[dict[str, Any]]:
    return [
        {"Name": t, "Score": _round(m.traits[t])}
        for t in TRAIT_ORDER
        if t in m.traits and t in allowed
    ]


def _attr(a: Attr, text: str, ident: int, *, with_category: bool) -> dict[str, Any]:
    d: dict[str, Any] = {
        "Type": a.type,
        "Score": _round(a.score),
        "RelationshipScore": _round(a.relationship_score),
    }
    if with_category and a.relationship:
        d["RelationshipType"] = a.relationship
    d.update(
        {"Id": ident, "BeginOffset": a.begin, "EndOffset": a.end, "Text": text[a.begin : a.end]}
    )
    if with_category:
        d["Category"] = a.category
    d["Traits"] = []
    return d


def build_result(text: str, mentions: list[Mention], linking: Linking, version: str) -> NlpResult:
    """The three responses for ``text``; DIAGNOSIS/SIGN/SYMPTOM fall back on the ICD chapter."""
    conditions = [m for m in mentions if m.category == MC]
    meds = [m for m in mentions if m.category == MED]
    icd_concepts: list[list[dict[str, Any]]] = []
    for m in conditions:
        attr_texts = tuple(
            text[a.begin : a.end] for a in m.attributes if a.type in ICD_ATTRIBUTE_TYPES
        )
        concepts = linking.icd(m.link or text[m.begin : m.end], attr_texts)
        icd_concepts.append(concepts)
        if not ({"DIAGNOSIS", "SIGN", "SYMPTOM"} & m.traits.keys()):
            t = trait_from_icd10(concepts[0]["Code"] if concepts else m.code)
            if t:
                m.traits[t] = 0.6
    entities: list[dict[str, Any]] = []
    ids = _Ids(mentions, None)
    for m in mentions:
        ordered = (
            sorted(m.attributes, key=lambda a: (a.begin, a.end))
            if len(m.attributes) > 1
            else m.attributes
        )
        allowed = DETECT_TRAITS.get(m.category, frozenset())
        entities.append(
            {
                "Id": ids(m.begin, m.end, m.type),
                "BeginOffset": m.begin,
                "EndOffset": m.end,
                "Score": _round(m.score),
                "Text": text[m.begin : m.end],
                "Category": m.category,
                "Type": m.type,
                "Traits": _traits(m, allowed),
                "Attributes": [
                    _attr(a, text, ids(a.begin, a.end, a.type), with_category=True) for a in ordered
                ],
            }
        )
    icd_ids = _Ids(conditions, ICD_ATTRIBUTE_TYPES)
    icd_entities = []
    for m, concepts in zip(conditions, icd_concepts, strict=True):
        attrs = sorted(
            (a for a in m.attributes if a.type in ICD_ATTRIBUTE_TYPES), key=lambda a: a.begin
        )
        icd_entities.append(
            {
                "Id": icd_ids(m.begin, m.end, m.type),
                "Text": text[m.begin : m.end],
                "Category": MC,
                "Type": "DX_NAME",
                "Score": _round(m.score),
                "BeginOffset": m.begin,
                "EndOffset": m.end,
                "Attributes": [
                    _attr(
                        a,
                        text,
                        icd_ids(a.begin, a.end, a.type),
                        with_category=a.category == "TIME_EXPRESSION",
                    )
                    for a in attrs
                ],
                "Traits": _traits(m, ICD10CM_TRAITS),
                "ICD10CMConcepts": concepts,
            }
        )
    rx_ids = _Ids(meds, RX_ATTRIBUTE_TYPES)
    rx_entities = []
    for m in meds:
        attrs = sorted(
            (a for a in m.attributes if a.type in RX_ATTRIBUTE_TYPES), key=lambda a: a.begin
        )
        first = {a.type: text[a.begin : a.end] for a in reversed(attrs)}
        concepts = linking.rx(
            m.link or text[m.begin : m.end],
            first.get("STRENGTH") or first.get("DOSAGE"),
            first.get("FORM"),
            first.get("ROUTE_OR_MODE"),
        )
        rx_entities.append(
            {
                "Id": rx_ids(m.begin, m.end, m.type),
                "Text": text[m.begin : m.end],
                "Category": MED,
                "Type": m.type,
                "Score": _round(m.score),
                "BeginOffset": m.begin,
                "EndOffset": m.end,
                "Attributes": [
                    _attr(a, text, rx_ids(a.begin, a.end, a.type), with_category=False)
                    for a in attrs
                ],
                "Traits": _traits(m, RXNORM_TRAITS),
                "RxNormConcepts": concepts,
            }
        )
    return NlpResult.model_validate(
        {
            "DetectEntitiesV2": {
                "Entities": entities,
                "UnmappedAttributes": [],
                "ModelVersion": version,
            },
            "InferICD10CM": {"Entities": icd_entities, "ModelVersion": version},
            "InferRxNorm": {"Entities": rx_entities, "ModelVersion": version},
        }
    )
