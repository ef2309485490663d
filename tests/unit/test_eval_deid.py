"""deid evaluation: the dev/test/all patient split and PHI figures per token and span.

Fixtures are invented notes in the corpus' record format (never corpus text).
"""

from __future__ import annotations

import json
import sys
import types
from pathlib import Path

import pytest
from typer.testing import CliRunner

from nlp.evaluation import deid
from nlp.evaluation.oracle import GoldEngine
from nlp.evaluation.runner import CorpusUnavailableError, load_corpus
from nlp.evaluation.types import PHI, EvalDocument, GoldMention, PredMention


def _first(split: str) -> int:
    return min(deid.split_patients(split))


def test_split_patients_partition_patients_1_to_80() -> None:
    dev, test = deid.split_patients("dev"), deid.split_patients("test")
    assert dev
    assert test
    assert not dev & test
    assert dev | test == deid.split_patients("all") == frozenset(range(1, 81))


def test_split_patients_refuses_unknown_split_and_bad_file(tmp_path: Path) -> None:
    with pytest.raises(deid.DeidSplitError, match="NLP715"):
        deid.split_patients("train")
    bad = tmp_path / "gold.json"
    bad.write_text(json.dumps({"notes": []}), encoding="utf-8")
    with pytest.raises(deid.DeidSplitError, match="NLP714"):
        deid.split_patients("dev", bad)


def _data_dir(tmp_path: Path) -> tuple[Path, int, int]:
    """A deid folder with one note of a dev patient and one of a test patient."""
    dev, test = _first("dev"), _first("test")
    folder = tmp_path / "deid"
    folder.mkdir()
    text = (
        f"START_OF_RECORD={dev}||||1||||\n"
        "Seen by Dr. Quell on 4/2, call 555-0134.\n"
        "||||END_OF_RECORD\n"
        f"START_OF_RECORD={test}||||1||||\n"
        "Daughter Ilse Varga visiting from Toledo.\n"
        "||||END_OF_RECORD\n"
    )
    phi = [
        f"{dev} 1 12 17 HCPName Quell",
        f"{dev} 1 21 24 Date 4/2",
        f"{dev} 1 31 39 Phone 555-0134",
        f"{test} 1 9 19 RelativeProxyName Ilse Varga",
        f"{test} 1 34 40 Location Toledo",
    ]
    folder.joinpath("id.text").write_text(text, encoding="utf-8")
    folder.joinpath("id-phi.phrase").write_text("\n".join(phi) + "\n", encoding="utf-8")
    return tmp_path, dev, test


def test_read_deid_keeps_the_patients_of_the_split(tmp_path: Path) -> None:
    data, dev, test = _data_dir(tmp_path)
    docs, _ = deid.read_deid(data, "dev")
    assert [d.doc_id for d in docs] == [f"{dev}-1"]
    assert [docs[0].text[g.begin : g.end] for g in docs[0].gold] == ["Quell", "4/2", "555-0134"]
    docs, _ = deid.read_deid(data, "test")
    assert [d.doc_id for d in docs] == [f"{test}-1"]
    assert [docs[0].text[g.begin : g.end] for g in docs[0].gold] == ["Ilse Varga", "Toledo"]
    assert len(deid.read_deid(data, "all")[0]) == 2


def test_load_corpus_takes_the_deid_split(tmp_path: Path) -> None:
    data, _, test = _data_dir(tmp_path)
    loaded = load_corpus("deid", "test", data)
    assert [d.doc_id for d in loaded.documents] == [f"{test}-1"]
    assert loaded.extra is not None
    assert any("split test" in n for n in loaded.notes)
    with pytest.raises(CorpusUnavailableError, match="NLP715"):
        load_corpus("deid", "train", data)
    with pytest.raises(CorpusUnavailableError, match="NLP731"):
        load_corpus("bc5cdr", "test", data)


