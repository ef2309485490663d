"""Every emitted resource also passes Medplum's validateResource (npm @medplum/core, via Node)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from enrich.policy import PROFILES
from tests.golden import enrich_sample, sample_names

NODE_DIR = Path(__file__).resolve().parent.parent / "node"
VALIDATOR = NODE_DIR / "validate.mjs"

pytestmark = pytest.mark.node


def _medplum(resources: list[dict[str, Any]]) -> list[dict[str, Any]]:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    if not (NODE_DIR / "node_modules" / "@medplum" / "core").is_dir():
        pytest.skip("tests/node/node_modules missing: run `make node` (npm ci in tests/node)")
    proc = subprocess.run(
        [node, str(VALIDATOR)],
        input=json.dumps(resources),
        capture_output=True,
        text=True,
        cwd=NODE_DIR,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    report: list[dict[str, Any]] = json.loads(proc.stdout)
    return report


INVALID = {"resourceType": "MedicationStatement", "status": "unknown", "bogus": 1}


@pytest.fixture(scope="module")
def checked() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """One Node run (loading the definitions takes seconds): a known-bad resource, then bundles."""
    bundles = [
        enrich_sample(name, profile).transaction_bundle()
        for name in sample_names()
        for profile in PROFILES
    ]
    return bundles, _medplum([INVALID, *bundles])


def test_all_samples_and_profiles_pass_medplum(
    checked: tuple[list[dict[str, Any]], list[dict[str, Any]]],
) -> None:
    bundles, report = checked
    report = report[1:]
    # Each bundle, then each of its entry resources.
    expected = sum(1 + sum(1 for e in b["entry"] if "resource" in e) for b in bundles)
    assert len(report) == expected
    problems = [
        (item["resourceType"], item["id"], issue)
        for item in report
        for issue in item["issues"]
        if issue["severity"] in ("error", "fatal")
    ]
    assert problems == []


def test_medplum_validator_reports_errors(
    checked: tuple[list[dict[str, Any]], list[dict[str, Any]]],
) -> None:
    """The harness can fail: a MedicationStatement without subject and medication is rejected."""
    first = checked[1][0]
    assert first["resourceType"] == "MedicationStatement"
    expressions = {e for issue in first["issues"] for e in issue["expression"]}
    assert "MedicationStatement.subject" in expressions
    assert "MedicationStatement.bogus" in expressions


def test_meaning_resources_pass_medplum() -> None:
    """AllergyIntolerance, smoking-status Observation, MedicationStatement with dosage and
    Conditions with clinical status, from the clinical-meaning notes, pass Medplum too."""
    from tests.unit.meaning_fixtures import build_engine
    from tests.unit.test_meaning_notes import every_bundle

    bundles = every_bundle(build_engine())
    resources = [e["resource"] for b in bundles for e in b["entry"]]
    kinds = {r["resourceType"] for r in resources}
    assert kinds >= {"AllergyIntolerance", "Observation", "MedicationStatement", "Condition"}
    assert any("dosage" in r for r in resources)
    assert any("clinicalStatus" in r for r in resources if r["resourceType"] == "Condition")
    report = _medplum(resources)
    assert len(report) == len(resources)
    problems = [
        (item["resourceType"], issue)
        for item in report
        for issue in item["issues"]
        if issue["severity"] in ("error", "fatal")
    ]
    assert problems == []
