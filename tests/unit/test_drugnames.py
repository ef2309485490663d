"""Drug-name parsing: strengths, RxNorm name patterns, identities, spelling variants."""

from __future__ import annotations

import pytest

from nlp.local.drugnames import (
    bracket_brand,
    edit_distance,
    form_words,
    identity,
    ingredient_base,
    name_words,
    parse_drug_name,
    parse_strengths,
    product_form_words,
    route_words,
    same_name,
    spelling_variant,
)


@pytest.mark.parametrize(
    ("text", "dash", "expected"),
    [
        ("amoxicillin 500mg cap", False, ("500 mg",)),
        ("0.5 mg/ml", False, ("0.5 mg/ml",)),
        ("Take 2 tablets", False, ()),
        ("insulin 10 units", False, ("10 unt",)),
        ("Norco 5/325 mg", False, ("5 mg", "325 mg")),
        ("lisinopril/HCTZ 20/12.5 mg", False, ("20 mg", "12.5 mg")),
        ("oxycodone 5-10 mg q4h", False, ("10 mg",)),  # a dose range of one drug
        ("hydrocodone-APAP 5-325 mg", True, ("5 mg", "325 mg")),  # a combination's strengths
        ("24 HR nicotine 0.292 MG/HR Transdermal System", False, ("0.292 mg/hr",)),
    ],
)
def test_parse_strengths(text: str, dash: bool, expected: tuple[str, ...]) -> None:
    assert parse_strengths(text, dash=dash) == expected


@pytest.mark.parametrize(
    ("name", "ingredients", "strengths", "form", "brand", "qualifiers"),
    [
        (
            "amoxicillin 250 MG / clavulanate 125 MG Oral Tablet",
            ("amoxicillin", "clavulanate"),
            ("250 mg", "125 mg"),
            "oral tablet",
            None,
            (),
        ),
        (
            "24 HR metformin hydrochloride 500 MG Extended Release Oral Tablet [Glucophage]",
            ("metformin hydrochloride",),
            ("500 mg",),
            "extended release oral tablet",
            "glucophage",
            (),
        ),
        (
            "Abuse-Deterrent 12 HR oxycodone hydrochloride 15 MG Extended Release Oral Tablet",
            ("oxycodone hydrochloride",),
            ("15 mg",),
            "extended release oral tablet",
            None,
            ("abuse deterrent",),
        ),
        (
            "NDA020800 0.3 ML Epinephrine 1 MG/ML Auto-Injector",
            ("epinephrine",),
            ("1 mg/ml",),
            "auto injector",
            None,
            (),
        ),
        (
            "0.25 MG, 0.5 MG Dose 1.5 ML semaglutide 1.34 MG/ML Pen Injector",
            ("semaglutide",),
            ("1.34 mg/ml",),
            "pen injector",
            None,
            (),
        ),
        (
            "0.5 UNT Doses 3 ML insulin lispro 100 UNT/ML Pen Injector",
            ("insulin lispro",),
            ("100 unt/ml",),
            "pen injector",
            None,
            (),
        ),
        (
            "thyroid (USP) 60 MG Oral Tablet",
            ("thyroid",),
            ("60 mg",),
            "oral tablet",
            None,
            (),
        ),
        (
            "{21 (ethinyl estradiol 0.02 MG / levonorgestrel 0.1 MG Oral Tablet) / "
            "7 (inert ingredients 1 MG Oral Tablet) } Pack [Aviane]",
            ("ethinyl estradiol", "levonorgestrel"),
            ("0.02 mg", "0.1 mg"),
            "pack",
            "aviane",
            (),
        ),
    ],
)
def test_parse_drug_name(
    name: str,
    ingredients: tuple[str, ...],
    strengths: tuple[str, ...],
    form: str,
    brand: str | None,
    qualifiers: tuple[str, ...],
) -> None:
    p = parse_drug_name(name)
    assert (p.ingredients, p.strengths, p.form, p.brand, p.qualifiers) == (
        ingredients,
        strengths,
        form,
        brand,
        qualifiers,
    )


