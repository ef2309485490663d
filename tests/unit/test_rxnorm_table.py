"""The committed RxNorm table (distilled from the eCQM value sets), its parser, the hand-made
brand table and the default vocabulary built from them."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from models import handmade
from models.link_assets import concept_identities
from models.rxnorm import (
    TABLE,
    distil_ecqm,
    read_brands,
    read_seed,
    read_table,
    table_tty,
)
from nlp.local.drugnames import identity, parse_drug_name

ECQM = Path("/work/shared/data/ecqm-valuesets")


@pytest.mark.parametrize(
    ("name", "tty"),
    [
        ("apixaban", "IN"),
        ("Estrogens, Conjugated (USP)", "IN"),
        ("POLYETHYLENE GLYCOL 3350", "IN"),
        ("Acetaminophen / Hydrocodone", "MIN"),
        ("Pulmozyme (Dornase Alfa)", "BN"),
        ("lisinopril 10 MG Oral Tablet", "SCD"),
        ("Lisinopril 10 MG Oral Tablet [Prinivil]", "SBD"),
        ("24 HR metformin hydrochloride 500 MG Extended Release Oral Tablet", "SCD"),
        ("{21 (A 1 MG Oral Tablet) / 7 (inert ingredients 1 MG Oral Tablet) } Pack", "GPCK"),
        ("{28 (norethindrone 0.35 MG Oral Tablet) } Pack [Errin]", "BPCK"),
        ("Norinyl 1+50 28 Day Pack", "BPCK"),
    ],
)
def test_table_tty(name: str, tty: str) -> None:
    assert table_tty(name) == tty


def test_committed_table_parses() -> None:
    rows = read_table()
    assert len(rows) == 4128
    assert len({cui for cui, _, _ in rows}) == 4128
    counts = Counter(tty for _, tty, _ in rows)
    assert counts == {"SCD": 3353, "IN": 500, "GPCK": 185, "MIN": 86, "SBD": 4}
    assert all(tty == table_tty(name) for _, tty, name in rows)
    # every product names at least one ingredient, and packs never list their placebo
    for _cui, tty, name in rows:
        if tty in {"SCD", "SBD", "GPCK"}:
            p = parse_drug_name(name)
            assert p.ingredients, name
            assert "inert ingredients" not in p.ingredients, name
    header = (handmade.data_dir() / TABLE).read_text(encoding="utf-8").splitlines()[0]
    assert header.startswith("# RxNorm concepts distilled")


def test_distil_from_value_sets(tmp_path: Path) -> None:
    src = tmp_path / "ecqm"
    src.mkdir()
    (src / "rxnorm.tsv").write_text(
        "rxcui\tname\n1364430\tapixaban\n1364435\tapixaban 2.5 MG Oral Tablet\n99\tunused\n",
        encoding="utf-8",
    )
    (src / "valuesets.jsonl").write_text(
        json.dumps({"id": "x", "codes": {"rxnorm": ["1364430", "1364435"]}}) + "\n",
        encoding="utf-8",
    )
    out = tmp_path / "table.tsv"
    assert distil_ecqm(src, out) == 2
    assert read_table(out) == [
        ("1364430", "IN", "apixaban"),
        ("1364435", "SCD", "apixaban 2.5 MG Oral Tablet"),
    ]
    with pytest.raises(FileNotFoundError, match="NLP174"):
        distil_ecqm(tmp_path / "missing", out)


def test_committed_table_matches_the_value_sets() -> None:
    if not (ECQM / "rxnorm.tsv").exists():
        pytest.skip("eCQM value sets not found (../shared/data/ecqm-valuesets)")
    committed = {(c, n) for c, _, n in read_table()}
    source = {
        tuple(line.split("\t"))
        for line in (ECQM / "rxnorm.tsv").read_text(encoding="utf-8").splitlines()[1:]
        if "\t" in line
    }
    assert committed == source


def test_brand_table() -> None:
    brands = read_brands()
    assert brands["augmentin"] == "amoxicillin / clavulanate"
    assert brands["norco"] == "acetaminophen / hydrocodone"
    assert brands["humulin 70/30"] == "insulin isophane human / insulin regular human"
    assert brands["synthroid"] == "levothyroxine"
    assert all(v == identity(v.split(" / ")) for v in brands.values())


def test_default_vocabulary_merges_table_seed_and_hand_made_lists() -> None:
    kb = read_seed(handmade.ingredients())
    assert kb.concepts["1364430"] == ("apixaban", "IN")  # the table
    assert kb.concepts["19711"] == ("Amoxicillin / Clavulanate", "MIN")
    # RxNorm's own name wins over Synthea's display; the display stays a synonym
    if "synthea-seed" in kb.source:
        assert kb.concepts["856980"][0].startswith("acetaminophen 300 MG")
        assert ("Acetaminophen/Hydrocodone", "856980") in kb.synonyms
    assert kb.brands["augmentin"] == "amoxicillin / clavulanate"
    assert "5640" in kb.concepts  # hand-made ingredient list (ibuprofen)
    assert kb.ingredients["562508"] >= {"723", "48203"}  # products linked to their INs


def test_identities_cover_the_table() -> None:
    rows = read_table()
    concepts = {c: (n, t) for c, t, n in rows}
    idents, parsed = concept_identities(concepts, {}, read_brands())
    assert len(idents) == len(concepts)
    assert idents["1364430"] == "apixaban"
    assert idents["214182"] == "acetaminophen / hydrocodone"
    assert idents["562508"] == "amoxicillin / clavulanate"
    products = [c for c, (_n, t) in concepts.items() if t in {"SCD", "SBD", "GPCK"}]
    assert set(parsed) == set(products)


def test_lexicon_terms_for_combinations_and_brands() -> None:
    from models.rxnorm import RxKb
    from models.sources import rxnorm_terms

    kb = RxKb(version="t", source="t")
    kb.concepts = {
        "723": ("amoxicillin", "IN"),
        "19711": ("Amoxicillin / Clavulanate", "MIN"),
        "857002": ("acetaminophen 325 MG / hydrocodone bitartrate 5 MG Oral Tablet", "SCD"),
        "4099": ("thyroid (USP)", "IN"),
        "1191": ("Glucose", "IN"),
    }
    texts = {t.text for t in rxnorm_terms(kb)}
    assert {"Amoxicillin / Clavulanate", "clavulanate / amoxicillin"} <= texts
    assert {"hydrocodone bitartrate / acetaminophen", "hydrocodone / acetaminophen"} <= texts
    assert {"augmentin", "norco", "norinyl 1+50", "norinyl"} <= texts  # hand-made brands
    assert "thyroid" not in texts  # an organ in the hand-made anatomy list
    assert "Glucose" not in texts  # a test in the hand-made test list
