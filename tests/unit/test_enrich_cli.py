"""``docref-nlp enrich``: Bundle on stdout, coded errors and exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.main import app
from tests.golden import SAMPLES, assert_golden

runner = CliRunner()


def _run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["enrich", *args])
    return result.exit_code, result.stdout, result.stderr


def test_replay_healthlake_matches_golden() -> None:
    code, out, err = _run(
        str(SAMPLES / "example2-advil.json"),
        "--engine",
        f"replay:{SAMPLES / 'nlp' / 'example2-advil.json'}",
        "--profile",
        "healthlake",
        "--now",
        "2024-01-02T03:04:05.678Z",
    )
    assert code == 0, err
    bundle = json.loads(out)
    kinds = [e["resource"]["resourceType"] for e in bundle["entry"]]
    assert kinds == ["DocumentReference"] + ["MedicationStatement"] * 5 + ["Linkage"]
    # Same as the golden file except the engine version (the replay engine hashes its file).
    for entry in bundle["entry"]:
        if entry["resource"]["resourceType"] == "DocumentReference":
            for ext in entry["resource"]["extension"]:
                for child in ext.get("extension", []):
                    if child["url"] == "engine-version":
                        child["valueString"] = "samples-1"
    assert_golden("example2-advil.healthlake", bundle, update=False)


def test_pdf_only_prints_unsupported_content_bundle() -> None:
    code, out, _ = _run(
        str(SAMPLES / "pdf-only.json"),
        "--engine",
        f"replay:{SAMPLES / 'nlp' / 'example2-advil.json'}",
        "--compact",
    )
    assert code == 0
    assert "\n" not in out.strip()
    doc = json.loads(out)["entry"][0]["resource"]
    statuses = [
        c["valueString"]
        for e in doc["extension"]
        for c in e.get("extension", [])
        if c["url"].endswith("/status/")
    ]
    assert statuses == ["UNSUPPORTED_CONTENT"]


def test_unreadable_input(tmp_path: Path) -> None:
    code, out, err = _run(str(tmp_path / "missing.json"))
    assert code == 2
    assert out == ""
    assert err.startswith("[NLP250]")


@pytest.mark.parametrize(
    ("content", "prefix"),
    [
        ("{not json", "[NLP251]"),
        ('{"resourceType": "Patient"}', "[NLP252]"),
        ('{"resourceType": "DocumentReference"}', "[NLP252] invalid DocumentReference"),
    ],
)
def test_bad_input(tmp_path: Path, content: str, prefix: str) -> None:
    path = tmp_path / "doc.json"
    path.write_text(content, encoding="utf-8")
    code, _, err = _run(str(path), "--engine", f"replay:{SAMPLES / 'nlp' / 'example2-advil.json'}")
    assert code == 2
    assert err.startswith(prefix)


def test_url_attachment_is_refused(tmp_path: Path) -> None:
    doc = json.loads((SAMPLES / "example2-advil.json").read_text(encoding="utf-8"))
    doc["content"][0]["attachment"] = {"contentType": "text/plain", "url": "Binary/1"}
    path = tmp_path / "doc.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    code, _, err = _run(str(path), "--engine", f"replay:{SAMPLES / 'nlp' / 'example2-advil.json'}")
    assert code == 2
    assert err.startswith("[NLP253]")


def test_unknown_engine_is_an_engine_error() -> None:
    code, _, err = _run(str(SAMPLES / "example2-advil.json"), "--engine", "nosuch")
    assert code == 3
    assert err.startswith("[NLP135]")


def test_bad_profile_and_now() -> None:
    code, _, err = _run(str(SAMPLES / "example2-advil.json"), "--profile", "x")
    assert (code, err[:8]) == (2, "[NLP255]")
    code, _, err = _run(str(SAMPLES / "example2-advil.json"), "--now", "yesterday")
    assert (code, err[:8]) == (2, "[NLP254]")
