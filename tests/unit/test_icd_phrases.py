"""The ICD-10-CM phrase table (nlp/evaluation/icd_phrases.py): format, declared split, scoring."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
import simple_icd_10_cm as cm

from nlp.evaluation.icd_phrases import (
    Phrase,
    PhraseTableError,
    engine_top,
    parse_phrases,
    read_phrases,
    score_phrases,
    split_of,
    verdict,
)
from nlp.schema import Concept, NlpResult


def test_table_codes_are_billable_and_the_split_is_the_declared_one() -> None:
    phrases = read_phrases("all")
    assert len(phrases) >= 300
    for p in phrases:
        for code in p.accepted:
            assert cm.is_valid_item(code), (p.text, code)
            assert cm.is_leaf(code), (p.text, code)
    tune, held = read_phrases("tune"), read_phrases("heldout")
    assert len(tune) + len(held) == len(phrases)
    assert min(len(tune), len(held)) > 0.4 * len(phrases)
    # sha1(fold(phrase)): the first hex digit's parity, fixed forever
    assert split_of("flank pain") == "heldout"
    assert split_of("painful urination") == "tune"
    assert split_of("Flank  Pain") == split_of("flank pain")


@pytest.mark.parametrize(
    "bad", ["cough\n", "cough\t\n", "cough\tR05.9|\n", "cough\tR05.9\nCough\tR05.8\n"]
)
def test_malformed_tables_are_refused(bad: str) -> None:
    with pytest.raises(PhraseTableError, match=r"\[NLP716\]"):
        parse_phrases(bad)


def test_unknown_split_is_refused() -> None:
    with pytest.raises(PhraseTableError, match=r"\[NLP716\]"):
        read_phrases("dev")


def test_verdicts_and_scores() -> None:
    jvd = Phrase("jvd", ("R09.89", "I87.8"))
    assert verdict(jvd, ("I87.8", 0.6)) == "right"
    assert verdict(jvd, ("I10", 0.6)) == "wrong"
    assert verdict(jvd, ("I10", 0.49)) == "none"
    assert verdict(jvd, None) == "none"
    tops = {"jvd": ("R09.89", 0.9), "afib": ("I10", 0.7), "sob": None}
    got = score_phrases(
        [jvd, Phrase("afib", ("I48.91",)), Phrase("sob", ("R06.02",))], tops.__getitem__
    )
    assert (got["right"], got["wrong"], got["none"]) == (1, 1, 1)
    assert got["detail"]["wrong"] == ["afib -> I10 0.70 (want I48.91)"]
    assert got["right_share"] == round(1 / 3, 4)


@dataclass
class _Entity:
    begin_offset: int
    end_offset: int
    concepts: list[Concept]


@dataclass
class _Result:
    icd10cm_entities: list[_Entity] = field(default_factory=list)


class _Engine:
    """Finds "cough" and, separately, "productive cough" when asked."""

    def analyze(self, text: str) -> _Result:
        out = _Result()
        i = text.find("cough")
        if i >= 0:
            out.icd10cm_entities.append(
                _Entity(i, i + 5, [Concept(code="R05.9", description="Cough", score=0.9)])
            )
            out.icd10cm_entities.append(_Entity(0, 2, []))  # "Pt": no concept
        return out


def test_engine_top_takes_the_entity_over_the_phrase() -> None:
    top = engine_top(_Engine())
    assert top("productive cough") == ("R05.9", 0.9)
    assert top("wheezes") is None


def test_condition_concepts_count_what_the_clinical_profile_uses() -> None:
    from nlp.evaluation.concepts import ConditionConcepts
    from nlp.evaluation.runner import predictions
    from nlp.evaluation.types import EvalDocument, GoldMention

    def entity(i: int, b: int, text: str, **extra: object) -> dict[str, object]:
        return {
            **{"Id": i, "BeginOffset": b, "EndOffset": b + len(text), "Score": 0.9},
            **{"Text": text, "Category": "MEDICAL_CONDITION", "Type": "DX_NAME", **extra},
        }

    def concept(code: str, score: float) -> dict[str, object]:
        return {"ICD10CMConcepts": [{"Code": code, "Description": "x", "Score": score}]}

    result = NlpResult.model_validate(
        {
            "DetectEntitiesV2": {"Entities": [entity(0, 0, "cough"), entity(1, 6, "jvd")]},
            "InferICD10CM": {
                "Entities": [
                    entity(0, 0, "cough", **concept("R05.9", 0.9)),
                    entity(1, 6, "jvd", **concept("I87.8", 0.3)),
                ]
            },
        }
    )
    preds = predictions(result, "DetectEntitiesV2")
    assert [p.icd10cm_score for p in preds] == [0.9, 0.3]
    doc = EvalDocument("d", "cough jvd", [GoldMention(0, 5, "MEDICAL_CONDITION", "")])
    counts = ConditionConcepts()
    counts.add(doc, preds)
    assert counts.as_dict()["condition_concepts"] == {
        "min_score": 0.5,
        "mentions": 2,
        "with_concept": 1,
        "matching_gold": 1,
        "matching_gold_with_concept": 1,
    }
    assert counts.lines() == [
        "condition mentions with an ICD-10-CM concept >= 0.5: 1 of 2 (1 of the 1 that overlap "
        "a gold condition)"
    ]
