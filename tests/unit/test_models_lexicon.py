"""Lexicon contents: hand-made lists, per-source term extraction, save/load, normalisation."""

from __future__ import annotations

import doctest
import json
from pathlib import Path

import pytest

import models.handmade
import models.rxnorm
import models.sources
import nlp.local.ngram_index
import nlp.local.normalize
from models import handmade
from models.icd10 import build_icd_kb
from models.sources import (
    condition_variants,
    dedupe,
    drugner_synonyms,
    drugner_terms,
    hpo_terms,
    icd_terms,
    synthea_condition_codes,
    synthea_condition_terms,
    synthea_terms,
)
from nlp.local.lexicon import AssetsMissingError, Term, load_lexicon, save_lexicon
from nlp.local.ngram_index import NgramIndex

OBO = """format-version: 1.2

[Term]
id: HP:0000001
name: All

[Term]
id: HP:0000118
name: Phenotypic abnormality
is_a: HP:0000001 ! All

[Term]
id: HP:0002315
name: Headache
synonym: "Cephalgia" EXACT []
synonym: "Head pain" RELATED []
is_a: HP:0000118 ! Phenotypic abnormality

[Term]
id: HP:0000005
name: Mode of inheritance
is_a: HP:0000001 ! All

[Term]
id: HP:0099999
name: Old sign
is_obsolete: true

[Term]
id: HP:0012759
name: Abnormality of the nervous system
is_a: HP:0000118 ! Phenotypic abnormality

[Typedef]
id: part_of
name: part of
"""


@pytest.mark.parametrize(
    "module",
    [nlp.local.normalize, nlp.local.ngram_index, models.rxnorm, models.handmade, models.sources],
)
def test_doctests(module: object) -> None:
    result = doctest.testmod(module, verbose=False)  # type: ignore[arg-type]
    assert result.failed == 0


def test_abbreviations_are_well_formed() -> None:
    import simple_icd_10_cm as cm

    abbrevs = handmade.abbreviations()
    by_abbr = {a.abbr: a for a in abbrevs}
    assert by_abbr["HTN"].expansion == "hypertension"
    assert by_abbr["HTN"].code == "I10"
    assert by_abbr["SOB"].category == "MEDICAL_CONDITION"
    assert by_abbr["APAP"].type == "GENERIC_NAME"
    for a in abbrevs:
        assert a.category in {
            "MEDICAL_CONDITION",
            "MEDICATION",
            "ANATOMY",
            "TEST_TREATMENT_PROCEDURE",
        }
        if a.category == "MEDICAL_CONDITION" and a.code:
            assert cm.is_valid_item(a.code), a  # ICD-10-CM codes must exist and be billable
            assert cm.is_leaf(a.code), a


def test_misspellings_and_ingredients() -> None:
    fixes = handmade.misspellings()
    assert fixes["pnuemonia"] == "pneumonia"
    assert all(wrong != right for wrong, right in fixes.items())
    ingredients = handmade.ingredients()
    assert ingredients["723"] == "amoxicillin"
    assert len(set(ingredients.values())) == len(ingredients)


def test_expander() -> None:
    exp = handmade.expander()
    assert exp.expand("htn") == "hypertension"
    assert exp.expand("chf exacerbation") == "congestive heart failure exacerbation"
    assert exp.expand("pe") == "pulmonary embolism"  # whole mention: expanded
    assert exp.expand("pe tube") == "pe tube"  # short abbreviation inside a phrase: kept
    assert exp.expand("diabetis") == "diabetes"


def test_list_terms_cover_each_category() -> None:
    terms = handmade.list_terms()
    kinds = {(t.category, t.type) for t in terms}
    assert ("ANATOMY", "SYSTEM_ORGAN_SITE") in kinds
    assert ("TEST_TREATMENT_PROCEDURE", "TEST_NAME") in kinds
    assert ("TEST_TREATMENT_PROCEDURE", "PROCEDURE_NAME") in kinds
    assert ("TEST_TREATMENT_PROCEDURE", "TREATMENT_NAME") in kinds
    assert Term("HTN", "MEDICAL_CONDITION", "DX_NAME", "abbrev", "I10") in terms
    assert any(t.text == "knee" and t.source == "anatomy" for t in terms)


def test_hpo_terms_from_obo(tmp_path: Path) -> None:
    obo = tmp_path / "hp.obo"
    obo.write_text(OBO, encoding="utf-8")
    terms = list(hpo_terms(obo))
    texts = {t.text for t in terms}
    assert texts == {"Headache", "Cephalgia"}  # EXACT synonyms only; no root/obsolete/"Abnormality"
    assert all(t.code == "HP:0002315" and t.category == "MEDICAL_CONDITION" for t in terms)


