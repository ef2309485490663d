"""Span matching, P/R/F1, code, trait and condition figures on tiny hand-made sets."""

from __future__ import annotations

import pytest

from nlp.evaluation.metrics import (
    ALL,
    RXNORM_IN_VOCAB,
    CodeJudge,
    CorpusScore,
    Counts,
    filter_predictions,
    match,
    span_counts,
)
from nlp.evaluation.types import (
    ICD10CM,
    MEDICAL_CONDITION,
    MEDICATION,
    RXNORM,
    SNOMED,
    Code,
    EvalDocument,
    GoldMention,
    PredMention,
    Scope,
)
from nlp.evaluation.valuesets import ValueSetIndex, normalize_icd

DX = (MEDICAL_CONDITION, "DX_NAME")
GEN = (MEDICATION, "GENERIC_NAME")
BRAND = (MEDICATION, "BRAND_NAME")


def g(b: int, e: int, kind: tuple[str, str] = DX, **kw: object) -> GoldMention:
    return GoldMention(b, e, *kind, **kw)  # type: ignore[arg-type]


def p(b: int, e: int, kind: tuple[str, str] = DX, **kw: object) -> PredMention:
    return PredMention(b, e, *kind, **kw)  # type: ignore[arg-type]


def test_counts_precision_recall_f1() -> None:
    c = Counts(tp=2, n_pred=4, n_gold=3)
    assert c.precision == 0.5
    assert c.recall == pytest.approx(2 / 3)
    assert c.f1 == pytest.approx(2 * 0.5 * (2 / 3) / (0.5 + 2 / 3))
    assert Counts().f1 == 0.0


def test_strict_needs_exact_offsets_overlap_does_not() -> None:
    gold = [g(0, 10), g(20, 30)]
    pred = [p(0, 10), p(22, 35), p(40, 45)]
    strict = span_counts(gold, pred, "strict", "category")[ALL]
    overlap = span_counts(gold, pred, "overlap", "category")[ALL]
    assert (strict.tp, strict.n_pred, strict.n_gold) == (1, 3, 2)
    assert (overlap.tp, overlap.n_pred, overlap.n_gold) == (2, 3, 2)
    assert overlap.precision == pytest.approx(2 / 3)
    assert overlap.recall == 1.0


def test_matching_is_one_to_one() -> None:
    # one long prediction over two gold mentions credits only one of them
    gold = [g(0, 5), g(6, 12)]
    pred = [p(0, 12)]
    assert match(gold, pred, "overlap", "category") == [(1, 0)]
    # two predictions over one gold mention: one TP, one FP
    c = span_counts([g(0, 10)], [p(0, 4), p(5, 10)], "overlap", "category")[ALL]
    assert (c.tp, c.n_pred) == (1, 2)


def test_category_must_agree_and_type_level_splits_types() -> None:
    gold = [g(0, 7, GEN)]
    pred = [p(0, 7, BRAND), p(10, 15, DX)]
    cat = span_counts(gold, pred, "strict", "category")
    typ = span_counts(gold, pred, "strict", "type")
    assert cat[MEDICATION].tp == 1
    assert cat[MEDICAL_CONDITION].n_pred == 1
    assert cat[MEDICAL_CONDITION].tp == 0
    assert typ["MEDICATION/GENERIC_NAME"].tp == 0
    assert typ["MEDICATION/GENERIC_NAME"].n_gold == 1
    assert typ["MEDICATION/BRAND_NAME"].n_pred == 1


def test_filter_predictions_scope_and_ignore() -> None:
    scope = Scope(frozenset({MEDICAL_CONDITION, MEDICATION}), {MEDICATION: frozenset({"X"})})
    pred = [p(0, 3), p(5, 8, GEN), p(10, 12, ("ANATOMY", "SYSTEM_ORGAN_SITE")), p(20, 25)]
    kept = filter_predictions(pred, scope, ignore=[(22, 23)])
    assert kept == [p(0, 3)]


def _valuesets() -> ValueSetIndex:
    return ValueSetIndex(
        [
            (frozenset({"111"}), frozenset({"E119", "E118"})),
            (frozenset({"111", "222"}), frozenset(f"Z{i:03d}" for i in range(200))),
        ]
    )


