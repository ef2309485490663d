"""RxNorm linking, precision first (DESIGN D17): refusals, spelling variants, release forms,
combination products, brands, bracketed brands and packs, on a tiny vocabulary."""

from __future__ import annotations

import pytest

from models.link_assets import build_rx_assets, concept_identities
from nlp.local.linker import Expander, RxNormLinker

# Real RxCUIs and names (RxNorm, public domain); look-alikes of drugs the vocabulary lacks.
CONCEPTS = {
    "5640": ("Ibuprofen", "IN"),
    "198405": ("ibuprofen 100 MG Oral Tablet", "SCD"),
    "20489": ("cefpodoxime", "IN"),
    "519": ("Allopurinol", "IN"),
    "5489": ("hydrocodone", "IN"),
    "8640": ("Prednisone", "IN"),
    "3443": ("diltiazem", "IN"),
    "1373463": ("canagliflozin 100 MG Oral Tablet", "SCD"),
    "6809": ("Metformin", "IN"),
    "861007": ("metformin hydrochloride 500 MG Oral Tablet", "SCD"),
    "860975": ("24 HR metformin hydrochloride 500 MG Extended Release Oral Tablet", "SCD"),
    "1807917": (
        "Osmotic 24 HR metformin hydrochloride 500 MG Extended Release Oral Tablet",
        "SCD",
    ),
    "7646": ("Omeprazole", "IN"),
    "198051": ("omeprazole 20 MG Delayed Release Oral Capsule", "SCD"),
    "1191": ("Aspirin", "IN"),
    "243670": ("aspirin 81 MG Oral Tablet", "SCD"),
    "318272": ("aspirin 81 MG Delayed Release Oral Tablet", "SCD"),
    "308416": ("aspirin 81 MG Chewable Tablet", "SCD"),
    "161": ("Acetaminophen", "IN"),
    "313782": ("Acetaminophen 325 MG Oral Tablet", "SCD"),
    "209387": ("Acetaminophen 325 MG Oral Tablet [Tylenol]", "SBD"),
    "214182": ("Acetaminophen / Hydrocodone", "MIN"),
    "857002": ("acetaminophen 325 MG / hydrocodone bitartrate 5 MG Oral Tablet", "SCD"),
    "856999": ("acetaminophen 325 MG / hydrocodone bitartrate 10 MG Oral Tablet", "SCD"),
    "723": ("Amoxicillin", "IN"),
    "19711": ("Amoxicillin / Clavulanate", "MIN"),
    "562508": ("amoxicillin 875 MG / clavulanate 125 MG Oral Tablet", "SCD"),
    "617296": ("amoxicillin 500 MG / clavulanate 125 MG Oral Tablet", "SCD"),
    "1545658": ("empagliflozin 10 MG Oral Tablet", "SCD"),
    "749882": ("Norinyl 1+50 28 Day Pack", "BPCK"),
    "7804": ("Oxycodone", "IN"),
    "1049543": ("12 HR oxycodone hydrochloride 15 MG Extended Release Oral Tablet", "SCD"),
    "1860154": (
        "Abuse-Deterrent 12 HR oxycodone hydrochloride 15 MG Extended Release Oral Tablet",
        "SCD",
    ),
    "435": ("Albuterol", "IN"),
    "2123111": ("NDA020503 200 ACTUAT Albuterol 0.09 MG/ACTUAT Metered Dose Inhaler", "SCD"),
    "859088": (
        "NDA020983 200 ACTUAT albuterol 0.09 MG/ACTUAT Metered Dose Inhaler [Ventolin]",
        "SBD",
    ),
    "274783": ("Insulin Glargine", "IN"),
    "311041": ("insulin glargine 100 UNT/ML Injectable Solution", "SCD"),
}
NAMES = {"jardiance": "empagliflozin", "insulin": "insulin lispro"}  # drug-NER's, not brands
BRANDS = {
    "augmentin": "amoxicillin / clavulanate",
    "norco": "acetaminophen / hydrocodone",
    "norinyl 1+50": "mestranol / norethindrone",
    "lantus": "insulin glargine",
}
SYNONYMS = [("Tylenol", "161")]


