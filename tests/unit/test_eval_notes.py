"""The nursing-note gold (``eval --corpus notes``): reader, label scoring, CLI, real data."""

from __future__ import annotations

import json
import sys
import types
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from nlp.evaluation.metrics import CodeJudge, CorpusScore
from nlp.evaluation.notes import NotesFormatError, build_documents, gold_path, read_notes
from nlp.evaluation.oracle import GoldEngine
from nlp.evaluation.runner import CorpusUnavailableError, evaluate, load_corpus
from nlp.evaluation.types import (
    MEDICAL_CONDITION,
    MEDICATION,
    TEST_TREATMENT_PROCEDURE,
    EvalDocument,
    GoldMention,
    PredMention,
)
from tests.conftest import SHARED_DATA
from tests.unit.test_eval_runner import KeywordEngine

#            0         1         2         3         4
#            0123456789012345678901234567890123456789012345
BODY_A = "pt denies cp, on lasix. afib. cxr done.\n"
BODY_B = "sob overnight, given kcl.\n"
BODY_C = "fever.\n"
RECORDS = {(1, 1): BODY_A, (2, 5): BODY_B, (3, 7): BODY_C}


def _gold(**extra: Any) -> dict[str, Any]:
    gold: dict[str, Any] = {
        "categories": [MEDICAL_CONDITION, MEDICATION],
        "labels": ["negated", "history", "family"],
        "notes": [
            {"id": "1-1", "split": "dev", "batch": "first"},
            {"id": "2-5", "split": "test", "batch": "first"},
            {"id": "3-7", "split": "dev", "batch": "second"},
        ],
        "mentions": [
            {"note": "1-1", "begin": 10, "end": 12, "category": MEDICAL_CONDITION,
             "negated": True, "history": False, "family": False},
            {"note": "1-1", "begin": 17, "end": 22, "category": MEDICATION,
             "negated": False, "history": False, "family": False},
            {"note": "1-1", "begin": 24, "end": 28, "category": MEDICAL_CONDITION,
             "negated": False, "history": True},
            {"note": "2-5", "begin": 0, "end": 3, "category": MEDICAL_CONDITION,
             "negated": False, "history": False, "family": False},
            {"note": "3-7", "begin": 0, "end": 5, "category": MEDICAL_CONDITION,
             "negated": False, "hypothetical": True},
        ],
    }  # fmt: skip
    gold.update(extra)
    return gold


def test_split_selects_notes_and_offsets_point_into_bodies() -> None:
    dev, scope = build_documents(_gold(), RECORDS, "dev")
    assert [d.doc_id for d in dev] == ["1-1", "3-7"]
    assert [BODY_A[g.begin : g.end] for g in dev[0].gold] == ["cp", "lasix", "afib"]
    assert scope.categories == {MEDICAL_CONDITION, MEDICATION}
    test, _ = build_documents(_gold(), RECORDS, "test")
    assert [d.doc_id for d in test] == ["2-5"]
    every, _ = build_documents(_gold(), RECORDS, "all")
    assert len(every) == 3
    assert all(g.type == "" for d in every for g in d.gold)


def test_labels_map_to_traits_and_absent_labels_are_not_scored() -> None:
    docs, _ = build_documents(_gold(), RECORDS, "dev")
    cp, lasix, afib = docs[0].gold
    assert cp.traits == {"NEGATION"}
    assert cp.trait_scope == {"NEGATION", "PAST_HISTORY", "PERTAINS_TO_FAMILY"}
    assert lasix.traits == frozenset()
    assert afib.traits == {"PAST_HISTORY"}
    assert afib.trait_scope == {"NEGATION", "PAST_HISTORY"}  # no "family" key
    # "hypothetical" is not annotated by the header's labels: not scored
    assert docs[1].gold[0].trait_scope == {"NEGATION"}