def test_code_judge_rxnorm_icd_and_snomed() -> None:
    judge = CodeJudge(valuesets=_valuesets(), rxnorm_vocab=frozenset({"1", "2"}), narrow_max_icd=10)
    pred = p(0, 1, rxnorm=("9", "1"), icd10cm=("Z005", "E11.9"))
    assert judge.rank(RXNORM, Code(RXNORM, "1"), pred) == 1
    assert judge.keys_for(Code(RXNORM, "3")) == [RXNORM, RXNORM_IN_VOCAB]
    assert judge.evaluable(RXNORM, Code(RXNORM, "3")) is True
    assert judge.evaluable(RXNORM_IN_VOCAB, Code(RXNORM, "3")) is False
    assert judge.evaluable(RXNORM_IN_VOCAB, Code(RXNORM, "2")) is True
    assert CodeJudge().keys_for(Code(RXNORM, "3")) == [RXNORM]
    assert judge.rank(ICD10CM, Code(ICD10CM, "e11.9"), pred) == 1
    # the broad value set credits Z005 at rank 0; the narrow one only E11.9 at rank 1
    assert judge.rank("snomed->icd10cm", Code(SNOMED, "111"), pred) == 0
    assert judge.rank("snomed->icd10cm narrow", Code(SNOMED, "111"), pred) == 1
    assert judge.evaluable("snomed->icd10cm narrow", Code(SNOMED, "222")) is False
    assert judge.evaluable("snomed->icd10cm", Code(SNOMED, "333")) is False
    assert normalize_icd(" e11.9") == "E119"


def test_corpus_score_codes_traits_conditions() -> None:
    text = "x" * 60
    gold = [
        g(0, 10, codes=(Code(SNOMED, "111"),), traits=frozenset({"NEGATION"})),
        g(20, 30, GEN, codes=(Code(RXNORM, "1"),), traits=frozenset()),
        g(40, 50, GEN, codes=(Code(RXNORM, "2"),)),
    ]
    pred = [
        p(0, 8, icd10cm=("E11.9",), traits=frozenset({"NEGATION", "SIGN"})),
        p(20, 30, GEN, rxnorm=("5", "1")),
    ]
    doc = EvalDocument("d1", text, gold, condition_codes={"111": [0], "999": []})
    score = CorpusScore("t", judge=CodeJudge(valuesets=_valuesets(), narrow_max_icd=10))
    score.add(doc, pred)
    out = score.as_dict()
    rx = out["codes"]["rxnorm"]
    assert (rx["gold"], rx["evaluable"], rx["span_found"], rx["top1"], rx["top5"]) == (
        2,
        2,
        1,
        0,
        1,
    )
    assert out["codes"]["snomed->icd10cm narrow"]["top1"] == 1
    assert out["traits"]["pairs"] == 2
    assert out["traits"]["exact_set_accuracy"] == 0.5
    assert out["traits"]["per_trait"]["NEGATION"]["f1"] == 1.0
    assert out["traits"]["per_trait"]["SIGN"]["precision"] == 0.0
    cond = out["conditions"]
    assert (cond["coded"], cond["in_text"], cond["found"], cond["icd_top1"]) == (2, 1, 1, 1)
    assert cond["icd_evaluable"] == 1
    assert cond["icd_top1_recall"] == 1.0
    assert out["spans"]["strict"]["category"]["ALL"]["tp"] == 1
    assert out["spans"]["overlap"]["category"]["ALL"]["tp"] == 2


def test_label_recall_per_group() -> None:
    gold = [g(0, 4, group="PTName"), g(10, 14, group="HCPName"), g(20, 24, group="PTName")]
    score = CorpusScore("t")
    score.add(EvalDocument("d", "y" * 30, gold), [p(0, 4), p(11, 13)])
    labels = score.as_dict()["labels"]
    assert labels["strict"]["PTName"] == {"gold": 2, "found": 1, "recall": 0.5}
    assert labels["overlap"]["HCPName"]["found"] == 1
    assert labels["strict"]["HCPName"]["found"] == 0
