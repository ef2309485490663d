"""Linker ranking on tiny assets (ICD-10-CM subset + fake RxNorm RRF) and on the full build."""

from __future__ import annotations

from pathlib import Path

import pytest

from models.build import read_manifest
from nlp.local.assets import assets_dir
from nlp.local.lexicon import AssetsMissingError
from nlp.local.linker import Icd10Linker, RxNormLinker
from tests.unit.test_models_build import tiny_assets  # noqa: F401 (session fixture)


@pytest.fixture(scope="module")
def icd(tiny_assets: tuple[Path, Path]) -> Icd10Linker:  # noqa: F811
    return Icd10Linker.from_assets(tiny_assets[0])


@pytest.fixture(scope="module")
def rx(tiny_assets: tuple[Path, Path]) -> RxNormLinker:  # noqa: F811
    return RxNormLinker.from_assets(tiny_assets[0])


def _codes(concepts: list) -> list[str]:  # type: ignore[type-arg]
    return [c.code for c in concepts]


@pytest.mark.parametrize(
    ("text", "attributes", "expected"),
    [
        ("otitis media", (), "H66.90"),
        ("Otitis media NOS", (), "H66.90"),
        ("left knee pain", (), "M25.562"),
        ("knee pain", ("left",), "M25.562"),
        ("knee pain", (), "M25.569"),
        ("pain in right knee", (), "M25.561"),
        ("acute bronchitis", (), "J20.9"),
        ("HTN", (), "I10"),
        ("high blood pressure", (), "I10"),
        ("hypertention", (), "I10"),
        ("chest pain", (), "R07.9"),
        ("headache", (), "R51.9"),
    ],
)
def test_icd_top1(icd: Icd10Linker, text: str, attributes: tuple[str, ...], expected: str) -> None:
    concepts = icd.link(text, attributes=attributes)
    assert concepts[0].code == expected, [(c.code, c.score) for c in concepts]


def test_icd_scores_are_ranked_probabilities(icd: Icd10Linker) -> None:
    concepts = icd.link("otitis media", k=4)
    assert len(concepts) == 4
    scores = [c.score for c in concepts]
    assert all(s is not None and 0.0 <= s <= 1.0 for s in scores)
    assert scores == sorted(scores, reverse=True)  # type: ignore[type-var]
    assert all(c.code.startswith("H6") for c in concepts)
    assert concepts[0].description == "Otitis media, unspecified, unspecified ear"
    assert concepts[0].score > concepts[1].score  # type: ignore[operator]


def test_icd_fuzzy_and_empty(icd: Icd10Linker) -> None:
    fuzzy = icd.link("otitis medi")
    assert fuzzy
    assert fuzzy[0].code.startswith("H6")
    assert icd.link("   ") == []
    assert icd.link("zzzz qqqq") == [] or icd.link("zzzz qqqq")[0].score < 0.5  # type: ignore[operator]


def test_icd_memoised(icd: Icd10Linker) -> None:
    first = icd.link("acute bronchitis", attributes=("severe",))  # not pre-linked
    assert icd.link("acute bronchitis", attributes=("severe",)) == first
    assert icd._link.cache_info().hits >= 1


def test_rx_clinical_drug_when_strength_and_form_known(rx: RxNormLinker) -> None:
    assert _codes(rx.link("amoxicillin 500 mg oral capsule"))[:2] == ["308191", "723"]
    assert rx.link("amoxicillin", strength="500 mg", form="capsule")[0].code == "308191"
    assert rx.link("amoxicillin", strength="500mg", form="tab", route="PO")[0].code == "308192"


def test_rx_ingredient_or_brand_otherwise(rx: RxNormLinker) -> None:
    assert rx.link("amoxicillin")[0].code == "723"
    assert rx.link("Amoxicillin 500 mg")[0].code in {"308191", "308192", "723"}
    assert rx.link("Amoxil")[0].code == "900001"
    assert rx.link("amoxil 500 mg capsule")[0].code == "900002"  # brand -> SBD
    assert rx.link("amoxycillin")[0].code == "723"  # RRF synonym
    assert rx.link("amoxicillin 500 mg twice daily")[0].code == "723"  # sig words ignored
    assert rx.link("APAP")[0].code == "161"  # abbreviation


