"""ICD-10-CM precision first: a low-scored fuzzy code is worse than none; the threshold is
measured on held-out inclusion terms by ``models build``."""

from __future__ import annotations

from pathlib import Path

import pytest

from models.build import read_manifest
from models.calibrate import choose_fuzzy_threshold
from nlp.local.linker import Icd10Linker
from tests.unit.test_models_build import tiny_assets  # noqa: F401 (session fixture)


def test_threshold_maximises_right_minus_wrong() -> None:
    tops = [(0.95, True), (0.9, True), (0.7, False), (0.65, True), (0.5, False), (0.3, False)]
    got = choose_fuzzy_threshold(tops)
    assert got["fuzzy_threshold"] == 0.9  # accepting 0.7 and 0.65 would add one wrong, one right
    assert got["fuzzy_coverage"] == round(2 / 6, 4)
    assert got["fuzzy_precision"] == 1.0
    assert got["fuzzy_precision_before"] == 0.5
    # all wrong: accept nothing
    assert choose_fuzzy_threshold([(0.8, False), (0.4, False)])["fuzzy_threshold"] == 1.0
    assert choose_fuzzy_threshold([])["fuzzy_coverage"] is None


def test_fuzzy_codes_under_the_threshold_are_dropped(
    tiny_assets: tuple[Path, Path],  # noqa: F811
) -> None:
    icd = Icd10Linker.from_assets(tiny_assets[0])
    cands = icd.candidates("otitis medi")  # no exact name: a fuzzy answer
    assert cands
    assert not any(exact for _c, _s, exact in cands)
    exact = icd.link("otitis media")
    strict = Icd10Linker.from_assets(tiny_assets[0])
    strict.assets.min_fuzzy_similarity = max(s for _c, s, _e in cands) + 0.01
    assert strict.link("otitis medi") == []
    assert strict.link("otitis media") == exact  # an exact name is never dropped
    middle = sorted(s for _c, s, _e in cands)[len(cands) // 2]
    strict_mid = Icd10Linker.from_assets(tiny_assets[0])
    strict_mid.assets.min_fuzzy_similarity = middle
    kept = {c.code for c in strict_mid.link("otitis medi", k=20)}
    assert kept
    assert kept == {c for c, s, _e in cands if s >= middle}


def test_build_records_the_measured_threshold() -> None:
    from nlp.local.assets import assets_dir

    manifest = read_manifest(assets_dir())
    if manifest is None or "fuzzy_threshold" not in manifest.get("evaluation", {}):
        pytest.skip("full assets with calibration not built")
    ev = manifest["evaluation"]
    icd = Icd10Linker.from_assets(assets_dir())
    assert icd.assets.min_fuzzy_similarity == ev["fuzzy_threshold"]
    assert ev["fuzzy_precision"] >= ev["fuzzy_precision_before"]
