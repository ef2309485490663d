"""raw-response: Java SDK v1 toString() and Float.toString reproduced exactly (spec §1.6)."""

from __future__ import annotations

import struct

import pytest

from enrich.rawresponse import java_decimal, java_float, to_java_string
from nlp.schema import (
    DetectEntitiesV2Response,
    ICD10CMAttribute,
    InferICD10CMResponse,
    InferRxNormResponse,
    Trait,
)

# The seed's raw-response (S1 4299-4324), PDF line wraps joined.
SEED_RAW = (
    "{Entities: [{Id: 0,Text: otitis media,Category: MEDICAL_CONDITION,Type: DX_NAME,"
    "Score: 0.9815994,BeginOffset: 151,EndOffset: 163,Attributes: [],Traits: [{Name: DIAGNOSIS,"
    "Score: 0.95042425}],ICD10CMConcepts: [{Description: Otitis media, unspecified, unspecified "
    "ear,Code: H66.90,Score: 0.7176407}, {Description: Otitis media, unspecified,Code: H66.9,"
    "Score: 0.6930445}, {Description: Otitis media, unspecified, left ear,Code: H66.92,Score: "
    "0.688161}, {Description: Otitis media, unspecified, bilateral,Code: H66.93,Score: "
    "0.6748094}, {Description: Otitis media, unspecified, right ear,Code: H66.91,Score: "
    "0.6645618}]}, {Id: 1,Text: streptococcal sore throat,Category: MEDICAL_CONDITION,Type: "
    "DX_NAME,Score: 0.92208487,BeginOffset: 461,EndOffset: 486,Attributes: [],Traits: [],"
    "ICD10CMConcepts: [{Description: Streptococcal pharyngitis,Code: J02.0,Score: 0.55638546}, "
    "{Description: Acute streptococcal tonsillitis, unspecified,Code: J03.00,Score: 0.53159785}, "
    "{Description: Streptococcal sepsis, unspecified,Code: A40.9,Score: 0.51865804}, "
    "{Description: Acute pharyngitis, unspecified,Code: J02.9,Score: 0.45085955}, {Description: "
    "Streptococcal infection, unspecified site,Code: A49.1,Score: 0.41550553}]}, {Id: 3,Text: "
    "disorder,Category: MEDICAL_CONDITION,Type: DX_NAME,Score: 0.9191257,BeginOffset: 488,"
    "EndOffset: 496,Attributes: [],Traits: [{Name: DIAGNOSIS,Score: 0.93372077}],"
    "ICD10CMConcepts: [{Description: Parkinson's disease,Code: G20,Score: 0.6959145}, "
    "{Description: Illness, unspecified,Code: R69,Score: 0.68428487}, {Description: Disorder of "
    "bone, unspecified,Code: M89.9,Score: 0.6542605}, {Description: Unspecified mental disorder "
    "due to known physiological condition,Code: F09,Score: 0.6240179}, {Description: Mental "
    "disorder, not otherwise specified,Code: F99,Score: 0.61046}]}],ModelVersion: 0.1.0}"
)


def _f32(x: float) -> float:
    value: float = struct.unpack("<f", struct.pack("<f", x))[0]
    return value


def _concept(desc: str, code: str, score: float) -> dict[str, object]:
    return {"Description": desc, "Code": code, "Score": _f32(score)}


def _entity(
    id_: int,
    text: str,
    score_span: tuple[float, int, int],
    traits: list[dict[str, object]],
    concepts: list[dict[str, object]],
) -> dict[str, object]:
    score, begin, end = score_span
    return {
        "Id": id_,
        "Text": text,
        "Category": "MEDICAL_CONDITION",
        "Type": "DX_NAME",
        "Score": _f32(score),
        "BeginOffset": begin,
        "EndOffset": end,
        "Attributes": [],
        "Traits": traits,
        "ICD10CMConcepts": concepts,
    }


