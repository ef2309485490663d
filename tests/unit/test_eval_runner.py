"""evaluate() and ``docref-nlp eval`` with a small fake engine (no spaCy, no shared data)."""

from __future__ import annotations

import json
import sys
import types
from collections.abc import Sequence
from pathlib import Path

import pytest
from typer.testing import CliRunner

from nlp.base import PermanentEngineError
from nlp.evaluation.metrics import CodeJudge
from nlp.evaluation.oracle import GoldEngine, result_from_gold
from nlp.evaluation.runner import LoadedCorpus, evaluate, load_corpus, predictions
from nlp.evaluation.types import (
    MEDICAL_CONDITION,
    MEDICATION,
    RXNORM,
    Code,
    EvalDocument,
    GoldMention,
    Scope,
)
from nlp.schema import NlpResult


class KeywordEngine:
    """Tags fixed lower-case words: a deterministic, imperfect engine.

    Args:
        words: word -> (category, type, rxnorm codes).
        fail_on: texts for which ``analyze`` raises a PermanentEngineError.
    """

    name = "keywords"
    version = "0"

    def __init__(
        self,
        words: dict[str, tuple[str, str, tuple[str, ...]]],
        fail_on: Sequence[str] = (),
    ) -> None:
        self.words = words
        self.fail_on = set(fail_on)
        self.calls = 0

    def analyze(self, text: str) -> NlpResult:
        self.calls += 1
        if text in self.fail_on:
            raise PermanentEngineError("[NLP999] refused")
        entities: list[dict[str, object]] = []
        rx: list[dict[str, object]] = []
        low = text.lower()
        for word, (category, type_, codes) in self.words.items():
            start = low.find(word)
            while start >= 0:
                ent = {
                    "Id": len(entities),
                    "BeginOffset": start,
                    "EndOffset": start + len(word),
                    "Text": text[start : start + len(word)],
                    "Category": category,
                    "Type": type_,
                    "Traits": [],
                }
                entities.append(ent)
                if codes:
                    rx.append({**ent, "RxNormConcepts": [{"Code": c} for c in codes]})
                start = low.find(word, start + 1)
        return NlpResult.model_validate(
            {"DetectEntitiesV2": {"Entities": entities}, "InferRxNorm": {"Entities": rx}}
        )


class BatchingEngine(KeywordEngine):
    def __init__(self, *args: object, **kw: object) -> None:
        super().__init__(*args, **kw)  # type: ignore[arg-type]
        self.batches: list[int] = []

    def analyze_many(self, texts: Sequence[str]) -> list[NlpResult]:
        self.batches.append(len(texts))
        return [self.analyze(t) for t in texts]


WORDS = {
    "aspirin": (MEDICATION, "GENERIC_NAME", ("1191", "243670")),
    "fever": (MEDICAL_CONDITION, "DX_NAME", ()),
    "arm": ("ANATOMY", "SYSTEM_ORGAN_SITE", ()),
}


def _corpus() -> LoadedCorpus:
    text1 = "Aspirin for high fever in the arm."
    text2 = "No aspirin today."
    docs = [
        EvalDocument(
            "a",
            text1,
            [
                GoldMention(0, 7, MEDICATION, "GENERIC_NAME", (Code(RXNORM, "243670"),)),
                GoldMention(12, 23, MEDICAL_CONDITION, "DX_NAME"),
            ],
        ),
        EvalDocument("b", text2, [GoldMention(3, 10, MEDICATION, "GENERIC_NAME")]),
    ]
    return LoadedCorpus("toy", docs, Scope(frozenset({MEDICATION, MEDICAL_CONDITION})))


def test_evaluate_scores_in_scope_predictions() -> None:
    run = evaluate(KeywordEngine(WORDS), _corpus(), CodeJudge())
    out = run.as_dict()
    strict = out["spans"]["strict"]["category"]
    overlap = out["spans"]["overlap"]["category"]
    assert strict["ALL"] == {
        "tp": 2,
        "pred": 3,
        "gold": 3,
        "precision": 0.6667,
        "recall": 0.6667,
        "f1": 0.6667,
    }
    assert overlap["MEDICAL_CONDITION"]["tp"] == 1  # "fever" inside "high fever"
    assert "ANATOMY" not in strict  # out of scope, not a false positive
    rx = out["codes"]["rxnorm"]
    assert (rx["top1"], rx["top5"], rx["evaluable"]) == (0, 1, 1)
    assert out["documents"] == 2
    assert out["errors"] == 0


def test_engine_errors_count_and_score_as_empty() -> None:
    corpus = _corpus()
    engine = KeywordEngine(WORDS, fail_on=[corpus.documents[1].text])
    out = evaluate(engine, corpus, CodeJudge()).as_dict()
    assert out["errors"] == 1
    assert out["spans"]["overlap"]["category"]["MEDICATION"]["recall"] == 0.5


