"""Builders on tiny fixtures: fake RxNorm RRF, ICD-10-CM subset, CMS index XML, manifest."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from models.build import MANIFEST, build_assets, fingerprint, up_to_date
from models.icd10 import KIND_INCL, KIND_INDEX, build_icd_kb, default_leaf
from models.rxnorm import read_rrf
from nlp.local.drugnames import parse_drug_name, parse_strengths

# A handful of RXNCONSO rows. Real RxCUIs where known (723, 161, 308191, 308182, 308192,
# 313782, 202433); 9000xx are made up for the fixture.
CONSO = [
    ("723", "IN", "amoxicillin"),
    ("161", "IN", "acetaminophen"),
    ("48203", "IN", "clavulanate"),
    ("900001", "BN", "Amoxil"),
    ("202433", "BN", "Tylenol"),
    ("308191", "SCD", "amoxicillin 500 MG Oral Capsule"),
    ("308182", "SCD", "amoxicillin 250 MG Oral Capsule"),
    ("308192", "SCD", "amoxicillin 500 MG Oral Tablet"),
    ("900002", "SBD", "amoxicillin 500 MG Oral Capsule [Amoxil]"),
    ("313782", "SCD", "acetaminophen 325 MG Oral Tablet"),
    ("900003", "SCD", "amoxicillin 500 MG / clavulanate 125 MG Oral Tablet"),
    ("900004", "SCDC", "amoxicillin 500 MG"),
]
REL = [("900001", "tradename_of", "723"), ("202433", "tradename_of", "161")]


def _conso_line(cui: str, tty: str, text: str, sab: str = "RXNORM", suppress: str = "N") -> str:
    # RXCUI|LAT|TS|LUI|STT|SUI|ISPREF|RXAUI|SAUI|SCUI|SDUI|SAB|TTY|CODE|STR|SRL|SUPPRESS|CVF|
    fields = [cui, "ENG", *[""] * 5, f"A{cui}", *[""] * 3, sab, tty, cui, text, "", suppress]
    return "|".join([*fields, "4096", ""])


def write_fake_rrf(directory: Path) -> Path:
    """A minimal RxNorm RRF release (RXNCONSO + RXNREL) in ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    lines = [_conso_line(*row) for row in CONSO]
    lines.append(_conso_line("999", "IN", "obsoletol", suppress="O"))  # suppressed: dropped
    lines.append(_conso_line("998", "IN", "otherdrug", sab="MMSL"))  # other source: dropped
    lines.append(_conso_line("723", "SY", "amoxycillin"))  # synonym of an indexed concept
    (directory / "RXNCONSO.RRF").write_text("\n".join(lines) + "\n", encoding="utf-8")
    rel = [
        # RXCUI1|RXAUI1|STYPE1|REL|RXCUI2|RXAUI2|STYPE2|RELA|RUI|SRUI|SAB|SL|RG|DIR|SUPPRESS|CVF|
        "|".join([a, "", "CUI", "RN", b, "", "CUI", rela, "", "", "RXNORM", *[""] * 3, "N", "", ""])
        for a, rela, b in REL
    ]
    (directory / "RXNREL.RRF").write_text("\n".join(rel) + "\n", encoding="utf-8")
    return directory


ICD_SUBSET = ("H65", "H66", "M25.5", "J20", "J40", "I10", "R07", "R51")

INDEX_XML = """<?xml version="1.0" encoding="utf-8"?>
<ICD10CM.index><version>2026</version><title>Index</title>
<letter><title>O</title>
 <mainTerm><title>Otitis</title><code>H66.9-</code>
  <term level="1"><title>media</title><code>H66.9-</code>
   <term level="2"><title>suppurative</title><code>H66.4-</code></term>
  </term>
 </mainTerm>
 <mainTerm><title>Ostalgia</title><code>Z99.999</code></mainTerm>
</letter></ICD10CM.index>
"""


def test_read_rrf_filters_and_links(tmp_path: Path) -> None:
    kb = read_rrf(write_fake_rrf(tmp_path / "rrf"))
    assert kb.source == "rrf"
    assert kb.concepts["723"] == ("amoxicillin", "IN")
    assert "999" not in kb.concepts  # suppressed
    assert "998" not in kb.concepts  # other source
    assert "900004" not in kb.concepts  # SCDC is not an indexed term type
    assert kb.ingredients["900001"] == {"723"}  # brand -> ingredient via RXNREL
    assert kb.ingredients["308191"] == {"723"}  # product -> ingredient via its name
    assert kb.ingredients["900003"] == {"723", "48203"}
    assert ("amoxycillin", "723") in kb.synonyms
    assert kb.counts()["SCD"] == 5


