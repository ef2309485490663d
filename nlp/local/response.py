"""Mentions -> the three Comprehend Medical responses (ids, traits per operation, concepts)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, TypeVar

from pydantic import BaseModel

from nlp.local.mention import MC, MED, Attr, Mention
from nlp.local.traits import (
    DETECT_TRAITS,
    ICD10CM_TRAITS,
    RXNORM_TRAITS,
    TRAIT_ORDER,
    trait_from_icd10,
)
from nlp.schema import (
    Assertion,
    Attribute,
    CMModel,
    Concept,
    DetectEntitiesV2Response,
    Entity,
    ICD10CMAttribute,
    ICD10CMEntity,
    InferICD10CMResponse,
    InferRxNormResponse,
    NlpResult,
    RxNormAttribute,
    RxNormEntity,
    Trait,
)

_A = TypeVar("_A", Attribute, ICD10CMAttribute, RxNormAttribute)
_NONE: frozenset[str] = frozenset()

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
# Attributes that can change the ICD-10-CM code (laterality, acuity, site); time expressions
# cannot, and passing them would only defeat the linker cache.
LINKER_ATTRIBUTES = frozenset({"ACUITY", "DIRECTION", "SYSTEM_ORGAN_SITE", "QUALITY"})
RX_ATTRIBUTE_TYPES = frozenset(
    {"DOSAGE", "DURATION", "FORM", "FREQUENCY", "RATE", "ROUTE_OR_MODE", "STRENGTH"}
)


class Icd10LinkerLike(Protocol):
    """``nlp.local.linker.Icd10Linker`` as the engine uses it."""

    def link(self, text: str, *, k: int = 5, attributes: Sequence[str] = ()) -> list[Concept]: ...


class RxNormLinkerLike(Protocol):
    """``nlp.local.linker.RxNormLinker`` as the engine uses it."""

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
        self._icd: dict[tuple[str, tuple[str, ...]], list[Concept]] = {}
        self._rx: dict[tuple[str, str | None, str | None, str | None], list[Concept]] = {}

    def icd(self, text: str, attributes: tuple[str, ...]) -> list[Concept]:
        """Up to five ICD-10-CM concepts by descending score."""
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
    ) -> list[Concept]:
        """Up to five RxNorm concepts by descending score."""
        if self.rxnorm is None:
            return []
        key = (text.lower(), strength, form, route)
        got = self._rx.get(key)
        if got is None:
            got = _sorted(self.rxnorm.link(text, strength=strength, form=form, route=route, k=5))
            if len(self._rx) < 100_000:
                self._rx[key] = got
        return got


def _sorted(concepts: list[Concept]) -> list[Concept]:
    """Best five by descending score, re-validated once (cached by :class:`Linking`)."""
    best = sorted(concepts, key=lambda c: (-(c.score or 0.0), c.code))[:5]
    return [Concept.model_validate(c.to_aws()) for c in best]


_ROUNDED: dict[float, float] = {}


def _r4(x: float) -> float:
    """``round(x, 4)``, memoised for floats (scores repeat: 0.95, 0.8, 0.85...)."""
    got = _ROUNDED.get(x)
    if got is None or type(x) is not float:  # an int 1 would find the float 1.0
        got = round(x, 4)
        if type(x) is float and len(_ROUNDED) < 50_000:
            _ROUNDED[x] = got
    return got


def _ids(mentions: Sequence[Mention], attr_filter: frozenset[str] | None) -> dict[Any, int]:
    """Ids by text order over every distinct (span, type) of one response."""
    spans: set[tuple[int, int, str]] = set()
    add = spans.add
    for m in mentions:
        add((m.begin, m.end, m.type))
        for a in m.attributes:
            if attr_filter is None or a.type in attr_filter:
                add((a.begin, a.end, a.type))
    return {s: i for i, s in enumerate(sorted(spans))}


_M = TypeVar("_M", bound=CMModel)


_set = object.__setattr__
_object_new = object.__new__
# pydantic's BaseModel keeps its state in slots: their descriptors set them directly
_set_fields_set = BaseModel.__dict__["__pydantic_fields_set__"].__set__
_set_extra = BaseModel.__dict__["__pydantic_extra__"].__set__
_set_private = BaseModel.__dict__["__pydantic_private__"].__set__
_ALL_FIELDS: dict[type[CMModel], set[str]] = {}


def _new(cls: type[_M], fields: dict[str, Any]) -> _M:
    """``cls.model_construct(**fields)`` without its generic alias/default handling.

    ``fields`` must name every field of ``cls`` (None where unset): the response tests
    round-trip results through validation, which fails if one is missing.
    """
    model = _object_new(cls)
    _set(model, "__dict__", fields)
    every = _ALL_FIELDS.get(cls)
    if every is None:
        every = _ALL_FIELDS[cls] = set(cls.model_fields)
    # one shared set per class when every field is given: assigning a field adds a name that
    # is already there; only assigning an unknown (extra) attribute would grow it
    _set_fields_set(model, every if len(fields) == len(every) else set(fields))
    _set_extra(model, {})
    _set_private(model, None)
    return model


_TRAITS: dict[tuple[str, float], Trait] = {}


_TRAIT_LISTS: dict[tuple[frozenset[str], tuple[tuple[str, float], ...]], list[Trait]] = {}


def _traits(m: Mention, allowed: frozenset[str]) -> list[Trait]:
    """Trait models, shared between responses (never mutated; at most a few dozen exist).

    The list itself is new for every entity; its contents are cached per (allowed traits,
    mention traits), which repeat across mentions.
    """
    if not m.traits:
        return []
    key = (allowed, tuple(m.traits.items()))
    got = _TRAIT_LISTS.get(key)
    if got is None:
        got = _trait_list(m, allowed)
        if len(_TRAIT_LISTS) < 10_000:
            _TRAIT_LISTS[key] = got
    return list(got)


def _trait_list(m: Mention, allowed: frozenset[str]) -> list[Trait]:
    out = []
    for t in TRAIT_ORDER:
        score = m.traits.get(t)
        if score is None or t not in allowed:
            continue
        key = (t, round(score, 4))
        trait = _TRAITS.get(key)
        if trait is None:
            trait = _TRAITS.setdefault(key, _new(Trait, {"name": t, "score": key[1]}))
        out.append(trait)
    return out


def _attr(cls: type[_A], a: Attr, text: str, ident: int, *, with_category: bool) -> _A:
    fields: dict[str, Any] = {
        "type": a.type,
        "score": _r4(a.score),
        "relationship_score": _r4(a.relationship_score),
        "id": ident,
        "begin_offset": a.begin,
        "end_offset": a.end,
        "text": text[a.begin : a.end],
        "traits": [],
    }
    if cls is not RxNormAttribute:
        fields["category"] = a.category if with_category else None
        fields["relationship_type"] = a.relationship if with_category else None
    return _new(cls, fields)


def _by_offset(attrs: list[Attr]) -> list[Attr]:
    return sorted(attrs, key=_attr_order) if len(attrs) > 1 else attrs


def _attr_order(a: Attr) -> tuple[int, int]:
    return (a.begin, a.end)


_DSS = frozenset({"DIAGNOSIS", "SIGN", "SYMPTOM"})


def build_result(text: str, mentions: list[Mention], linking: Linking, version: str) -> NlpResult:
    """The three responses for ``text``; DIAGNOSIS/SIGN/SYMPTOM fall back on the ICD chapter.

    Models are built like ``model_construct`` (see :func:`_new`) from values typed by
    construction here (concepts are validated once per linker answer and cached): validating
    ~500 nested objects per note cost more than the whole annotation.
    ``tests/unit/test_local_engine.py`` round-trips results through
    ``NlpResult.model_validate`` to prove the shape.
    """
    conditions = [m for m in mentions if m.category == MC]
    meds = [m for m in mentions if m.category == MED]
    icd_concepts: list[list[Concept]] = []
    for m in conditions:
        attr_texts = (
            tuple(
                text[a.begin : a.end].lower() for a in m.attributes if a.type in LINKER_ATTRIBUTES
            )
            if m.attributes
            else ()
        )
        concepts = linking.icd(m.link or text[m.begin : m.end], attr_texts)
        icd_concepts.append(concepts)
        if _DSS.isdisjoint(m.traits):
            t = trait_from_icd10(concepts[0].code if concepts else m.code)
            if t:
                m.traits[t] = 0.6
    ids = _ids(mentions, None)
    entities = []
    for m in mentions:
        attrs = m.attributes
        entities.append(
            _new(
                Entity,
                {
                    "id": ids[(m.begin, m.end, m.type)],
                    "begin_offset": m.begin,
                    "end_offset": m.end,
                    "score": _r4(m.score),
                    "text": text[m.begin : m.end],
                    "category": m.category,
                    "type": m.type,
                    "traits": _traits(m, DETECT_TRAITS.get(m.category, _NONE)),
                    "attributes": [
                        _attr(Attribute, a, text, ids[(a.begin, a.end, a.type)], with_category=True)
                        for a in (sorted(attrs, key=_attr_order) if len(attrs) > 1 else attrs)
                    ],
                },
            )
        )
    icd_ids = _ids(conditions, ICD_ATTRIBUTE_TYPES)
    icd_entities = [
        _new(
            ICD10CMEntity,
            {
                "id": icd_ids[(m.begin, m.end, m.type)],
                "text": text[m.begin : m.end],
                "category": MC,
                "type": "DX_NAME",
                "score": _r4(m.score),
                "begin_offset": m.begin,
                "end_offset": m.end,
                "attributes": [
                    _attr(
                        ICD10CMAttribute,
                        a,
                        text,
                        icd_ids[(a.begin, a.end, a.type)],
                        with_category=a.category == "TIME_EXPRESSION",
                    )
                    for a in _by_offset([a for a in m.attributes if a.type in ICD_ATTRIBUTE_TYPES])
                ]
                if m.attributes
                else [],
                "traits": _traits(m, ICD10CM_TRAITS),
                "concepts": list(concepts),
            },
        )
        for m, concepts in zip(conditions, icd_concepts, strict=True)
    ]
    rx_ids = _ids(meds, RX_ATTRIBUTE_TYPES)
    rx_entities = []
    for m in meds:
        attrs = (
            _by_offset([a for a in m.attributes if a.type in RX_ATTRIBUTE_TYPES])
            if m.attributes
            else []
        )
        first = {a.type: text[a.begin : a.end] for a in reversed(attrs)} if attrs else {}
        concepts = linking.rx(
            m.link or text[m.begin : m.end],
            first.get("STRENGTH") or first.get("DOSAGE"),
            first.get("FORM"),
            first.get("ROUTE_OR_MODE"),
        )
        rx_entities.append(
            _new(
                RxNormEntity,
                {
                    "id": rx_ids[(m.begin, m.end, m.type)],
                    "text": text[m.begin : m.end],
                    "category": MED,
                    "type": m.type,
                    "score": _r4(m.score),
                    "begin_offset": m.begin,
                    "end_offset": m.end,
                    "attributes": [
                        _attr(
                            RxNormAttribute,
                            a,
                            text,
                            rx_ids[(a.begin, a.end, a.type)],
                            with_category=False,
                        )
                        for a in attrs
                    ],
                    "traits": _traits(m, RXNORM_TRAITS),
                    "concepts": list(concepts),
                },
            )
        )
    responses = (
        (DetectEntitiesV2Response, {"entities": entities, "unmapped_attributes": []}),
        (InferICD10CMResponse, {"entities": icd_entities}),
        (InferRxNormResponse, {"entities": rx_entities}),
    )
    built = [
        _new(cls, {**fields, "pagination_token": None, "model_version": version})
        for cls, fields in responses
    ]
    return _new(
        NlpResult,
        {
            "detect_entities": built[0],
            "icd10cm": built[1],
            "rxnorm": built[2],
            "assertions": _assertions(mentions),
        },
    )


def _assertions(mentions: Sequence[Mention]) -> list[Assertion] | None:
    """What the mentions say beyond Comprehend's traits (``nlp.schema.Assertion``), or None."""
    out: list[Assertion] = []
    for m in mentions:
        if m.status is None and m.role is None:
            continue
        related = m.related or (None, None)
        out.append(
            _new(
                Assertion,
                {
                    "begin_offset": m.begin,
                    "end_offset": m.end,
                    "category": m.category,
                    "type": m.type,
                    "status": m.status,
                    "role": m.role,
                    "related_begin_offset": related[0],
                    "related_end_offset": related[1],
                    "substance_category": m.substance,
                },
            )
        )
    return out or None
