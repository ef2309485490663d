"""The fast enrichment paths agree with the reference ones (index rows, counts, Java strings)."""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import BaseModel

from enrich import EnrichmentPolicy, enrich_document
from enrich.core import _count_nested
from enrich.extensions import (
    _ICD10_URLS,
    _cacheable,
    _concept_piece,
    _count_flat,
    aws_cm_extension,
    aws_cm_extension_counted,
    count_nested,
    find_extension,
    hl_decimal,
    read_index_rows,
)
from enrich.index import IndexRow
from enrich.policy import PROFILES
from enrich.rawresponse import _java_float, _members, java_float, to_java_string
from enrich.urls import AWS_CM
from nlp.schema import (
    Attribute,
    Concept,
    Entity,
    ICD10CMEntity,
    InferICD10CMResponse,
    NlpResult,
    Trait,
    UnmappedAttribute,
)
from tests.golden import enrich_sample, sample_names

CASES = [(name, profile) for name in sample_names() for profile in PROFILES]


def _same_rows(built: list[IndexRow], read: list[IndexRow]) -> None:
    assert built == read
    for a, b in zip(built, read, strict=True):
        assert a.__dict__ == b.__dict__
        assert list(a.__dict__) == list(b.__dict__)
        assert a.model_fields_set == b.model_fields_set
        assert a.__pydantic_extra__ == b.__pydantic_extra__
        assert a.__pydantic_private__ == b.__pydantic_private__
        assert a.model_dump() == b.model_dump()
        assert IndexRow.model_validate(a.model_dump()) == a


@pytest.mark.parametrize(("name", "profile"), CASES)
def test_index_rows_are_those_read_back_from_the_tree(name: str, profile: str) -> None:
    enrichment = enrich_sample(name, profile)
    _same_rows(enrichment.index_rows, read_index_rows(enrichment.document))


def _maybe(rng: random.Random, value: Any, p: float = 0.2) -> Any:
    return None if rng.random() < p else value


def _score(rng: random.Random) -> float | None:
    return _maybe(rng, rng.choice([rng.random(), 1.0, 0.0, 1e-5, 0.5, rng.random() * 1e-4]))


def _traits(rng: random.Random) -> list[dict[str, Any]] | None:
    if rng.random() < 0.3:
        return _maybe(rng, [], 0.5)
    names = ["NEGATION", "SIGN", "SYMPTOM", "DIAGNOSIS", "PAST_HISTORY", ""]
    return [{"Name": rng.choice(names), "Score": _score(rng)} for _ in range(rng.randint(1, 3))]


def _entity(rng: random.Random, i: int, concepts_key: str | None) -> dict[str, Any]:
    if rng.random() < 0.05:
        return {}  # every field missing: no element, no row, no index
    begin = rng.randint(0, 500)
    entity: dict[str, Any] = {
        "Id": _maybe(rng, i),
        "BeginOffset": _maybe(rng, begin),
        "EndOffset": _maybe(rng, begin + rng.randint(1, 20)),
        "Score": _score(rng),
        "Text": _maybe(rng, rng.choice(["otite", "Ménière", "", "aspirin 81 mg"])),
        "Category": _maybe(rng, "MEDICAL_CONDITION"),
        "Type": _maybe(rng, "DX_NAME"),
        "Traits": _traits(rng),
    }
    if concepts_key is not None:
        concepts = [
            {
                "Code": rng.choice(["H66.90", "1191", ""]),
                "Description": _maybe(rng, rng.choice(["Otitis media", "Aspirin", ""])),
                "Score": _score(rng),
            }
            for _ in range(rng.randint(0, 4))
        ]
        entity[concepts_key] = _maybe(rng, concepts)
    return {k: v for k, v in entity.items() if v is not None}


def _random_result(rng: random.Random) -> NlpResult:
    def response(concepts_key: str | None) -> dict[str, Any] | None:
        entities = [_entity(rng, i, concepts_key) for i in range(rng.randint(0, 25))]
        return _maybe(rng, {"Entities": entities, "ModelVersion": _maybe(rng, "1.0")}, 0.1)

    raw = {
        "DetectEntitiesV2": response(None),
        "InferICD10CM": response("ICD10CMConcepts"),
        "InferRxNorm": response("RxNormConcepts"),
    }
    return NlpResult.model_validate({k: v for k, v in raw.items() if v is not None})


def _document() -> dict[str, Any]:
    return {
        "resourceType": "DocumentReference",
        "id": "fast-1",
        "status": "current",
        "subject": {"reference": "Patient/p1"},
        "content": [{"attachment": {"contentType": "text/plain", "data": "aGVsbG8="}}],
    }


