"""ICD-10-CM synonym sources (models/icd_sources.py): parsers, tables, derivations."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import pytest
import simple_icd_10_cm as cm

from models import handmade, icd_sources
from models.icd10 import (
    KIND_DESC,
    KIND_ECQM,
    KIND_HPO,
    KIND_INCL,
    KIND_PARENT,
    KIND_SITE,
    KIND_SYNONYM,
    default_leaf,
)
from models.icd_sources import (
    IcdSourceError,
    derived_names,
    distil_ecqm,
    ecqm_names,
    hpo_names,
    linker_chooser,
    official_keys,
    overrides,
    parse_code_table,
    site_names,
    synonym_names,
)
from nlp.local.linker import Expander
from nlp.local.normalize import fold
from tests.conftest import SHARED_DATA

DATA = SHARED_DATA / "ecqm-valuesets"


# ------------------------------------------------------------------------------ table parsing
def test_parse_code_table_skips_comments_and_blank_lines() -> None:
    text = "# header\n\nproductive cough\tR05.9\n  \nrales\tR09.89\textra note\n"
    assert parse_code_table(text) == [("productive cough", "R05.9"), ("rales", "R09.89")]
    assert parse_code_table("snomed\t840539006\tU07.1\n", 3) == [("snomed", "840539006", "U07.1")]


@pytest.mark.parametrize("bad", ["only a phrase\n", "phrase\t\n", "\tR05.9\n"])
def test_parse_code_table_refuses_malformed_rows(bad: str) -> None:
    with pytest.raises(IcdSourceError, match=r"\[NLP175\]"):
        parse_code_table(bad)


# ----------------------------------------------------------------------- the hand-made tables
def test_hand_made_tables_name_billable_codes_once() -> None:
    rows = icd_sources.synonym_rows()
    assert len(rows) > 700  # findings (a few hundred), diagnoses, lexicon synonyms, abbreviations
    seen: dict[str, str] = {}
    for phrase, code in rows:
        assert cm.is_valid_item(code), (phrase, code)
        assert cm.is_leaf(code), (phrase, code)
        f = fold(phrase)
        if f in seen and f not in {fold(a.expansion) for a in handmade.abbreviations()}:
            assert seen[f] == code, f"{phrase!r} named {seen[f]} and {code}"
        seen.setdefault(f, code)
    table = dict(rows)
    # the examples the clinical profile must get right (issue 8)
    assert table["productive cough"] == "R05.9"
    assert table["crackles"] == table["rales"] == table["rhonchi"] == "R09.89"
    assert table["wheezes"] == "R06.2"
    assert table["tachycardic"] == "R00.0"
    assert table["hypotensive"] == "I95.9"
    assert table["lethargic"] == "R53.83"
    assert table["jvd"] == "R09.89"
    assert table["abd distended"] == "R14.0"
    assert table["absent bs"] == "R19.11"
    assert table["low uo"] == "R34"
    assert table["thick tan secretions"] == "R09.3"


def test_lexicon_keeps_only_the_everyday_synonyms() -> None:
    terms = list(icd_sources.lexicon_terms())
    texts = {fold(t.text) for t in terms}
    assert "strep throat" in texts
    assert "hypertension" in texts  # an abbreviation's expansion
    assert "crackles" not in texts
    assert "afib" not in texts
    assert {t.source for t in terms} == {"icd10cm"}


def test_synonym_names_are_keyed_as_written_and_as_expanded() -> None:
    expander = Expander({"abd": "abdominal"}, {})
    names = list(synonym_names([("abd distended", "R14.0")], expander))
    assert names == [
        ("abd distended", "R14.0", KIND_SYNONYM),
        ("abdominal distended", "R14.0", KIND_SYNONYM),
    ]


# ------------------------------------------------------------------------ cancer, by site
def test_site_names_follow_the_index_convention() -> None:
    names = [
        ("Malignant neoplasm of prostate", "C61", KIND_DESC),
        ("Malignant neoplasm of pancreas", "C25.9", KIND_PARENT),
        ("Malignant neoplasm of bronchus or lung", "C34.90", KIND_INCL),
        ("Malignant neoplasm of heart", "C38.0", KIND_DESC),
        ("Malignant neoplasm of heart", "C45.2", KIND_DESC),  # two codes: left out
        ("Malignant neoplasm of unspecified site of breast", "C50.919", KIND_DESC),
        ("Benign neoplasm of pancreas", "D13.6", KIND_DESC),
    ]
    got = {n: c for n, c, k in site_names(names, {"pancreas": ["pancreatic"]}) if k == KIND_SITE}
    assert got["prostate cancer"] == got["prostate ca"] == got["cancer of prostate"] == "C61"
    assert got["pancreatic cancer"] == got["pancreas carcinoma"] == "C25.9"
    assert got["lung cancer"] == got["bronchus malignancy"] == "C34.90"
    assert not any(n.startswith("heart") for n in got)
    assert not any("unspecified" in n for n in got)


def test_site_adjectives_name_tabular_sites() -> None:
    adjectives = icd_sources.site_adjectives()
    assert "pancreatic" in adjectives["pancreas"]
    assert "cervical" in adjectives["cervix uteri"]


# --------------------------------------------------------------------------------------- HPO
def _stanza(hid: str, name: str, *synonyms: str) -> dict[str, list[str]]:
    return {"id": [hid], "name": [name], "synonym": [f'"{s}" EXACT []' for s in synonyms]}


def test_hpo_terms_map_only_when_their_own_name_names_one_code() -> None:
    official = official_keys(
        [
            ("Splenomegaly", "R16.1", KIND_DESC),
            ("Heartburn", "R12", KIND_DESC),
            ("Edema", "R60.9", KIND_DESC),
            ("Localized edema", "R60.0", KIND_DESC),
        ]
    )
    terms = [
        _stanza("HP:1", "Splenomegaly", "Enlarged spleen", "Increased spleen size", "SPM"),
        # the own name is no ICD name: a loose synonym must not carry the term to R12
        _stanza("HP:2", "Gastroesophageal reflux", "Heartburn", "Acid reflux"),
        # two of its names are names of two codes: not clean
        _stanza("HP:3", "Edema", "Localized edema", "Swelling"),
        {"id": ["HP:4"], "name": ["Obsolete thing"], "is_obsolete": ["true"]},
    ]
    got = {(n, c) for n, c, k in hpo_names(terms, official) if k == KIND_HPO}
    assert got == {
        ("Splenomegaly", "R16.1"),
        ("Enlarged spleen", "R16.1"),
        ("Increased spleen size", "R16.1"),
    }


# -------------------------------------------------------------------------------------- eCQM
class _FakeAssets:
    descriptions: ClassVar[dict[str, str]] = {
        "U07.1": "COVID-19",
        "J12.81": "Pneumonia due to SARS-associated coronavirus",
        "H40.10": "Unspecified open-angle glaucoma",
        "H40.112": "Primary open-angle glaucoma, left eye",
        "I10": "Essential (primary) hypertension",
        "N12": "Tubulo-interstitial nephritis, not specified as acute or chronic",
        "N16": "Renal tubulo-interstitial disorders in diseases classified elsewhere",
    }


class _FakeLinker:
    """Ranked candidates by name, as an ``Icd10Linker`` over the tabular list gives them."""

    assets = _FakeAssets()
    ranked: ClassVar[dict[str, list[tuple[str, float, bool]]]] = {
        "essential hypertension": [("I10", 1.0, True)],
        "pyelonephritis": [("N12", 1.0, True), ("N16", 0.99, True)],
        "open-angle glaucoma": [("H40.112", 0.8, False), ("H40.10", 0.78, False)],
    }

    def candidates(self, name: str) -> list[tuple[str, float, bool]]:
        return self.ranked.get(name.lower(), [])


def test_linker_chooser_precision_first() -> None:
    choose = linker_chooser(_FakeLinker(), lambda c: [c] if c in _FakeAssets.descriptions else [])
    # two value sets agree on one code: taken although the name is no ICD name
    assert choose("Disease caused by SARS-CoV-2", {"U07.1"}, True) == "U07.1"
    assert choose("Disease caused by SARS-CoV-2", {"U07.1"}, False) is None
    # the linker's first exact name, when the value set lists it
    assert choose("Essential hypertension", {"I10", "N12"}, False) == "I10"
    # the tabular list says N12, the value set lists only N16: they disagree, nothing
    assert choose("Pyelonephritis", {"N16"}, False) is None
    # a left-eye code is never chosen for a name without laterality
    assert choose("Open-angle glaucoma", {"H40.112"}, False) is None


def test_distil_ecqm_rows() -> None:
    valuesets: list[dict[str, Any]] = [
        {"title": "Essential Hypertension", "codes": {"icd10cm": ["I10"], "snomed": ["59621000"]}},
        {"title": "COVID 19", "codes": {"icd10cm": ["U07.1", "J12.82"], "snomed": ["840539006"]}},
        {"title": "COVID 19 Confirmed", "codes": {"icd10cm": ["U07.1"], "snomed": ["840539006"]}},
        {"title": "Hypertension or Related", "codes": {"icd10cm": ["I10"]}},  # a grouping
    ]
    conditions = {"840539006": "Disease caused by SARS-CoV-2 (disorder)", "1": "Other (finding)"}
    seen: list[tuple[str, frozenset[str], bool]] = []

    def choose(name: str, members: set[str], agreed: bool) -> str | None:
        seen.append((name, frozenset(members), agreed))
        return sorted(members)[-1]

    rows = distil_ecqm(valuesets, conditions, choose)
    assert ("valueset", "Essential Hypertension", "I10") in rows
    assert not any(k == "Hypertension or Related" for _s, k, _c in rows)
    assert ("snomed", "840539006", "U07.1") in rows
    # the SNOMED code's candidates: what its two value sets agree on; the tag is dropped
    assert ("Disease caused by SARS-CoV-2", frozenset({"U07.1"}), True) in seen


def test_ecqm_names_expand_snomed_rows_to_synthea_names() -> None:
    rows = [("valueset", "COVID 19", "U07.1"), ("snomed", "840539006", "U07.1")]
    names = list(
        ecqm_names(rows, {"840539006": "Disease caused by SARS-CoV-2 (disorder)"}, lambda d: [d])
    )
    assert ("COVID 19", "U07.1", KIND_ECQM) in names
    assert ("Disease caused by SARS-CoV-2 (disorder)", "U07.1", KIND_ECQM) in names


def test_committed_ecqm_table_parses_and_names_billable_codes() -> None:
    rows = icd_sources.read_ecqm_table()
    assert rows
    assert {s for s, _k, _c in rows} == {"valueset", "snomed"}
    for _s, _k, code in rows:
        assert cm.is_valid_item(code), code
        assert cm.is_leaf(code), code


@pytest.mark.skipif(not DATA.exists(), reason="shared eCQM value sets not present")
def test_read_valuesets_keeps_the_icd_ones() -> None:
    valuesets = icd_sources.read_valuesets(DATA)
    assert len(valuesets) > 200
    assert all(vs["codes"]["icd10cm"] for vs in valuesets)


def test_read_valuesets_refuses_a_wrong_folder(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"\[NLP176\]"):
        icd_sources.read_valuesets(tmp_path)


# ------------------------------------------------------------------------- merging sources
def test_derived_names_never_take_a_tabular_phrase_and_synonyms_override() -> None:
    official = [("Hypotension", "I95.9", KIND_DESC)]
    extra = [
        ("hypotension", "I95.89", KIND_HPO),  # another code for a tabular phrase: dropped
        ("low blood pressure", "I95.9", KIND_HPO),
        ("hypotension", "R03.1", KIND_SYNONYM),  # hand-made: kept, reported
        ("something", "X99.999", KIND_SYNONYM),  # no such code: dropped
    ]
    descriptions = {"I95.9": "Hypotension, unspecified", "I95.89": "x", "R03.1": "y"}
    kept = derived_names(official, extra, descriptions)
    assert ("low blood pressure", "I95.9", KIND_HPO) in kept
    assert ("hypotension", "I95.89", KIND_HPO) not in kept
    assert ("hypotension", "R03.1", KIND_SYNONYM) in kept
    assert overrides(official, extra) == ["hypotension -> R03.1 (tabular: I95.9)"]


def test_kind_counts() -> None:
    names = [("a", "R05.9", KIND_SYNONYM), ("b", "R05.9", KIND_SYNONYM), ("c", "C61", KIND_SITE)]
    assert icd_sources.kind_counts(names) == {"handmade": 2, "site": 1}


def test_held_out_snomed_is_a_stable_half() -> None:
    codes = [str(n) for n in range(1000, 1400)]
    held = [c for c in codes if icd_sources.held_out_snomed(c)]
    assert 150 < len(held) < 250
    assert held == [c for c in codes if icd_sources.held_out_snomed(c)]


# ------------------------------------------------------------------------- default leaves
@pytest.mark.parametrize(
    ("node", "leaf"),
    [
        ("F11.1", "F11.10"),  # "uncomplicated" is the default ("Abuse, opioid" F11.10)
        ("F10.2", "F10.20"),
        ("C85.9", "C85.90"),  # parent + "unspecified" qualifiers, not "extranodal" (C85.99)
        ("R18", "R18.8"),  # "Ascites": "Other ascites", not "Malignant ascites"
        ("C50", "C50.919"),
        ("M79.60", "M79.609"),
        ("B67", "B67.90"),
        ("H66.9", "H66.90"),
    ],
)
def test_default_leaf(node: str, leaf: str) -> None:
    assert default_leaf(node, cm.get_children, cm.get_description) == leaf
