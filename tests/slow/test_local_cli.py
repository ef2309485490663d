"""``docref-nlp analyze`` end to end with the real local engine (built assets)."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from cli.main import app

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def runner() -> CliRunner:
    from nlp.local.assets import assets_dir

    if not (assets_dir() / "lexicon.pkl").exists():
        pytest.skip(f"local assets not built in {assets_dir()}: run `docref-nlp models build`")
    return CliRunner()


def test_analyze_single_text(runner: CliRunner) -> None:
    result = runner.invoke(app, ["analyze", "-"], input="Patient denies chest pain.")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert set(data) == {"DetectEntitiesV2", "InferICD10CM", "InferRxNorm"}
    pain = [e for e in data["DetectEntitiesV2"]["Entities"] if e["Text"] == "chest pain"]
    assert [t["Name"] for t in pain[0]["Traits"]].count("NEGATION") == 1


def test_analyze_jsonl(runner: CliRunner) -> None:
    lines = "\n".join(
        json.dumps({"id": i, "text": t})
        for i, t in enumerate(["Aspirin 81 mg daily.", "No fever.", "History of asthma."])
    )
    result = runner.invoke(app, ["analyze", "-", "--jsonl"], input=lines)
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["id"] for r in rows] == [0, 1, 2]
    assert rows[0]["result"]["InferRxNorm"]["Entities"][0]["Text"] == "Aspirin"