@pytest.mark.parametrize(
    ("name", "base"),
    [
        ("metformin hydrochloride", "metformin"),
        ("HYDROcodone Bitartrate", "hydrocodone"),
        ("penicillin V potassium", "penicillin v"),
        ("potassium chloride", "potassium chloride"),  # only a cation would remain
        ("sodium bicarbonate", "sodium bicarbonate"),  # the first word is never a salt
        ("penicillin G benzathine", "penicillin g benzathine"),  # another ingredient
        ("isosorbide mononitrate", "isosorbide mononitrate"),
        ("estrogens, conjugated (USP)", "estrogens conjugated"),
    ],
)
def test_ingredient_base(name: str, base: str) -> None:
    assert ingredient_base(name) == base


def test_identity_is_order_and_salt_insensitive() -> None:
    assert identity(["Acetaminophen", "HYDROcodone Bitartrate"]) == "acetaminophen / hydrocodone"
    assert identity(["hydrocodone", "acetaminophen"]) == "acetaminophen / hydrocodone"
    assert identity(["ethinyl estradiol", "inert ingredients"]) == "ethinyl estradiol"
    assert identity(["isosorbide mononitrate"]) != identity(["isosorbide dinitrate"])


@pytest.mark.parametrize(
    ("a", "b", "variant"),
    [
        ("metformn", "metformin", True),
        ("amoxicilin", "amoxicillin", True),
        ("flouxetine", "fluoxetine", True),  # transposition
        ("hydrochlorothiazine", "hydrochlorothiazide", True),
        ("acetaminophin", "acetaminophen", True),
        ("hydrochlorthiazid", "hydrochlorothiazide", False),  # two edits: not accepted
        ("dihydroergotoxine", "dihydroergotamine", False),
        ("bupropion", "ibuprofen", False),
        ("trazodone", "hydrocodone", False),
        ("tamsulosin", "allopurinol", False),
        ("empagliflozin", "canagliflozin", False),
        ("dapagliflozin", "canagliflozin", False),
        ("lisinopril", "fosinopril", False),
        ("prednisone", "prednisolone", False),
        ("cyclosporine", "cycloserine", False),
        ("hydroxyzine", "hydralazine", False),
        ("quinine", "quinidine", False),
        ("zanax", "xanax", False),  # first letters differ
        ("asa", "ase", False),  # short words must be equal
    ],
)
def test_spelling_variant(a: str, b: str, variant: bool) -> None:
    assert spelling_variant(a, b) is variant


def test_edit_distance_caps_at_limit() -> None:
    assert edit_distance("abc", "abc", 1) == 0
    assert edit_distance("abcd", "abdc", 1) == 1
    assert edit_distance("abcdef", "uvwxyz", 2) == 3
    assert edit_distance("a", "abcdef", 2) == 3


def test_same_name_needs_every_word() -> None:
    assert same_name(["metoprolol", "succinate"], ["metoprolol"])
    assert same_name(["clavulanate", "amoxicilin"], ["amoxicillin", "clavulanate"])
    assert not same_name(["insulin"], ["insulin", "glargine"])
    assert not same_name(["amoxicillin"], ["amoxicillin", "clavulanate"])


def test_mention_words_forms_routes() -> None:
    assert name_words("Metformin ER 500 mg PO twice daily") == ["metformin"]
    assert name_words("vitamin B12 1000 mcg") == ["vitamin", "b12"]
    assert name_words("vitamin A 10000 units") == ["vitamin", "a"]
    assert name_words("Vitamin B 12") == ["vitamin", "b12"]
    assert not same_name(["vitamin", "b"], name_words("Vitamin B 12"))
    assert form_words("tab ER") == {"tablet", "extended"}
    assert form_words("ODT") == {"disintegrating"}
    assert route_words("PO") == {"oral"}
    assert product_form_words("injectable solution") == {"injection", "solution"}
    assert product_form_words("metered dose inhaler") == {"inhaler"}
    assert bracket_brand("acetaminophen 325 mg [Tylenol]") == ("acetaminophen 325 mg", "tylenol")
    assert bracket_brand("acetaminophen") == ("acetaminophen", None)
