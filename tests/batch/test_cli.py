"""``docref-nlp reprocess`` through the Typer app: dry run, cost cap, report JSON, store sink."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.main import app
from tests.batch.fake_engine import SPEC
from tests.batch.synth import documents, write_ndjson


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("DOCREF_NLP_DB_PATH", str(tmp_path / "svc.sqlite"))
    return tmp_path


def test_dry_run_prints_units_and_cost(env: Path) -> None:
    src = write_ndjson(env / "in" / "DocumentReference.ndjson", documents(12))
    report = env / "report.json"
    args = ["reprocess", "--from", str(src.parent), "--engine", SPEC, "--dry-run",
            "--no-progress", "--price-detect", "0.02", "--report-json", str(report),
            "--checkpoint", str(env / "ck.sqlite")]  # fmt: skip
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "DetectEntitiesV2" in result.output
    data = json.loads(report.read_text())
    assert data["outcomes"] == {"dry-run": 12}
    est = data["comprehend_medical_estimate"]
    assert est["documents"] == 12
    assert est["price_per_unit_usd"]["DetectEntitiesV2"] == 0.02
    units = est["units"]
    expected = (
        units["DetectEntitiesV2"] * 0.02 + (units["InferICD10CM"] + units["InferRxNorm"]) * 0.01
    )
    assert est["estimated_cost_usd"] == pytest.approx(expected, abs=1e-4)
    assert not (env / "out").exists()


def test_ndjson_source_needs_a_sink(env: Path) -> None:
    src = write_ndjson(env / "in" / "DocumentReference.ndjson", documents(2))
    result = CliRunner().invoke(app, ["reprocess", "--from", str(src), "--engine", SPEC])
    assert result.exit_code != 0
    assert "NLP672" in result.output


def test_max_cost_and_store_sink(env: Path) -> None:
    src = write_ndjson(env / "in" / "DocumentReference.ndjson", documents(20))
    report = env / "report.json"
    args = ["reprocess", "--from", str(src), "--to", "store", "--engine", SPEC, "--no-progress",
            "--max-cost", "0.2", "--report-json", str(report),
            "--checkpoint", str(env / "ck.sqlite")]  # fmt: skip
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    data = json.loads(report.read_text())
    assert data["stopped"].startswith("[NLP660]")
    assert data["comprehend_medical_estimate"]["estimated_cost_usd"] <= 0.2
    enriched = data["outcomes"]["enriched"]
    assert 0 < enriched < 20

    from api.store.sqlite import Database, SqliteFhirStore

    store = SqliteFhirStore(Database(env / "svc.sqlite"))
    bundle = store.search("DocumentReference", [("_count", "100")])
    assert bundle["total"] == enriched
    assert store.index.state(bundle["entry"][0]["resource"]["id"]) is not None


def test_reprocess_applies_the_services_limits(env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCREF_NLP_MAX_NOTE_CHARS", "40")
    texts = ["headache", "headache and a long paragraph of words beyond forty characters"]
    src = write_ndjson(env / "in" / "DocumentReference.ndjson", documents(4, texts))
    report = env / "report.json"
    args = ["reprocess", "--from", str(src), "--to", str(env / "out"), "--engine", SPEC,
            "--no-progress", "--report-json", str(report),
            "--checkpoint", str(env / "ck.sqlite")]  # fmt: skip
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    data = json.loads(report.read_text())
    assert data["outcomes"] == {"enriched": 4}
    assert data["enrichment_status"] == {"SUCCESS": 2, "VALIDATION_ERROR": 2}