def test_analyze_many_is_used_in_batches() -> None:
    engine = BatchingEngine(WORDS)
    seen: list[int] = []
    evaluate(engine, _corpus(), CodeJudge(), on_progress=seen.append)
    assert engine.batches == [2]
    assert seen == [2]


def test_predictions_link_codes_and_read_infer_operations() -> None:
    doc = _corpus().documents[0]
    result = result_from_gold(doc)
    detect = predictions(result, "DetectEntitiesV2")
    assert [(m.begin, m.end, m.rxnorm) for m in detect] == [(0, 7, ("243670",)), (12, 23, ())]
    rx_only = predictions(result, "InferRxNorm")
    assert [(m.category, m.rxnorm, m.icd10cm) for m in rx_only] == [(MEDICATION, ("243670",), ())]


def test_gold_engine_scores_perfectly_and_refuses_unknown_text() -> None:
    corpus = _corpus()
    out = evaluate(GoldEngine(corpus.documents), corpus, CodeJudge()).as_dict()
    assert out["spans"]["strict"]["type"]["ALL"]["f1"] == 1.0
    with pytest.raises(PermanentEngineError):
        GoldEngine(corpus.documents).analyze("unseen")


NCBI_DEV = (
    "1|t|Fever and aspirin.\n"
    "1|a|The fever went down.\n"
    "1\t0\t5\tFever\tSpecificDisease\tD005334\n"
    "1\t23\t28\tfever\tSpecificDisease\tD005334\n"
    "\n"
)


def _data_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "data" / "ncbi-disease"
    folder.mkdir(parents=True)
    (folder / "NCBIdevelopset_corpus.txt").write_text(NCBI_DEV, encoding="utf-8")
    return tmp_path / "data"


def test_load_corpus_reports_missing_files(tmp_path: Path) -> None:
    from nlp.evaluation.runner import CorpusUnavailableError

    with pytest.raises(CorpusUnavailableError, match="NLP731"):
        load_corpus("bc5cdr", "dev", tmp_path)
    with pytest.raises(CorpusUnavailableError, match="NLP732"):
        load_corpus("nope", "dev", tmp_path)
    docs = load_corpus("ncbi", "dev", _data_dir(tmp_path), limit=1).documents
    assert len(docs) == 1
    assert len(docs[0].gold) == 2


def test_cli_eval_prints_and_writes_json(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from cli.main import app

    factory = types.ModuleType("nlp.factory")
    specs: list[str] = []

    def make_engine(spec: str) -> KeywordEngine:
        specs.append(spec)
        return KeywordEngine(WORDS)

    factory.make_engine = make_engine  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "nlp.factory", factory)
    out_json = tmp_path / "report.json"
    result = CliRunner().invoke(
        app,
        [
            "eval",
            "--corpus",
            "ncbi",
            "--engine",
            "fake",
            "--data-dir",
            str(_data_dir(tmp_path)),
            "--json",
            str(out_json),
        ],
    )
    assert result.exit_code == 0, result.output
    assert specs == ["fake"]
    assert "MEDICAL_CONDITION" in result.output
    report = json.loads(out_json.read_text(encoding="utf-8"))
    assert report["engine"] == {"name": "keywords", "version": "0", "spec": "fake"}
    all_strict = report["corpora"]["ncbi"]["spans"]["strict"]["category"]["ALL"]
    assert (all_strict["tp"], all_strict["pred"], all_strict["gold"]) == (2, 2, 2)


def test_cli_eval_fails_when_no_corpus_is_available(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cli.main import app

    factory = types.ModuleType("nlp.factory")
    factory.make_engine = lambda spec: KeywordEngine(WORDS)  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "nlp.factory", factory)
    result = CliRunner().invoke(
        app, ["eval", "--corpus", "bc5cdr", "--data-dir", str(tmp_path / "none")]
    )
    assert result.exit_code == 1
    assert "skipped bc5cdr" in result.output


def test_rxnorm_vocabulary_from_engine_or_its_linker() -> None:
    from nlp.evaluation.runner import engine_rxnorm_vocabulary

    class Known(KeywordEngine):
        def known_codes(self, system: str) -> list[str] | None:
            return ["1", "2"] if system == "rxnorm" else None

    linker = types.SimpleNamespace(assets=types.SimpleNamespace(concepts={"7": ("x", "IN")}))
    local_like = types.SimpleNamespace(linking=types.SimpleNamespace(rxnorm=linker))
    assert engine_rxnorm_vocabulary(Known(WORDS)) == frozenset({"1", "2"})
    assert engine_rxnorm_vocabulary(local_like) == frozenset({"7"})
    assert engine_rxnorm_vocabulary(KeywordEngine(WORDS)) is None
