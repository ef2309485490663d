"""The short-form distiller (models/shortforms.py) on tiny inventories in the real formats."""

from __future__ import annotations

import json
from pathlib import Path

from models.shortforms import (
    MC,
    MED,
    TEST,
    SenseClassifier,
    distil,
    pool,
    read_inventory,
    read_nursing,
    read_wikipedia,
)
from nlp.local.abbrev import ShortForms
from nlp.local.lexicon import Term
from nlp.local.text import Normaliser, load_rules

STETSON = "pe\tpulmonary embolism\t0.75\npe\tphysical exam\t0.25\nmg\tmilligram\t1\n"
VANDERBILT = (
    "abbreviation\tsense\tvariation\tCUI\tfrequency\n"
    "pe\tphysical exam\tPE_15\tc0031809\t0.65\n"
    "pe\tpulmonary embolism\tPE_3\tc0034065\t0.35\n"
    "mg\tmagnesium\tMg_1\tc1\t0.1\n"
    "mg\tmilligram\tmg_9\tc2\t0.9\n"
)


def _classifier() -> SenseClassifier:
    terms = [
        Term("pulmonary embolism", MC.split("/")[0], "DX_NAME", "icd10cm", "I26.99"),
        Term("physical exam", "TEST_TREATMENT_PROCEDURE", "TEST_NAME", "tests", None),
        Term("PE", "MEDICAL_CONDITION", "DX_NAME", "abbrev", None),  # a short form: ignored
    ]
    return SenseClassifier(terms, Normaliser.default())


def test_inventories_read_pool_and_classify(tmp_path: Path) -> None:
    (tmp_path / "s.tsv").write_text(STETSON, encoding="utf-8")
    (tmp_path / "v.tsv").write_text(VANDERBILT, encoding="utf-8")
    stetson, vumc = read_inventory(tmp_path / "s.tsv"), read_inventory(tmp_path / "v.tsv")
    assert stetson["pe"] == {"pulmonary embolism": 0.75, "physical exam": 0.25}
    pooled = pool([(stetson, 2.0), (vumc, 1.0)])
    assert round(pooled["pe"]["pulmonary embolism"], 4) == round((1.5 + 0.35) / 3, 4)
    classify = _classifier()
    assert classify("pulmonary embolism") == [MC]
    assert classify("magnesium") == [MED, TEST]  # electrolytes: drug or lab by context
    assert classify("room air") == []
    out = distil(pooled, classify, lambda sf: {"mg": 4.1}.get(sf, 3.7))
    assert out["pe"]["senses"] == [
        ["pulmonary embolism", 0.6167, [MC]],
        ["physical exam", 0.3833, [TEST]],
    ]
    mg = out["mg"]
    assert (mg["other"], mg["unit"], mg["zipf"]) == (0.9667, 0.9667, 4.1)


def test_wikipedia_and_nursing_lists(tmp_path: Path) -> None:
    wiki = tmp_path / "w.csv"
    wiki.write_text('"abr","long_form"\n"AFib","atrial fibrillation"\n"PE","pulmonary embolism"\n'
                    '"PE","physical exam"\n', encoding="utf-8")  # fmt: skip
    assert read_wikipedia(wiki)["pe"] == {"pulmonary embolism": 0.5, "physical exam": 0.5}
    nursing = tmp_path / "n.tsv"
    nursing.write_text(
        "# comment\nst\tsinus tachycardia\tMEDICAL_CONDITION/DX_NAME\t0.5\trhythm\n", "utf-8"
    )
    st = read_nursing(nursing)["st"]
    assert st == {
        "senses": [["sinus tachycardia", 0.5, [MC]]],
        "other": 0.5,
        "unit": 0.0,
        "rhythm": True,
    }


def test_committed_short_form_files_parse_and_are_attributed() -> None:
    for name in ("shortforms.json", "shortforms-wikipedia.json", "shortforms-nursing.json"):
        data = load_rules(name)
        assert data["_comment"]
        forms = ShortForms.parse(data)
        assert forms
        assert all(0.0 <= s.freq <= 1.0 for f in forms.values() for s in f.senses)
    meta = load_rules("shortforms.json")
    assert "CC BY 4.0" in meta["_comment"]
    assert "CC BY-SA" in load_rules("shortforms-wikipedia.json")["_comment"]
    assert json.dumps(meta["forms"]["sob"]["senses"]) == json.dumps(
        [["shortness of breath", 1.0, [MC]]]
    )


def test_senses_no_terminology_spells_are_classified_by_clinical_knowledge() -> None:
    from models.shortforms import PROC, TREAT

    classify = _classifier()
    assert classify("fingerstick") == [TEST]  # the inventories' own spellings
    assert classify("kidney, ureter, bladder") == [TEST]
    assert classify("esophagogastroduodenoscopy") == [PROC]
    assert classify("continuous veno-venous hemodialysis") == [TREAT]
    assert classify("neutral protamine hagedorn") == [MED]
    assert classify("total parenteral nutrition") == []  # nutrition: not annotated