def test_batches_declare_their_own_categories_and_labels() -> None:
    batches = {
        "second": {
            "categories": [MEDICAL_CONDITION, MEDICATION, TEST_TREATMENT_PROCEDURE],
            "labels": ["negated", "hypothetical", "uncertain"],
        }
    }
    docs, scope = build_documents(_gold(batches=batches), RECORDS, "dev")
    assert docs[0].scope is not None
    assert not docs[0].scope.admits(TEST_TREATMENT_PROCEDURE, "TEST_NAME")
    assert docs[1].scope is not None
    assert docs[1].scope.admits(TEST_TREATMENT_PROCEDURE, "TEST_NAME")
    assert scope.admits(TEST_TREATMENT_PROCEDURE, "TEST_NAME")
    assert docs[1].gold[0].traits == {"HYPOTHETICAL"}
    assert docs[1].gold[0].trait_scope == {"NEGATION", "HYPOTHETICAL"}


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"begin": 30, "end": 99}, "NLP713"),
        ({"note": "9-9"}, "NLP714"),
        ({"category": TEST_TREATMENT_PROCEDURE}, "NLP714"),
    ],
)
def test_malformed_gold_is_refused(change: dict[str, Any], code: str) -> None:
    gold = _gold()
    gold["mentions"][0].update(change)
    with pytest.raises(NotesFormatError, match=code):
        build_documents(gold, RECORDS, "all")


def test_unknown_label_note_and_split_are_refused() -> None:
    with pytest.raises(NotesFormatError, match="NLP714"):
        build_documents(_gold(labels=["negated", "sarcastic"]), RECORDS, "dev")
    with pytest.raises(NotesFormatError, match="NLP712"):
        build_documents(_gold(), {(1, 1): BODY_A}, "all")
    with pytest.raises(NotesFormatError, match="NLP715"):
        build_documents(_gold(), RECORDS, "train")


def test_trait_accuracy_counts_only_annotated_traits() -> None:
    scope = frozenset({"NEGATION", "PAST_HISTORY"})
    gold = [
        GoldMention(0, 2, MEDICAL_CONDITION, "", traits=frozenset({"NEGATION"}), trait_scope=scope),
        GoldMention(5, 9, MEDICAL_CONDITION, "", traits=frozenset(), trait_scope=scope),
        GoldMention(20, 25, MEDICAL_CONDITION, "", traits=frozenset(), trait_scope=scope),
    ]
    pred = [
        PredMention(0, 2, MEDICAL_CONDITION, "", frozenset({"NEGATION", "SYMPTOM"})),
        PredMention(5, 9, MEDICAL_CONDITION, "", frozenset({"NEGATION", "HYPOTHETICAL"})),
    ]
    score = CorpusScore("t", judge=CodeJudge())
    score.add(EvalDocument("d", "x" * 30, gold), pred)
    traits = score.as_dict()["traits"]
    assert traits["pairs"] == 2  # the third gold mention was not found
    assert traits["exact_set_accuracy"] == 0.5  # SYMPTOM and HYPOTHETICAL are out of scope
    neg = traits["per_trait"]["NEGATION"]
    assert (neg["tp"], neg["pred"], neg["gold"], neg["judged"]) == (1, 2, 1, 2)
    assert (neg["f1"], neg["accuracy"], neg["label"]) == (0.6667, 0.5, "negated")
    hist = traits["per_trait"]["PAST_HISTORY"]
    assert (hist["judged"], hist["accuracy"], hist["f1"]) == (2, 1.0, 0.0)
    assert set(traits["per_trait"]) == {"NEGATION", "PAST_HISTORY"}


def test_corpus_is_untyped_and_scores_predicted_types_per_category(tmp_path: Path) -> None:
    loaded = load_corpus("notes", "dev", _fake_data_dir(tmp_path))
    assert loaded.untyped
    typed = GoldEngine(
        [
            EvalDocument(d.doc_id, d.text, [replace(g, type="DX_NAME") for g in d.gold])
            for d in loaded.documents
        ]
    )
    out = evaluate(typed, loaded, CodeJudge()).as_dict()
    assert out["spans"]["overlap"]["category"][MEDICAL_CONDITION]["f1"] == 1.0
    assert out["spans"]["strict"]["type"]["ALL"]["f1"] == 1.0
    assert out["traits"]["per_trait"]["NEGATION"]["accuracy"] == 1.0


