"""Hand-made lists in ``models/data``: abbreviations, misspellings, anatomy, tests, procedures."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from nlp.local.lexicon import ANATOMY, TEST_TREATMENT_PROCEDURE, Term
from nlp.local.linker import Expander
from nlp.local.normalize import fold

DATA_FILES = (
    "abbreviations.tsv",
    "misspellings.tsv",
    "anatomy.txt",
    "tests.txt",
    "procedures.txt",
    "treatments.txt",
    "rxnorm_ingredients.tsv",
    "rxnorm_ecqm.tsv",
    "rxnorm_brands.tsv",
    "icd10cm_synonyms.tsv",
    "icd10cm_findings.tsv",
    "icd10cm_diagnoses.tsv",
    "icd10cm_sites.tsv",
    "icd10cm_ecqm.tsv",
    "stopterms.txt",
)
# list file -> (category, type, source)
_LISTS: dict[str, tuple[str, str, str]] = {
    "anatomy.txt": (ANATOMY, "SYSTEM_ORGAN_SITE", "anatomy"),
    "tests.txt": (TEST_TREATMENT_PROCEDURE, "TEST_NAME", "tests"),
    "procedures.txt": (TEST_TREATMENT_PROCEDURE, "PROCEDURE_NAME", "procedures"),
    "treatments.txt": (TEST_TREATMENT_PROCEDURE, "TREATMENT_NAME", "treatments"),
}


def data_dir() -> Path:
    """The directory of the committed hand-made lists."""
    return Path(str(resources.files("models") / "data"))


def _rows(name: str) -> list[list[str]]:
    text = (data_dir() / name).read_text(encoding="utf-8")
    return [
        line.split("\t") for line in text.splitlines() if line.strip() and not line.startswith("#")
    ]


def data_hash() -> str:
    """SHA-256 over every hand-made list (part of the build manifest)."""
    h = hashlib.sha256()
    for name in DATA_FILES:
        h.update(name.encode())
        h.update((data_dir() / name).read_bytes())
    return h.hexdigest()


@dataclass(frozen=True, slots=True)
class Abbreviation:
    """One row of ``abbreviations.tsv``."""

    abbr: str
    expansion: str
    category: str
    type: str
    code: str | None


def abbreviations() -> list[Abbreviation]:
    """Clinical abbreviations with their expansion, Comprehend category/type and code."""
    out = []
    for r in _rows("abbreviations.tsv"):
        r = [*r, "", "", "", ""]
        out.append(
            Abbreviation(
                r[0].strip(), r[1].strip(), r[2].strip(), r[3].strip(), r[4].strip() or None
            )
        )
    return out


def misspellings() -> dict[str, str]:
    """Folded misspelling -> folded correct spelling."""
    return {fold(r[0]): fold(r[1]) for r in _rows("misspellings.tsv") if len(r) >= 2}


def ingredients() -> dict[str, str]:
    """Hand-made RxCUI -> ingredient name list (seed vocabulary only)."""
    return {r[0].strip(): r[1].strip() for r in _rows("rxnorm_ingredients.tsv") if len(r) >= 2}


def stopterms() -> frozenset[str]:
    """Folded surface forms never taken from drug-NER (common words that are also drug names)."""
    return frozenset(fold(r[0]) for r in _rows("stopterms.txt"))


def list_terms() -> list[Term]:
    """Terms of the anatomy/tests/procedures/treatments lists, plus the abbreviations."""
    out: list[Term] = []
    for name, (cat, typ, source) in _LISTS.items():
        out.extend(Term(r[0].strip(), cat, typ, source, None) for r in _rows(name))
    out.extend(Term(a.abbr, a.category, a.type, "abbrev", a.code) for a in abbreviations())
    return out


def expander() -> Expander:
    """The linkers' abbreviation and misspelling tables, from the committed lists."""
    return Expander({fold(a.abbr): fold(a.expansion) for a in abbreviations()}, misspellings())
