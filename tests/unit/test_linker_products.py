"""RxNorm product choice: strength and dose form select the SCD/SBD, else the IN/BN."""

from __future__ import annotations

import pytest

from models.link_assets import build_rx_assets
from nlp.local.linker import Expander, RxNormLinker

CONCEPTS = {
    "7980": ("Penicillin V", "IN"),
    "834061": ("Penicillin V Potassium 250 MG Oral Tablet", "SCD"),
    "834102": ("Penicillin V Potassium 500 MG Oral Tablet", "SCD"),
    "5640": ("Ibuprofen", "IN"),
    "198405": ("Ibuprofen 100 MG Oral Tablet", "SCD"),
    "206905": ("Ibuprofen 400 MG Oral Tablet [Ibu]", "SBD"),
    "3992": ("epinephrine", "IN"),
    "1870230": ("NDA020800 0.3 ML Epinephrine 1 MG/ML Auto-Injector", "SCD"),
    "242969": ("4 ML Norepinephrine 1 MG/ML Injection", "SCD"),
    # no IN known for loratadine: products are found by their spelled ingredient
    "311372": ("Loratadine 10 MG Oral Tablet", "SCD"),
    "665078": ("Loratadine 5 MG Chewable Tablet", "SCD"),
    "723": ("amoxicillin", "IN"),
    "308191": ("Amoxicillin 500 MG Oral Capsule", "SCD"),
    "308192": ("Amoxicillin 500 MG Oral Tablet", "SCD"),
    "900002": ("Amoxicillin 500 MG Oral Capsule [Amoxil]", "SBD"),
}
INGREDIENTS = {
    "834061": {"7980"},
    "834102": {"7980"},
    "198405": {"5640"},
    "206905": {"5640"},
    "1870230": {"3992"},
    "308191": {"723"},
    "308192": {"723"},
    "900002": {"723"},
}


@pytest.fixture(scope="module")
def rx() -> RxNormLinker:
    assets, index = build_rx_assets(CONCEPTS, INGREDIENTS, [], "test", "test")
    return RxNormLinker(assets, index, Expander({}, {}))


def _top(
    rx: RxNormLinker,
    text: str,
    strength: str | None = None,
    form: str | None = None,
    route: str | None = None,
) -> list[str]:
    return [c.code for c in rx.link(text, strength=strength, form=form, route=route)]


def test_scd_by_spelled_ingredient_strength_and_form(rx: RxNormLinker) -> None:
    got = _top(rx, "penicillin v potassium", strength="250 mg", form="tablet", route="oral")
    assert got[:2] == ["834061", "7980"]
    got = _top(rx, "penicillin v potassium", strength="500 mg", form="oral tablet")
    assert got[0] == "834102"


def test_ingredient_without_strength(rx: RxNormLinker) -> None:
    # the product's spelling of the ingredient names the IN
    assert _top(rx, "penicillin v potassium")[0] == "7980"
    assert _top(rx, "ibuprofen")[0] == "5640"


def test_sbd_when_no_scd_matches(rx: RxNormLinker) -> None:
    assert _top(rx, "ibuprofen", strength="400 mg", form="tablet")[:2] == ["206905", "5640"]


def test_scd_before_sbd_for_a_generic_mention(rx: RxNormLinker) -> None:
    got = _top(rx, "amoxicillin", strength="500 mg", form="capsule")
    assert got[:2] == ["308191", "723"]
    assert got.index("900002") > got.index("723")
    assert _top(rx, "Amoxil", strength="500 mg", form="capsule")[0] == "900002"


def test_strength_alone_selects_only_an_unambiguous_product(rx: RxNormLinker) -> None:
    # one epinephrine product at 1 mg/ml (norepinephrine is a look-alike, not the same drug)
    assert _top(rx, "epinephrine", strength="1 mg/ml")[0] == "1870230"
    # capsule and tablet at 500 mg: the ingredient stays first
    assert _top(rx, "amoxicillin", strength="500 mg")[0] == "723"


def test_products_without_a_known_ingredient(rx: RxNormLinker) -> None:
    assert _top(rx, "loratadine", strength="5 mg", form="chewable tablet")[0] == "665078"
    assert _top(rx, "loratadine", strength="10 mg", form="tablet")[0] == "311372"


def test_wrong_strength_never_first(rx: RxNormLinker) -> None:
    got = rx.link("penicillin v potassium", strength="125 mg", form="tablet")
    assert got[0].code == "7980"
    scores = [c.score or 0.0 for c in got]
    assert scores == sorted(scores, reverse=True)
    assert all(0 <= s <= 1 for s in scores)