def _fake_data_dir(tmp_path: Path, gold: dict[str, Any] | None = None) -> Path:
    """A data dir whose deid/id.text holds made-up bodies for every note of the gold."""
    folder = tmp_path / "data" / "deid"
    folder.mkdir(parents=True)
    if gold is None:
        parts = []
        for m in json.loads(gold_path().read_text(encoding="utf-8"))["notes"]:
            p, n = m["id"].split("-")
            parts.append(f"START_OF_RECORD={p}||||{n}||||\n{'fever aspirin ' * 400}{p}-{n}\n")
    else:
        bodies = {f"{p}-{n}": b for (p, n), b in RECORDS.items()}
        parts = []
        for note in gold["notes"]:
            p, n = note["id"].split("-")
            parts.append(f"START_OF_RECORD={p}||||{n}||||\n{bodies[note['id']]}")
    (folder / "id.text").write_text("||||END_OF_RECORD\n".join([*parts, ""]), encoding="utf-8")
    return tmp_path / "data"


def test_load_corpus_without_shared_data_is_a_coded_skip(tmp_path: Path) -> None:
    with pytest.raises(CorpusUnavailableError, match=r"NLP731.*deid/id.text"):
        load_corpus("notes", "dev", tmp_path)
    with pytest.raises(CorpusUnavailableError, match="NLP731"):
        load_corpus("notes", "train", _fake_data_dir(tmp_path))


def test_packaged_gold_reads_on_made_up_bodies(tmp_path: Path) -> None:
    data = _fake_data_dir(tmp_path)
    dev, scope, header = read_notes(data, "dev")
    test, _, _ = read_notes(data, "test")
    assert dev
    assert test
    assert {d.doc_id for d in dev}.isdisjoint(d.doc_id for d in test)
    assert header["name"] == "notes"
    assert {MEDICAL_CONDITION, MEDICATION} <= scope.categories


def _fake_factory(monkeypatch: pytest.MonkeyPatch) -> None:
    factory = types.ModuleType("nlp.factory")
    factory.make_engine = lambda spec: KeywordEngine(  # type: ignore[attr-defined]
        {"fever": (MEDICAL_CONDITION, "DX_NAME", ()), "aspirin": (MEDICATION, "BRAND_NAME", ())}
    )
    monkeypatch.setitem(sys.modules, "nlp.factory", factory)


def test_cli_scores_notes_split_with_table_and_json(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cli.main import app

    _fake_factory(monkeypatch)
    out_json = tmp_path / "notes.json"
    args = ["eval", "--corpus", "notes", "--split", "test", "--data-dir"]
    result = CliRunner().invoke(
        app, [*args, str(_fake_data_dir(tmp_path)), "--json", str(out_json)]
    )
    assert result.exit_code == 0, result.output
    assert "MEDICATION" in result.output
    assert "  BRAND_NAME" not in result.output  # untyped: category rows only
    report = json.loads(out_json.read_text(encoding="utf-8"))
    assert report["split"] == "test"
    notes = report["corpora"]["notes"]
    assert notes["documents"] == sum(
        1
        for n in json.loads(gold_path().read_text(encoding="utf-8"))["notes"]
        if n["split"] == "test"
    )
    assert notes["spans"]["overlap"]["category"][MEDICATION]["pred"] > 0


def test_cli_without_shared_data_prints_coded_skip(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cli.main import app

    _fake_factory(monkeypatch)
    result = CliRunner().invoke(
        app, ["eval", "--corpus", "notes", "--data-dir", str(tmp_path / "none")]
    )
    assert result.exit_code == 1
    assert "skipped notes: [NLP731]" in result.output


@pytest.mark.skipif(
    not (SHARED_DATA / "deid" / "id.text").is_file(),
    reason=f"deid notes not found at {SHARED_DATA / 'deid'}",
)
@pytest.mark.parametrize("split", ["dev", "test"])
def test_real_notes_read_and_gold_engine_is_perfect(split: str) -> None:
    loaded = load_corpus("notes", split, SHARED_DATA)
    assert len(loaded.documents) >= 20
    assert sum(len(d.gold) for d in loaded.documents) > 250
    out = evaluate(GoldEngine(loaded.documents), loaded, CodeJudge()).as_dict()
    assert out["spans"]["strict"]["category"]["ALL"]["f1"] == 1.0
    assert out["traits"]["exact_set_accuracy"] == 1.0
    assert out["traits"]["per_trait"]["NEGATION"]["accuracy"] == 1.0