@pytest.fixture(scope="module")
def rx() -> RxNormLinker:
    assets, index = build_rx_assets(CONCEPTS, {}, SYNONYMS, "test", "test", BRANDS, NAMES)
    return RxNormLinker(assets, index, Expander({"apap": "acetaminophen"}, {}))


def _small(concepts: dict[str, tuple[str, str]]) -> RxNormLinker:
    assets, index = build_rx_assets(concepts, {}, [], "test", "test", {})
    return RxNormLinker(assets, index, Expander({}, {}))


def _codes(rx: RxNormLinker, text: str, **kw: str) -> list[str]:
    return [c.code for c in rx.link(text, **kw)]


@pytest.mark.parametrize(
    "text",
    [
        "bupropion",  # not ibuprofen
        "apixaban",  # not cefpodoxime
        "tamsulosin",  # not allopurinol
        "trazodone",  # not hydrocodone
        "prednisolone",  # not prednisone
        "dapagliflozin",  # not canagliflozin
        "diltiazepam",
        "insulin glargin-yfgn",  # not insulin glargine
        "Eliquis",
    ],
)
def test_a_drug_missing_from_the_vocabulary_gets_no_concept(rx: RxNormLinker, text: str) -> None:
    assert rx.link(text, strength="10 mg", route="PO") == []
    assert rx.link(text) == []
    assert rx.identities(text) == set()


def test_every_concept_is_of_the_mentioned_drug(rx: RxNormLinker) -> None:
    for text in ("metformin", "aspirin 81 mg", "hydrocodone", "acetaminophen 325 mg tablet"):
        want = rx.identities(text)
        assert len(want) == 1
        got = rx.link(text, k=10)
        assert got
        assert {rx.assets.identity[c.code] for c in got} == want


def test_spelling_variants_of_the_same_name_link(rx: RxNormLinker) -> None:
    got = rx.link("metformn")
    assert got[0].code == "6809"
    exact = rx.link("metformin")[0]
    assert got[0].score is not None
    assert exact.score is not None
    assert got[0].score < exact.score  # a misspelling is less certain than the name itself
    assert _codes(rx, "amoxicilin")[0] == "723"
    assert _codes(rx, "Tylenol")[0] == "161"  # synonym
    assert _codes(rx, "APAP")[0] == "161"  # abbreviation


def test_extended_release_only_when_the_note_says_so(rx: RxNormLinker) -> None:
    assert _codes(rx, "metformin 500 mg twice daily")[0] == "861007"
    assert "860975" not in _codes(rx, "metformin", strength="500 mg", route="PO", k=10)
    assert _codes(rx, "metformin ER", strength="500 mg")[0] == "860975"
    assert _codes(rx, "metformin", strength="500 mg", form="extended release tablet")[0] == (
        "860975"
    )
    # an RxNorm qualifier ("Osmotic") makes another product unless it is said
    assert _codes(rx, "metformin XR osmotic", strength="500 mg")[0] == "1807917"


def test_modified_forms_only_when_said_or_when_nothing_else_exists(rx: RxNormLinker) -> None:
    assert _codes(rx, "aspirin", strength="81 mg", route="PO")[0] == "243670"
    assert _codes(rx, "aspirin chewable", strength="81 mg")[0] == "308416"
    assert _codes(rx, "aspirin EC", strength="81 mg")[0] == "318272"
    # omeprazole is delayed release only: the note need not say it
    assert _codes(rx, "omeprazole", strength="20 mg", form="capsule")[0] == "198051"


def test_strength_and_qualifier_select_the_product(rx: RxNormLinker) -> None:
    plain = _codes(rx, "oxycodone hydrochloride extended release", strength="15 mg")
    assert plain[0] == "1049543"
    said = _codes(rx, "oxycodone hydrochloride abuse-deterrent 12 hr", strength="15 mg")
    assert said[0] == "1860154"
    # another strength never ranks: the ingredient, no product
    assert _codes(rx, "oxycodone ER", strength="30 mg", k=10) == ["7804"]