@pytest.mark.parametrize("seed", range(40))
def test_rows_and_counts_of_random_results(seed: int) -> None:
    rng = random.Random(seed)
    result = _random_result(rng)
    rows: list[IndexRow] = []
    tree = aws_cm_extension(result, "SUCCESS", "ok", rows)
    _same_rows(rows, read_index_rows({"extension": [tree]}))
    assert count_nested(tree) == _count_flat(tree)
    for profile in PROFILES:
        limit = rng.choice([None, 10_000, 50])
        enrichment = enrich_document(
            _document(),
            result,
            policy=EnrichmentPolicy(profile=profile, max_nested_objects=limit),
            now=datetime(2024, 1, 2, tzinfo=UTC),
            engine_name="e",
            engine_version="1",
        )
        _same_rows(enrichment.index_rows, read_index_rows(enrichment.document))
        assert count_nested(enrichment.document) == _count_flat(enrichment.document)


def test_validation_error_leaves_no_rows() -> None:
    result = _random_result(random.Random(3))
    enrichment = enrich_document(
        _document(),
        result,
        policy=EnrichmentPolicy(max_nested_objects=5),
        now=datetime(2024, 1, 2, tzinfo=UTC),
        engine_name="e",
        engine_version="1",
    )
    assert enrichment.status == "VALIDATION_ERROR"
    assert enrichment.index_rows == [] == read_index_rows(enrichment.document)


def test_count_nested_of_deep_and_odd_values() -> None:
    deep: Any = []
    for _ in range(3000):  # deeper than the recursion bound
        deep = [deep, {"a": 1}]
    assert count_nested(deep) == _count_flat(deep) == 6001
    assert count_nested("text") == 0 == _count_flat("text")
    assert count_nested({}) == 1


class _FloatLike(float):
    pass


def test_java_float_cache_keeps_signed_zero_nan_and_types() -> None:
    for x in (0.9815993905067444, 1.0, 1e-5, 12345678.0, 0.5, 3, True):
        assert java_float(x) == _java_float(x) == java_float(x)
    assert java_float(-0.0) == "-0.0"
    assert java_float(0.0) == "0.0"
    assert java_float(float("nan")) == "NaN"
    assert java_float(-math.inf) == "-Infinity"
    assert hl_decimal(0.9815993905067444) == 0.9815994 == hl_decimal(0.9815993905067444)
    assert math.copysign(1.0, hl_decimal(-0.0)) < 0


def test_java_float_of_doubles_beyond_float32_is_javas_cast() -> None:
    # Java's (float) cast: past float32's range (after rounding) is infinite, never an error
    assert java_float(1e39) == "Infinity"
    assert java_float(-1e39) == "-Infinity"
    assert java_float(1.7976931348623157e308) == "Infinity"
    assert java_float(3.4028235e38) == "3.4028235E38"  # rounds down to the largest float32
    trait = Trait(Name="SIGN", Score=1e39)
    assert to_java_string(trait) == "{Name: SIGN,Score: Infinity}"


def test_to_java_string_of_subclassed_and_extra_values() -> None:
    trait = Trait(Name="SIGN", Score=_FloatLike(0.5), Extra="ignored")
    assert to_java_string(trait) == "{Name: SIGN,Score: 0.5}"
    assert to_java_string(Trait(Name="NEGATION")) == "{Name: NEGATION,}"


def _walked(value: object) -> str:
    """The reference ``toString()``: the members walked one by one, dispatched on the runtime
    type of each value (the generated writers must give the same text for any value)."""
    if isinstance(value, BaseModel):
        parts = ["{"]
        for name, label, comma in _members(type(value)):
            member = value.__dict__[name]
            if member is not None:
                parts += [label, _walked(member), "," if comma else ""]
        return "".join(parts) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_walked(v) for v in value) + "]"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return java_float(value)
    return str(value)


@pytest.mark.parametrize("seed", range(40))
def test_generated_writers_match_the_member_walk(seed: int) -> None:
    result = _random_result(random.Random(2000 + seed))
    for response in (result.detect_entities, result.icd10cm, result.rxnorm):
        if response is not None:
            assert to_java_string(response) == _walked(response)


class _SubTrait(Trait):
    pass


def test_generated_writers_take_values_of_other_runtime_types() -> None:
    # model_construct skips validation: ints in float members, floats in int members, bools,
    # subclassed models and lists where a model is declared all print as their runtime type
    unnamed: dict[str, Any] = {"name": None, "score": -0.0}
    values: dict[str, Any] = {
        "id": 1.5,
        "score": 2,
        "text": 7,
        "category": True,
        "traits": [_SubTrait(Name="SIGN", Score=0.25), Trait.model_construct(**unnamed)],
        "attributes": (Attribute(Type="DOSAGE"),),
    }
    odd = Entity.model_construct(**values)
    text = to_java_string(odd)
    assert text == _walked(odd)
    assert text.startswith("{Id: 1.5,Score: 2,Text: 7,Category: true,Traits: [{Name: SIGN,")
    listed: dict[str, Any] = {"type": "X", "attribute": [Attribute(Id=3)]}
    unmapped = UnmappedAttribute.model_construct(**listed)
    assert to_java_string(unmapped) == _walked(unmapped) == "{Type: X,Attribute: [{Id: 3,}]}"
    nan: dict[str, Any] = {"Name": "N", "Score": float("nan")}
    assert to_java_string(Trait(**nan)) == "{Name: N,Score: NaN}"


