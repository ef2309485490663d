"""ReplayEngine serves recorded results from one file or a directory keyed by text hash."""

from __future__ import annotations

import doctest
import hashlib
import json
from pathlib import Path

import pytest

import nlp.replay
from nlp.base import EngineConfigError, NlpEngine, PermanentEngineError
from nlp.replay import ReplayEngine, text_key, write_replay
from nlp.schema import NlpResult
from tests.fixtures.comprehend import load_input, load_response

WARFARIN = load_input("infer-rxnorm.warfarin") or ""
NOTE = load_input("infer-icd10cm.abdominal-pain") or ""


def _result(name: str) -> NlpResult:
    return NlpResult.model_validate({"InferRxNorm": load_response(name)})


def test_doctests() -> None:
    assert doctest.testmod(nlp.replay).failed == 0


def test_single_file_answers_every_text(tmp_path: Path) -> None:
    path = tmp_path / "result.json"
    path.write_text(json.dumps(_result("infer-rxnorm.warfarin").to_aws()), encoding="utf-8")
    engine = ReplayEngine(path)
    assert isinstance(engine, NlpEngine)
    assert engine.name == "replay"
    assert engine.analyze("anything").to_aws() == engine.analyze(WARFARIN).to_aws()
    assert engine.analyze("x").rxnorm_entities[0].text == "warfarin"
    # Callers may mutate what they get without changing later answers.
    engine.analyze("x").rxnorm_entities.clear()
    assert len(engine.analyze("x").rxnorm_entities) == 1


def test_directory_is_keyed_by_sha256_of_utf8_text(tmp_path: Path) -> None:
    written = write_replay(tmp_path, WARFARIN, _result("infer-rxnorm.warfarin"))
    assert written.name == hashlib.sha256(WARFARIN.encode("utf-8")).hexdigest() + ".json"
    (tmp_path / "README.md").write_text("ignored", encoding="utf-8")
    engine = ReplayEngine(tmp_path)
    assert engine.analyze(WARFARIN) == _result("infer-rxnorm.warfarin")


def test_unknown_text_names_the_expected_file_not_the_text(tmp_path: Path) -> None:
    write_replay(tmp_path, WARFARIN, _result("infer-rxnorm.warfarin"))
    engine = ReplayEngine(tmp_path)
    with pytest.raises(PermanentEngineError) as caught:
        engine.analyze(NOTE)
    message = str(caught.value)
    assert caught.value.code == "NLP141"
    assert f"{text_key(NOTE)}.json" in message
    assert "abdominal" not in message
    assert not caught.value.transient


def test_version_follows_file_contents(tmp_path: Path) -> None:
    write_replay(tmp_path, WARFARIN, _result("infer-rxnorm.warfarin"))
    first = ReplayEngine(tmp_path).version
    assert first.startswith("replay/")
    assert ReplayEngine(tmp_path).version == first
    write_replay(tmp_path, WARFARIN, _result("infer-rxnorm.fluoride"))
    assert ReplayEngine(tmp_path).version != first


def test_bad_paths_and_files_are_config_errors(tmp_path: Path) -> None:
    with pytest.raises(EngineConfigError) as missing:
        ReplayEngine(tmp_path / "nope")
    assert missing.value.code == "NLP133"
    bad = tmp_path / "bad.json"
    bad.write_text('{"InferRxNorm": {"Entities": [{"RxNormConcepts": [{}]}]}}', encoding="utf-8")
    with pytest.raises(EngineConfigError) as invalid:
        ReplayEngine(bad)
    assert invalid.value.code == "NLP134"