@pytest.mark.parametrize(
    ("text", "strength", "expected"),
    [
        ("amoxicillin/clavulanate", None, "19711"),
        ("amoxicillin-clavulanate", None, "19711"),
        ("clavulanate / amoxicillin", None, "19711"),
        ("Augmentin", None, "19711"),
        ("Augmentin", "875 mg", "562508"),  # one strength names the product
        ("amoxicillin / clavulanate 875-125 mg", None, "562508"),
        ("hydrocodone-acetaminophen", None, "214182"),
        ("hydrocodone bitartrate / APAP 5/325 mg", None, "857002"),
        ("Norco 10/325 mg", None, "856999"),
        ("Norco", "5 mg", "857002"),
        ("hydrocodone and acetaminophen 5-325 mg", None, "857002"),
    ],
)
def test_combinations_link_to_the_multi_ingredient_concept(
    rx: RxNormLinker, text: str, strength: str | None, expected: str
) -> None:
    got = rx.link(text, strength=strength)
    assert got[0].code == expected, [(c.code, c.score) for c in got]
    assert all(" / " in rx.assets.identity[c.code] for c in got)


def test_a_single_ingredient_is_not_its_combination(rx: RxNormLinker) -> None:
    assert _codes(rx, "hydrocodone")[0] == "5489"
    assert all(rx.assets.identity[c] == "hydrocodone" for c in _codes(rx, "hydrocodone"))


def test_brand_in_brackets_selects_the_sbd(rx: RxNormLinker) -> None:
    got = _codes(rx, "acetaminophen [Tylenol]", strength="325 mg", form="tablet", route="oral")
    assert got[0] == "209387"
    generic = _codes(rx, "acetaminophen", strength="325 mg", form="tablet", route="oral")
    assert generic[0] == "313782"  # the SCD for a generic mention
    # the whole SCD name written, its brand in brackets: the SBD
    got = _codes(rx, "Acetaminophen 325 MG Oral Tablet [Tylenol]")
    assert got[0] == "209387"
    # per-actuation strengths of inhalers
    assert _codes(rx, "albuterol 0.09 mg/actuat [Ventolin]", form="inhaler")[0] == "859088"
    assert _codes(rx, "albuterol 0.09 mg/actuat", form="inhaler")[0] == "2123111"
    # the quantity ("200 actuat") picks among products that differ only by it
    assert _codes(rx, "albuterol 200 actuat 0.09 mg/actuat", form="inhaler")[0] == "2123111"
    # a bracketed brand of another drug does not change the drug
    assert _codes(rx, "acetaminophen [Augmentin]", strength="325 mg", form="tablet")[0] == (
        "313782"
    )


def test_brand_known_only_by_its_products(rx: RxNormLinker) -> None:
    assert _codes(rx, "Jardiance", strength="10 mg", route="PO")[0] == "1545658"
    assert _codes(rx, "Jardiance", strength="25 mg") == []  # contradicts every product


def test_pack_brand_with_one_product(rx: RxNormLinker) -> None:
    assert _codes(rx, "norinyl")[0] == "749882"
    assert rx.assets.identity["749882"] == "mestranol / norethindrone"
    # another source's name is no brand: it never renames the products it begins
    assert rx.assets.identity["311041"] == "insulin glargine"


def test_units_dose_is_not_a_concentration(rx: RxNormLinker) -> None:
    got = _codes(rx, "Lantus", strength="20 units")
    assert got[0] == "274783"
    assert "311041" in got


def test_scores_rank_and_stay_in_range(rx: RxNormLinker) -> None:
    for text in ("metformin 500 mg tablet", "Norco 5/325 mg", "metformn", "aspirin"):
        scores = [c.score or 0.0 for c in rx.link(text)]
        assert scores == sorted(scores, reverse=True)
        assert all(0.0 <= s <= 1.0 for s in scores)