@pytest.mark.parametrize("seed", range(40))
def test_counted_tree_matches_count_nested(seed: int) -> None:
    rng = random.Random(1000 + seed)
    result = _random_result(rng)
    for status in ("SUCCESS", "VALIDATION_ERROR"):
        tree, nodes = aws_cm_extension_counted(result, status, "m")
        assert nodes == count_nested(tree)
        assert tree == aws_cm_extension(result, status, "m")


@pytest.mark.parametrize(("name", "profile"), CASES)
def test_nested_count_of_samples(name: str, profile: str) -> None:
    document = enrich_sample(name, profile).document
    tree = document["extension"].index(find_extension(document, AWS_CM))
    assert _count_nested(document, tree, count_nested(document["extension"][tree])) == (
        count_nested(document)
    )


def _concept_scores(tree: dict[str, Any]) -> list[object]:
    return [
        part["valueDecimal"]
        for branch in tree["extension"]
        for entity in branch.get("extension", [])
        for child in entity.get("extension", [])
        if child["url"].endswith("-ConceptList")
        for concept in child["extension"]
        for part in concept["extension"]
        if "valueDecimal" in part
    ]


def test_cached_tree_pieces_keep_signed_zero_and_value_types() -> None:
    """Concept and trait elements are shared between trees; values that compare equal but are
    written differently (0.0 / -0.0, 1 / 1.0) never share one."""
    import json

    def tree_of(score: Any) -> dict[str, Any]:
        concept = {"Code": "H66.90", "Description": "Otitis media", "Score": score}
        entity = {"Id": 0, "Text": "otite", "ICD10CMConcepts": [concept]}
        trait = {"Name": "SIGN", "Score": score}
        result = NlpResult.model_validate(
            {
                "InferICD10CM": {"Entities": [entity]},
                "DetectEntitiesV2": {"Entities": [{"Id": 1, "Traits": [trait]}]},
            }
        )
        rows: list[IndexRow] = []
        tree = aws_cm_extension(result, "SUCCESS", "ok", rows)
        _same_rows(rows, read_index_rows({"extension": [tree]}))
        return tree

    for _ in range(2):  # first built, then (when cached) shared
        positive, negative = json.dumps(tree_of(0.0)), json.dumps(tree_of(-0.0))
        assert '"valueDecimal": -0.0' in negative
        assert '"valueDecimal": -0.0' not in positive
        assert positive == negative.replace("-0.0", "0.0")
    assert _concept_scores(tree_of(0.5)) == [0.5]
    again = tree_of(0.5)  # the same concept element, shared by both trees
    assert again == tree_of(0.5)

    def concept_list(tree: dict[str, Any]) -> str:
        icd = next(b for b in tree["extension"] if b["url"].endswith("/infer-icd10/"))
        return json.dumps(icd["extension"][-1]["extension"][-1])

    cached = concept_list(tree_of(1.0))
    # an unvalidated int score equals the cached 1.0: the piece is the same text
    concept = Concept.model_construct(code="H66.90", description="Otitis media", score=1)
    result = NlpResult.model_validate(
        {"DetectEntitiesV2": {"Entities": [{"Id": 1, "Traits": [{"Name": "SIGN", "Score": 1.0}]}]}}
    )
    entity = ICD10CMEntity.model_construct(id=0, text="otite", concepts=[concept])
    result.icd10cm = InferICD10CMResponse.model_construct(entities=[entity])
    assert concept_list(aws_cm_extension(result, "SUCCESS", "ok")) == cached
    assert '"valueDecimal": 1.0' in cached
    element = _concept_piece(_ICD10_URLS, "H66.90", "Otitis media", 1)[0]  # not cached: int
    assert element["extension"][2] == {"url": _ICD10_URLS.concept_score, "valueDecimal": 1.0}
    assert not _cacheable(("u", "H66.90", None, 1))
    assert not _cacheable(("u", "H66.90", None, -0.0))
    assert not _cacheable(("u", "H66.90", None, float("nan")))
    assert not _cacheable(("u", 1, None, 0.5))
    assert _cacheable(("u", "H66.90", None, 0.25))
    assert _cacheable(("u", None, None))