def test_rx_scores(rx: RxNormLinker) -> None:
    concepts = rx.link("amoxicillin 500 mg oral capsule", k=3)
    scores = [c.score or 0.0 for c in concepts]
    assert scores == sorted(scores, reverse=True)
    assert all(0.0 <= s <= 1.0 for s in scores)
    assert concepts[0].description == "amoxicillin 500 MG Oral Capsule"


def test_missing_assets(tmp_path: Path) -> None:
    with pytest.raises(AssetsMissingError, match="NLP143"):
        Icd10Linker.from_assets(tmp_path)
    with pytest.raises(AssetsMissingError, match="NLP144"):
        RxNormLinker.from_assets(tmp_path)


# ------------------------------------------------------------ full assets (built by `make test`)
def _full() -> Path:
    base = assets_dir()
    manifest = read_manifest(base)
    if manifest is None or manifest["fingerprint"].get("icd_subset"):
        pytest.skip("full assets not built: run `docref-nlp models build`")
    return base


def _load_full(cls: type[Icd10Linker] | type[RxNormLinker]) -> Icd10Linker | RxNormLinker:
    try:
        return cls.from_assets(_full())
    except AssetsMissingError as exc:
        pytest.skip(f"full assets stale: {exc}")


def test_full_icd_examples() -> None:
    icd = _load_full(Icd10Linker)
    assert isinstance(icd, Icd10Linker)
    assert icd.link("otitis media")[0].code.startswith("H66.9")
    assert icd.link("left knee pain")[0].code == "M25.562"
    assert icd.link("acute bronchitis")[0].code == "J20.9"
    assert icd.link("CHF")[0].code.startswith("I50")
    assert icd.link("type 2 diabetes mellitus")[0].code.startswith("E11")


def test_full_rxnorm_examples() -> None:
    rx = _load_full(RxNormLinker)
    assert isinstance(rx, RxNormLinker)
    top = rx.link("amoxicillin 500 mg oral capsule")[0].code
    if "308191" in rx.assets.concepts:
        assert top == "308191"
    else:  # seed vocabulary: no such clinical drug, so the ingredient
        assert top == "723"
    assert rx.link("Tylenol")[0].code in {"161", "202433"}
    assert rx.link("lisinopril 10 mg tablet")[0].code == "314076"


def test_models_check_on_tiny_assets(tiny_assets: tuple[Path, Path]) -> None:  # noqa: F811
    from models.check import run_check

    report = run_check(tiny_assets[0], None, sample=50)
    assert report["load"]["icd_load_cpu_s"] >= 0
    assert report["load"]["lexicon_terms"] > 0
    assert report["latency"]["icd_mentions"] > 0
    assert report["latency"]["icd_uncached_us"] > 0
    assert "skipped" in report


def test_prelinked_lexicon_matches_live_linking(
    tiny_assets: tuple[Path, Path],  # noqa: F811
    icd: Icd10Linker,
    rx: RxNormLinker,
) -> None:
    from nlp.local.lexicon import load_lexicon

    terms = load_lexicon(tiny_assets[0])
    conditions = [t.text for t in terms if t.category == "MEDICAL_CONDITION"][:200]
    drugs = [t.text for t in terms if t.category == "MEDICATION"][:100]
    assert len(icd.assets.prelinked) >= len(set(map(str.lower, conditions))) // 2
    for text in conditions:
        assert [(c.code, c.score) for c in icd.link(text)] == icd._link_uncached(text, 5, ())
        assert [c.code for c in icd.link(text, k=2)] == [c.code for c in icd.link(text)][:2]
    for text in drugs:
        assert [(c.code, c.score) for c in rx.link(text)] == rx._link_uncached(
            text, None, None, None, 5
        )