def test_identities_of_synthea_displays_and_brands() -> None:
    concepts = {
        "1367439": ("NuvaRing 0.12/0.015 MG per 24HR 21 Day Vaginal System", "SCD"),
        "205532": ("Pulmozyme (Dornase Alfa)", "BN"),
        "4099": ("Estrogens, Conjugated (USP)", "IN"),
        "10831": ("Sulfamethoxazole / Trimethoprim", "MIN"),
    }
    brands = {"nuvaring": "ethinyl estradiol / etonogestrel"}
    idents, parsed = concept_identities(concepts, {}, brands)
    assert idents == {
        "1367439": "ethinyl estradiol / etonogestrel",
        "205532": "dornase alfa",
        "4099": "estrogens conjugated",
        "10831": "sulfamethoxazole / trimethoprim",
    }
    assert parsed["1367439"][1].startswith("nuvaring")


def test_strengths_in_other_units() -> None:
    concepts = {
        "10582": ("levothyroxine", "IN"),
        "966222": ("levothyroxine sodium 0.05 MG Oral Tablet", "SCD"),
        "7407": ("nicotine", "IN"),
        "198031": ("24 HR nicotine 0.292 MG/HR Transdermal System", "SCD"),
        "245134": ("72 HR fentanyl 0.025 MG/HR Transdermal System", "SCD"),
        "4337": ("Fentanyl", "IN"),
    }
    rx = _small(concepts)
    assert rx.link("levothyroxine", strength="50 mcg", route="PO")[0].code == "966222"
    assert rx.link("nicotine 7 mg/day patch")[0].code == "198031"
    assert rx.link("fentanyl 72 hr 0.025 mg/hr", form="transdermal system")[0].code == "245134"
    assert rx.link("levothyroxine", strength="75 mcg")[0].code == "10582"  # no such product


def test_mention_and_attributes_spelling_a_product_name() -> None:
    concepts = {
        "18631": ("azithromycin", "IN"),
        "212446": ("Azithromycin 250mg", "SCD"),  # a display without a dose form
        "308460": ("azithromycin 250 MG Oral Tablet", "SCD"),
        "308459": ("azithromycin 250 MG Oral Capsule", "SCD"),
    }
    rx = _small(concepts)
    assert rx.link("azithromycin", strength="250mg")[0].code == "212446"
    assert rx.link("azithromycin", strength="250 mg", form="tablet")[0].code == "308460"
    assert rx.link("azithromycin", strength="500 mg")[0].code == "18631"


def test_a_patch_wear_time_is_not_extended_release() -> None:
    rx = _small(
        {
            "7407": ("nicotine", "IN"),
            "198029": ("24 HR nicotine 0.583 MG/HR Transdermal System", "SCD"),
        }
    )
    assert rx.link("24 HR nicotine 0.583 MG/HR Transdermal System")[0].code == "198029"
    assert rx.link("nicotine 24 hr patch 14 mg/day")[0].code == "198029"


def test_syringe_pen_and_volume_select_the_injectable() -> None:
    rx = _small(
        {
            "327361": ("adalimumab", "IN"),
            "1726844": ("0.4 ML adalimumab 100 MG/ML Prefilled Syringe", "SCD"),
            "1726847": ("0.8 ML adalimumab 100 MG/ML Prefilled Syringe", "SCD"),
            "1726850": ("0.4 ML adalimumab 100 MG/ML Pen Injector", "SCD"),
        }
    )
    assert rx.link("adalimumab 0.4 ml 100 mg/ml syringe")[0].code == "1726844"
    assert rx.link("adalimumab 0.8 ml 100 mg/ml", form="prefilled syringe")[0].code == "1726847"
    assert rx.link("adalimumab 0.4 ml 100 mg/ml pen")[0].code == "1726850"
    assert rx.link("adalimumab 100 mg/ml", form="injection")[0].code == "327361"  # three agree
