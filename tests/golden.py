"""Golden files: canonical JSON in tests/golden/, rewritten only by ``pytest --update-golden``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

GOLDEN = Path(__file__).resolve().parent / "golden"


def canonical(data: Any) -> str:
    """Canonical JSON text: sorted keys, two-space indent, UTF-8, final newline."""
    return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def assert_golden(name: str, data: Any, update: bool) -> None:
    """Compare ``data`` with ``tests/golden/<name>.json``; rewrite it when ``update``.

    Raises:
        AssertionError: The file is missing or differs (the message says how to update).
    """
    path = GOLDEN / f"{name}.json"
    text = canonical(data)
    if update:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return
    assert path.exists(), f"golden file {path.name} missing: run pytest --update-golden"
    expected = path.read_text(encoding="utf-8")
    if expected != text:
        exp_lines, got_lines = expected.splitlines(), text.splitlines()
        first = next(
            (i for i, (a, b) in enumerate(zip(exp_lines, got_lines, strict=False)) if a != b),
            min(len(exp_lines), len(got_lines)),
        )
        raise AssertionError(
            f"{path.name} differs from line {first + 1} "
            f"(review the change, then run pytest --update-golden)"
        )


# --- samples enriched from their recorded NLP results (shared by the enrich tests) --------------

SAMPLES = Path(__file__).resolve().parent.parent / "samples"
FIXED_NOW_ISO = "2024-01-02T03:04:05.678Z"
ENGINE_NAME = "replay"
ENGINE_VERSION = "samples-1"


def sample_names() -> list[str]:
    """Every ``samples/*.json`` DocumentReference, by name."""
    return sorted(p.stem for p in SAMPLES.glob("*.json"))


def load_json(path: Path) -> Any:
    """Read one JSON file (UTF-8)."""
    return json.loads(path.read_text(encoding="utf-8"))


def enrich_sample(name: str, profile: str) -> Any:
    """Enrich ``samples/<name>.json`` with ``samples/nlp/<name>.json`` at a fixed clock."""
    from datetime import UTC, datetime

    from enrich import EnrichmentPolicy, enrich_document
    from nlp.schema import NlpResult

    doc = load_json(SAMPLES / f"{name}.json")
    nlp_path = SAMPLES / "nlp" / f"{name}.json"
    result = NlpResult.model_validate(load_json(nlp_path)) if nlp_path.exists() else None
    now = datetime(2024, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)
    return enrich_document(
        doc,
        result,
        policy=EnrichmentPolicy(profile=profile),
        now=now,
        engine_name=ENGINE_NAME,
        engine_version=ENGINE_VERSION,
    )
