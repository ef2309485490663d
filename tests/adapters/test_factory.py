"""make_engine builds each engine from its spec and rejects what it does not know."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
import types
from pathlib import Path
from typing import Any

import pytest

from nlp import make_engine
from nlp.base import EngineConfigError
from nlp.comprehend import ComprehendMedicalEngine
from nlp.ratelimit import RateConfig, shared_rate_limiter
from nlp.replay import ReplayEngine
from tests.adapters.conftest import StubbedClient


def test_comprehend_uses_the_given_client_and_the_shared_limiter(stubbed: StubbedClient) -> None:
    engine = make_engine("comprehend", client=stubbed.client, requests_per_second=12)
    assert isinstance(engine, ComprehendMedicalEngine)
    assert engine.client is stubbed.client
    assert engine.rate_limiter is shared_rate_limiter(RateConfig(12, 40_000, 0))
    again = make_engine("comprehend-medical", client=stubbed.client, requests_per_second=12.0)
    assert isinstance(again, ComprehendMedicalEngine)
    assert again.rate_limiter is engine.rate_limiter


def test_comprehend_builds_its_client_for_the_region(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    engine = make_engine("comprehend", region="eu-west-1", max_attempts=3)
    assert isinstance(engine, ComprehendMedicalEngine)
    assert engine.client.meta.region_name == "eu-west-1"
    assert engine.client.meta.config.retries == {"total_max_attempts": 1, "mode": "standard"}
    assert engine.max_attempts == 3


def test_replay_spec(tmp_path: Path) -> None:
    path = tmp_path / "r.json"
    path.write_text(json.dumps({"InferRxNorm": {"Entities": []}}), encoding="utf-8")
    engine = make_engine(f"replay:{path}")
    assert isinstance(engine, ReplayEngine)
    assert engine.analyze("x").rxnorm_entities == []


def _fake_local(monkeypatch: pytest.MonkeyPatch, calls: list[Path]) -> None:
    """``nlp.local`` replaced by a module with a fake ``LocalEngine``; its ``assets`` submodule
    (where ``make_engine`` finds the default directory) is imported first, so that the test
    passes alone as well as after other tests imported it."""
    importlib.import_module("nlp.local.assets")

    class LocalEngine:
        name = "local"
        version = "fake"

        @classmethod
        def from_assets(cls, assets_dir: Path) -> LocalEngine:
            calls.append(assets_dir)
            return cls()

    module = types.ModuleType("nlp.local")
    module.LocalEngine = LocalEngine  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "nlp.local", module)


def test_local_spec_passes_the_assets_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    calls: list[Path] = []
    _fake_local(monkeypatch, calls)
    monkeypatch.setenv("DOCREF_NLP_ASSETS", str(tmp_path / "default"))
    assert make_engine("local").name == "local"
    make_engine(f"local:{tmp_path / 'arg'}")
    make_engine("local", assets_dir=tmp_path / "option")
    assert calls == [tmp_path / "default", tmp_path / "arg", tmp_path / "option"]


def test_local_without_the_engine_class_is_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "nlp.local", types.ModuleType("nlp.local"))
    with pytest.raises(EngineConfigError) as caught:
        make_engine("local")
    assert caught.value.code == "NLP137"


@pytest.mark.parametrize(
    ("spec", "options", "code"),
    [
        ("spacy", {}, "NLP135"),
        ("comprehend:x", {}, "NLP135"),
        ("comprehend", {"tps": 5}, "NLP136"),
        ("comprehend", {"requests_per_second": "fast"}, "NLP136"),
        ("comprehend", {"requests_per_second": -1}, "NLP136"),
        ("comprehend", {"limits": 5}, "NLP136"),
        ("replay", {}, "NLP133"),
        ("replay:/nonexistent/replay.json", {}, "NLP133"),
        ("local", {"model": "x"}, "NLP136"),
    ],
)
def test_bad_specs_and_options(spec: str, options: dict[str, Any], code: str) -> None:
    with pytest.raises(EngineConfigError) as caught:
        make_engine(spec, **options)
    assert caught.value.code == code


def test_importing_nlp_loads_no_engine() -> None:
    heavy = ("botocore", "boto3", "nlp.comprehend", "nlp.local", "spacy")
    script = f"import sys, nlp; print(sorted(m for m in {heavy!r} if m in sys.modules))"
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"


def test_comprehend_without_region_is_a_coded_config_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_CONFIG_FILE", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent/aws-config")
    with pytest.raises(EngineConfigError) as info:
        make_engine("comprehend")
    assert "[NLP132]" in str(info.value)