def _doc() -> EvalDocument:
    text = "Dr. Ana Quell saw pt 4/2/19 at Lakeview; age 93, not 67 yo. Code 7."
    gold = [
        GoldMention(4, 13, PHI, "NAME", group="HCPName"),  # "Ana Quell": two tokens
        GoldMention(21, 27, PHI, "DATE", group="Date"),  # "4/2/19": three tokens
        GoldMention(31, 39, PHI, "ADDRESS", group="Location"),
        GoldMention(45, 47, PHI, "AGE", group="Age"),
    ]
    return EvalDocument("1-1", text, gold, ignore=[(65, 66)])  # "7": Other


def test_token_score_counts_gold_and_predicted_tokens_by_group() -> None:
    doc = _doc()
    preds = [
        PredMention(8, 13, PHI, "NAME"),  # "Quell" only: one of two name tokens
        PredMention(21, 27, PHI, "DATE"),
        PredMention(31, 39, PHI, "NAME"),  # a location typed as a name
        PredMention(45, 47, PHI, "AGE"),  # 93: PHI
        PredMention(53, 55, PHI, "AGE"),  # 67: not PHI under HIPAA, left out
        PredMention(60, 64, PHI, "ID"),  # "Code": not gold
        PredMention(0, 2, "MEDICAL_CONDITION", "DX_NAME"),  # not PHI: ignored
    ]
    score = deid.PhiTokenScore()
    score.add(doc, preds)
    tokens = score.as_dict()["phi_groups"]["tokens"]
    assert tokens["names"] == {
        "gold": 2,
        "pred": 2,
        "recall": 0.5,
        "precision": 0.5,
        "recall_any_type": 0.5,
        "precision_any_type": 1.0,
    }
    assert tokens["dates"]["gold"] == 3
    assert tokens["dates"]["recall"] == 1.0
    assert tokens["locations"]["recall"] == 0.0
    assert tokens["locations"]["recall_any_type"] == 1.0
    assert tokens["ages"]["pred"] == 1
    assert tokens["ages"]["precision"] == 1.0
    assert tokens["other"] == {
        "gold": 1,
        "pred": 1,
        "recall": 0.0,
        "precision": 0.0,
        "recall_any_type": 0.0,
        "precision_any_type": 0.0,
    }
    everything = tokens["ALL"]
    assert (everything["gold"], everything["pred"]) == (8, 7)
    assert everything["recall"] == round(6 / 8, 4)
    assert everything["precision"] == round(6 / 7, 4)


def test_span_score_counts_overlaps_by_group() -> None:
    doc = _doc()
    preds = [PredMention(8, 13, PHI, "NAME"), PredMention(31, 39, PHI, "NAME")]
    score = deid.PhiTokenScore()
    score.add(doc, preds)
    spans = score.as_dict()["phi_groups"]["spans"]
    assert spans["names"]["recall"] == 1.0  # the partial name overlaps its gold span
    assert spans["names"]["precision"] == 0.5  # the location typed as a name
    assert spans["locations"]["recall"] == 0.0
    assert spans["ALL"]["recall"] == round(2 / 5, 4)
    assert spans["ALL"]["precision"] == 1.0
    lines = score.lines()
    assert lines[0].startswith("PHI per token, recall/precision: names 50.0/")
    assert lines[1].startswith("PHI per span, recall/precision: names 100.0/50.0")


def test_cli_eval_deid_split_test(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from cli.main import app

    data, _, _ = _data_dir(tmp_path)
    documents = deid.read_deid(data, "all")[0]
    factory = types.ModuleType("nlp.factory")
    factory.make_engine = lambda spec: GoldEngine(documents)  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "nlp.factory", factory)
    out = tmp_path / "report.json"
    args = ["eval", "--corpus", "deid", "--split", "test", "--data-dir", str(data)]
    result = CliRunner().invoke(app, [*args, "--json", str(out)])
    assert result.exit_code == 0, result.output
    assert "PHI per token" in result.output
    report = json.loads(out.read_text(encoding="utf-8"))
    assert report["split"] == "test"
    corpus = report["corpora"]["deid"]
    assert corpus["documents"] == 1
    assert corpus["phi_groups"]["tokens"]["ALL"]["gold"] == 3  # Ilse, Varga, Toledo
    assert corpus["phi_groups"]["tokens"]["ALL"]["recall"] == 1.0