def seed_boto3_response() -> dict[str, object]:
    """The InferICD10CM response behind the seed's raw-response, as boto3 returns it.

    Scores are the float32 values widened to doubles (e.g. 0.9815993905067444), as boto3 parses
    them, plus the ResponseMetadata that the Java string never shows.
    """
    return {
        "Entities": [
            _entity(
                0,
                "otitis media",
                (0.9815994, 151, 163),
                [{"Name": "DIAGNOSIS", "Score": _f32(0.95042425)}],
                [
                    _concept("Otitis media, unspecified, unspecified ear", "H66.90", 0.7176407),
                    _concept("Otitis media, unspecified", "H66.9", 0.6930445),
                    _concept("Otitis media, unspecified, left ear", "H66.92", 0.688161),
                    _concept("Otitis media, unspecified, bilateral", "H66.93", 0.6748094),
                    _concept("Otitis media, unspecified, right ear", "H66.91", 0.6645618),
                ],
            ),
            _entity(
                1,
                "streptococcal sore throat",
                (0.92208487, 461, 486),
                [],
                [
                    _concept("Streptococcal pharyngitis", "J02.0", 0.55638546),
                    _concept("Acute streptococcal tonsillitis, unspecified", "J03.00", 0.53159785),
                    _concept("Streptococcal sepsis, unspecified", "A40.9", 0.51865804),
                    _concept("Acute pharyngitis, unspecified", "J02.9", 0.45085955),
                    _concept("Streptococcal infection, unspecified site", "A49.1", 0.41550553),
                ],
            ),
            _entity(
                3,
                "disorder",
                (0.9191257, 488, 496),
                [{"Name": "DIAGNOSIS", "Score": _f32(0.93372077)}],
                [
                    _concept("Parkinson's disease", "G20", 0.6959145),
                    _concept("Illness, unspecified", "R69", 0.68428487),
                    _concept("Disorder of bone, unspecified", "M89.9", 0.6542605),
                    _concept(
                        "Unspecified mental disorder due to known physiological condition",
                        "F09",
                        0.6240179,
                    ),
                    _concept("Mental disorder, not otherwise specified", "F99", 0.61046),
                ],
            ),
        ],
        "ModelVersion": "0.1.0",
        "ResponseMetadata": {"RequestId": "00000000-0000-0000-0000-000000000000"},
    }


def test_seed_raw_response_reproduced_character_for_character() -> None:
    response = InferICD10CMResponse.model_validate(seed_boto3_response())
    assert to_java_string(response) == SEED_RAW


def test_seed_scores_are_doubles_not_float32_text() -> None:
    # Guard: the test input really is what boto3 gives, not the printed digits.
    assert repr(_f32(0.9815994)) == "0.9815993905067444"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0.9815993905067444, "0.9815994"),
        (0.45005733, "0.45005733"),
        (0.1111792, "0.1111792"),
        (0.61046, "0.61046"),
        (0.688161, "0.688161"),
        (1.0, "1.0"),
        (0.0, "0.0"),
        (-0.0, "-0.0"),
        (0.5, "0.5"),
        (0.001, "0.001"),
        (0.00012345, "1.2345E-4"),
        (1e-5, "1.0E-5"),
        (12345678.0, "1.2345678E7"),
        (1234567.0, "1234567.0"),
        (100.0, "100.0"),
        (float("nan"), "NaN"),
        (float("inf"), "Infinity"),
    ],
)
def test_java_float(value: float, expected: str) -> None:
    assert java_float(value) == expected


def test_java_decimal_is_shortest_float32_digits() -> None:
    assert str(java_decimal(_f32(0.94417894))) == "0.94417894"
    assert str(java_decimal(0.8458298)) == "0.8458298"


def test_null_last_member_leaves_trailing_comma() -> None:
    assert to_java_string(Trait(Name="NEGATION")) == "{Name: NEGATION,}"
    assert to_java_string(Trait(Name="SIGN", Score=0.5)) == "{Name: SIGN,Score: 0.5}"


def test_null_middle_members_are_skipped() -> None:
    attr = ICD10CMAttribute(Type="ACUITY", Id=2, Text="acute", RelationshipType="OVERLAP")
    assert to_java_string(attr) == "{Type: ACUITY,Id: 2,Text: acute,RelationshipType: OVERLAP}"


def test_lists_join_with_comma_space_and_empty_lists() -> None:
    response = DetectEntitiesV2Response.model_validate(
        {"Entities": [], "UnmappedAttributes": [], "ModelVersion": "2.4.0"}
    )
    assert to_java_string(response) == "{Entities: [],UnmappedAttributes: [],ModelVersion: 2.4.0}"


def test_rxnorm_entity_member_order() -> None:
    response = InferRxNormResponse.model_validate(
        {
            "Entities": [
                {
                    "Id": 0,
                    "Text": "Advil",
                    "Category": "MEDICATION",
                    "Type": "BRAND_NAME",
                    "Score": 0.5,
                    "BeginOffset": 22,
                    "EndOffset": 27,
                    "Attributes": [],
                    "Traits": [{"Name": "NEGATION", "Score": 0.75}],
                    "RxNormConcepts": [
                        {"Description": "ibuprofen 200 MG Oral Capsule [Advil]", "Code": "731533"}
                    ],
                }
            ],
            "ModelVersion": "0.1.0",
        }
    )
    assert to_java_string(response) == (
        "{Entities: [{Id: 0,Text: Advil,Category: MEDICATION,Type: BRAND_NAME,Score: 0.5,"
        "BeginOffset: 22,EndOffset: 27,Attributes: [],Traits: [{Name: NEGATION,Score: 0.75}],"
        "RxNormConcepts: [{Description: ibuprofen 200 MG Oral Capsule [Advil],Code: 731533,}]}],"
        "ModelVersion: 0.1.0}"
    )


def test_extra_keys_are_not_printed() -> None:
    response = InferICD10CMResponse.model_validate({"Entities": [], "SomethingNew": 1})
    assert to_java_string(response) == "{Entities: [],}"