def test_read_rrf_missing_file(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="NLP171"):
        read_rrf(tmp_path)


def test_parse_drug_names() -> None:
    p = parse_drug_name("24 HR metformin hydrochloride 500 MG Extended Release Oral Tablet")
    assert p.ingredients == ("metformin hydrochloride",)
    assert p.form == "extended release oral tablet"
    assert parse_strengths("0.5 mg/ml") == ("0.5 mg/ml",)
    assert parse_strengths("Take 2 tablets") == ()


def test_icd_subset_kb() -> None:
    kb = build_icd_kb(codes=["H66"])
    assert set(kb.descriptions) >= {"H66.90", "H66.91", "H66.92", "H66.93"}
    assert all(code.startswith("H66") for code in kb.descriptions)
    incl = [(n, c) for n, c, k in kb.names if k == KIND_INCL]
    assert ("Otitis media NOS", "H66.90") in incl  # inclusion term of H66.9 -> unspecified leaf
    assert ("Otitis media NOS", "H66.9", "H66.90") in kb.inclusions


def test_default_leaf_prefers_unspecified() -> None:
    import simple_icd_10_cm as cm

    assert default_leaf("H66.9", cm.get_children, cm.get_description) == "H66.90"
    assert default_leaf("J20", cm.get_children, cm.get_description) == "J20.9"
    assert default_leaf("S72.00", cm.get_children, cm.get_description).endswith("A")


def test_cms_index_names(tmp_path: Path) -> None:
    xml = tmp_path / "index.xml"
    xml.write_text(INDEX_XML, encoding="utf-8")
    kb = build_icd_kb(codes=["H66"], index_xml=xml)
    index_names = {(n, c) for n, c, k in kb.names if k == KIND_INDEX}
    assert ("media Otitis", "H66.90") in index_names
    assert ("suppurative media Otitis", "H66.40") in index_names
    assert not any(c.startswith("Z99") for _, c in index_names)  # outside the subset


@pytest.fixture(scope="session")
def tiny_assets(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    base = tmp_path_factory.mktemp("assets")
    rrf = write_fake_rrf(base / "rrf")
    out = base / "assets"
    report = build_assets(
        out,
        rxnorm_rrf=rrf,
        icd_codes=ICD_SUBSET,
        lexicon_sources=("handmade", "rxnorm", "icd10cm"),
        calibrate=False,
    )
    assert report.built
    return out, rrf


def test_build_writes_manifest_and_assets(tiny_assets: tuple[Path, Path]) -> None:
    out, _rrf = tiny_assets
    manifest = json.loads((out / MANIFEST).read_text(encoding="utf-8"))
    assert manifest["sources"]["rxnorm_source"] == "rrf"
    assert manifest["counts"]["rxnorm_concepts"]["IN"] == 3
    assert manifest["counts"]["lexicon_by_source"]["abbrev"] > 50
    assert manifest["fingerprint"]["icd_subset"] == list(ICD_SUBSET)
    assert {p.name for p in out.iterdir()} >= {
        "manifest.json",
        "lexicon.pkl",
        "icd10cm.pkl",
        "icd10cm.npz",
        "rxnorm.pkl",
        "rxnorm.npz",
    }


def test_build_is_idempotent_and_tracks_inputs(tiny_assets: tuple[Path, Path]) -> None:
    out, rrf = tiny_assets
    kwargs = {
        "rxnorm_rrf": rrf,
        "icd_codes": ICD_SUBSET,
        "lexicon_sources": ("handmade", "rxnorm", "icd10cm"),
        "calibrate": False,
    }
    t0 = time.perf_counter()
    again = build_assets(out, **kwargs)  # type: ignore[arg-type]
    assert not again.built
    assert time.perf_counter() - t0 < 2.0
    # a changed RRF file (size/mtime) makes the assets stale
    conso = rrf / "RXNCONSO.RRF"
    st = conso.stat()
    os.utime(conso, (st.st_atime, st.st_mtime + 10))
    fp = fingerprint(rrf, None, ICD_SUBSET, ("handmade", "rxnorm", "icd10cm"))
    assert not up_to_date(out, fp)


def test_models_info_cli(tiny_assets: tuple[Path, Path]) -> None:
    from typer.testing import CliRunner

    from cli.main import app

    out, _ = tiny_assets
    result = CliRunner().invoke(app, ["models", "info", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["sources"]["rxnorm_source"] == "rrf"
    missing = CliRunner().invoke(app, ["models", "info", "--out", str(out / "nope")])
    assert missing.exit_code == 1
