"""The ICD-10-CM linker on clinical phrasing: synonyms, plurals, nonessential words, attributes,
numbers; the held-out half of the phrase table as a floor (real assets)."""

from __future__ import annotations

from pathlib import Path

import pytest

from models.build import read_manifest
from models.icd10 import KIND_DESC, KIND_SITE, KIND_SYNONYM
from models.link_assets import build_icd_assets
from nlp.evaluation.icd_phrases import engine_top, linker_top, read_phrases, score_phrases
from nlp.local.linker import (
    SYNONYM_SCORE,
    Calibration,
    Icd10Linker,
    _scored,
    fallback_forms,
    singular_forms,
)
from tests.unit.test_models_build import tiny_assets  # noqa: F401 (session fixture)


def _linker(names: list[tuple[str, str, int]], descriptions: dict[str, str]) -> Icd10Linker:
    assets, index = build_icd_assets(names, descriptions, "test")
    return Icd10Linker(assets, index)


def test_singular_and_fallback_forms() -> None:
    assert singular_forms(["crackles"]) == [["crackle"], ["crackl"]]
    assert singular_forms(["rhonchi"]) == []  # nothing to drop
    assert singular_forms(["abscess", "ascites"]) == [["abscess", "ascite"], ["abscess", "ascit"]]
    assert fallback_forms(["2+", "pitting", "edema"])[0] == "pitting edema"
    assert "breast cancer" in fallback_forms(["metastatic", "breast", "cancer"])
    assert fallback_forms(["cough"]) == []


def test_a_synonym_names_its_code_with_a_high_score(
    tiny_assets: tuple[Path, Path],  # noqa: F811
) -> None:
    icd = Icd10Linker.from_assets(tiny_assets[0])
    got = icd.link("chest tightness")  # hand-made: R07.89, siblings R07.9, R07.81...
    assert got[0].code == "R07.89"
    assert got[0].score is not None
    assert got[0].score >= SYNONYM_SCORE
    assert all((c.score or 0) < 0.5 for c in got[1:])
    assert icd.link("cp")[0].code == "R07.9"  # nursing shorthand


def test_plural_and_nonessential_words_fall_back_to_the_exact_name(
    tiny_assets: tuple[Path, Path],  # noqa: F811
) -> None:
    icd = Icd10Linker.from_assets(tiny_assets[0])
    assert icd.link("chest pains")[0].code == "R07.9"
    assert icd.link("worsening headache")[0].code == "R51.9"
    exact = [c for c, _s, e in icd.candidates("worsening headache") if e]
    assert exact[0] == "R51.9"


def test_laterality_from_attributes_still_selects_the_side(
    tiny_assets: tuple[Path, Path],  # noqa: F811
) -> None:
    icd = Icd10Linker.from_assets(tiny_assets[0])
    assert icd.link("knee pain", attributes=("left",))[0].code == "M25.562"
    assert icd.link("pain", attributes=("knee", "right"))[0].code == "M25.561"


def test_the_mention_with_its_attributes_wins_over_the_mention_alone() -> None:
    icd = _linker(
        [
            ("Malignant neoplasm of breast", "C50.919", KIND_DESC),
            ("Malignant neoplasm, unspecified", "C80.1", KIND_DESC),
            ("breast cancer", "C50.919", KIND_SITE),
            ("cancer", "C80.1", KIND_SYNONYM),
        ],
        {"C50.919": "Malignant neoplasm of breast", "C80.1": "Malignant neoplasm, unspecified"},
    )
    cands = icd.candidates("cancer", ("breast",))
    assert cands[0][0] == "C50.919"
    assert "C80.1" not in {c for c, _s, e in cands if e}
    assert icd.link("cancer")[0].code == "C80.1"


def test_a_fuzzy_code_with_other_numbers_is_dropped() -> None:
    icd = _linker(
        [
            ("Body mass index [BMI] 19.9 or less, adult", "Z68.1", KIND_DESC),
            ("Body mass index [BMI] 30.0-30.9, adult", "Z68.30", KIND_DESC),
        ],
        {
            "Z68.1": "Body mass index [BMI] 19.9 or less, adult",
            "Z68.30": "Body mass index [BMI] 30.0-30.9, adult",
        },
    )
    icd.assets.min_fuzzy_similarity = 0.0
    assert {c.code for c in icd.link("body mass index 30+ adult")} == {"Z68.30"}
    assert {c.code for c in icd.link("body mass index adult")} == {"Z68.1", "Z68.30"}


def test_synonym_score_floor_only_for_the_first_code() -> None:
    cands = [("R05.9", 0.7, True), ("R05.8", 0.69, False), ("R05.1", 0.6, False)]
    plain = _scored(cands, Calibration(), 3)
    floored = _scored(cands, Calibration(), 3, {"R05.9", "R05.8"})
    assert plain[0][1] < SYNONYM_SCORE <= floored[0][1]
    assert floored[1:] == plain[1:]
    assert [s for _c, s in floored] == sorted((s for _c, s in floored), reverse=True)


# ------------------------------------------------------------- the phrase table, real assets
def _full_assets() -> Path:
    from nlp.local.assets import assets_dir

    manifest = read_manifest(assets_dir()) or {}
    counts = manifest.get("counts", {})
    if manifest.get("fingerprint", {}).get("icd_subset") or not counts.get("icd10cm_extra_names"):
        pytest.skip("full ICD-10-CM assets with the synonym sources not built")
    return assets_dir()


def test_heldout_phrases_link_right_through_the_linker() -> None:
    icd = Icd10Linker.from_assets(_full_assets())
    got = score_phrases(read_phrases("heldout"), linker_top(icd))
    assert got["right_share"] >= 0.95, got["detail"]
    assert got["wrong_share"] <= 0.02, got["detail"]


def test_heldout_phrases_link_right_through_the_engine() -> None:
    from nlp.local import LocalEngine

    engine = LocalEngine.from_assets(_full_assets())
    got = score_phrases(read_phrases("heldout"), engine_top(engine))
    # recognition (the nursing vocabulary) decides the engine's mention: a lower floor
    assert got["right_share"] >= 0.82, got["detail"]
    assert got["wrong_share"] <= 0.07, got["detail"]