def test_icd_terms_are_clean_surface_forms() -> None:
    kb = build_icd_kb(codes=["H66", "J20", "I10", "Z00"])
    terms = {t.text: t for t in icd_terms(kb)}
    assert terms["Otitis media"].code == "H66.90"
    assert "Acute bronchitis" in terms
    assert "hypertension" in {t.lower() for t in terms}
    assert not any("," in t for t in terms)
    assert not any(t.code and t.code.startswith("Z") for t in terms.values())


def test_synthea_terms() -> None:
    terms = list(
        synthea_terms(
            {
                "10509002": "Acute bronchitis (disorder)",
                "117015009": "Throat culture (procedure)",
                "1234": "Something without a tag",
            }
        )
    )
    assert Term("Acute bronchitis", "MEDICAL_CONDITION", "DX_NAME", "synthea", "10509002") in terms
    assert terms[1].type == "PROCEDURE_NAME"
    assert len(terms) == 2


def test_drugner_terms_and_synonyms() -> None:
    terms = {t.text: t for t in drugner_terms()}
    assert terms["tylenol"].type == "BRAND_NAME"
    assert terms["acetaminophen"].type == "GENERIC_NAME"
    assert "today" not in terms
    assert not any("," in t for t in terms)

    from models.rxnorm import RxKb

    concepts = {"161": ("acetaminophen", "IN"), "10831": ("Sulfamethoxazole / Trimethoprim", "MIN")}
    syn = dict(drugner_synonyms(RxKb(version="t", source="t", concepts=concepts)))
    assert syn["tylenol"] == "161"
    assert syn["bactrim"] == "10831"  # multi-ingredient brand -> MIN
    assert "acetaminophen" not in syn  # already the concept's own name


def test_dedupe_first_source_wins() -> None:
    a = Term("Aspirin", "MEDICATION", "GENERIC_NAME", "rxnorm", "1191")
    b = Term("aspirin", "MEDICATION", "BRAND_NAME", "drugner", None)
    c = Term("aspirin", "MEDICAL_CONDITION", "DX_NAME", "hpo", None)
    assert dedupe([a, b, c]) == [a, c]


def test_lexicon_roundtrip_and_missing(tmp_path: Path) -> None:
    terms = [Term("knee", "ANATOMY", "SYSTEM_ORGAN_SITE", "anatomy", None)]
    save_lexicon(terms, tmp_path)
    assert load_lexicon(tmp_path) == terms
    with pytest.raises(AssetsMissingError, match="NLP142"):
        load_lexicon(tmp_path / "absent")


def test_ngram_index_roundtrip(tmp_path: Path) -> None:
    names = ["otitis media", "acute bronchitis", "pain in left knee", "pain in right knee"]
    index = NgramIndex.build(names)
    assert index.search("left knee pain", 2)[0][0] == 2
    assert index.search("bronchitis acute", 1)[0][1] == pytest.approx(1.0, abs=1e-5)
    assert index.search("", 3) == []
    index.save(tmp_path / "i.npz")
    loaded = NgramIndex.load(tmp_path / "i.npz")
    assert loaded.search("otitis medai", 1) == index.search("otitis medai", 1)


def test_synthea_condition_codes_and_terms() -> None:
    module = {
        "states": {
            "Onset": {
                "type": "ConditionOnset",
                "codes": [
                    {
                        "system": "SNOMED-CT",
                        "code": "314529007",
                        "display": "Medication review due (situation)",
                    },
                    {"system": "SNOMED-CT", "code": "714628002", "display": "Prediabetes"},
                ],
            },
            "Proc": {
                "type": "Procedure",
                "codes": [
                    {"system": "SNOMED-CT", "code": "1", "display": "Throat culture (procedure)"}
                ],
            },
            "Nested": [
                {
                    "type": "ConditionOnset",
                    "codes": [
                        {
                            "system": "SNOMED-CT",
                            "code": "26929004",
                            "display": "Alzheimer's disease (disorder)",
                        }
                    ],
                }
            ],
        }
    }
    codes = synthea_condition_codes([json.dumps(module)])
    assert set(codes) == {"314529007", "714628002", "26929004"}
    terms = list(synthea_condition_terms(codes))
    texts = {t.text for t in terms}
    assert {
        "Medication review due",
        "Prediabetes",
        "Alzheimer's disease",
        "Alzheimers disease",
    } <= texts
    assert all(
        t.category == "MEDICAL_CONDITION" and t.type == "DX_NAME" and t.source == "synthea-snomed"
        for t in terms
    )
    assert next(t for t in terms if t.text == "Prediabetes").code == "714628002"
    assert condition_variants("Body mass index 30+ - obesity (finding)") == [
        "Body mass index 30+ - obesity",
        "Body mass index 30+ obesity",
    ]
