"""The phrase-matcher lexicon: one ``Term`` per surface form, built by ``models build``."""

from __future__ import annotations

import pickle
from dataclasses import dataclass
from pathlib import Path

from nlp.local.assets import assets_dir

LEXICON_FILE = "lexicon.pkl"

# Comprehend Medical categories and types used by the lexicon.
MEDICAL_CONDITION = "MEDICAL_CONDITION"
MEDICATION = "MEDICATION"
ANATOMY = "ANATOMY"
TEST_TREATMENT_PROCEDURE = "TEST_TREATMENT_PROCEDURE"


@dataclass(frozen=True, slots=True)
class Term:
    """One surface form for the phrase matcher.

    Attributes:
        text: surface form as found in the source (the matcher normalises case/spacing).
        category: Comprehend category (MEDICAL_CONDITION, MEDICATION, ANATOMY,
            TEST_TREATMENT_PROCEDURE).
        type: Comprehend type (DX_NAME, GENERIC_NAME, BRAND_NAME, SYSTEM_ORGAN_SITE, TEST_NAME,
            PROCEDURE_NAME, TREATMENT_NAME).
        source: where it comes from: ``icd10cm``, ``rxnorm``, ``synthea``, ``drugner``, ``hpo``,
            ``abbrev`` (match these case-sensitively), ``anatomy``, ``tests``, ``procedures``,
            ``treatments``, ``misspelling``.
        code: the source's code when meaningful (ICD-10-CM code, RxCUI, HPO id, DrugBank id);
            for ``abbrev`` and ``misspelling`` terms, the code of the expansion if known.
    """

    text: str
    category: str
    type: str
    source: str
    code: str | None = None


class AssetsMissingError(RuntimeError):
    """Raised when an asset is absent: run ``docref-nlp models build``."""


def lexicon_path(assets: Path | None = None) -> Path:
    """Where the lexicon lives in ``assets`` (default ``models.assets_dir()``)."""
    return (assets or assets_dir()) / LEXICON_FILE


def save_lexicon(terms: list[Term], assets: Path) -> Path:
    """Write the lexicon (tuples in a pickle: ~10x faster to load than JSONL)."""
    path = lexicon_path(assets)
    rows = [(t.text, t.category, t.type, t.source, t.code) for t in terms]
    tmp = path.with_suffix(".tmp")
    with tmp.open("wb") as fh:
        pickle.dump(rows, fh, protocol=pickle.HIGHEST_PROTOCOL)
    tmp.replace(path)
    return path


def load_lexicon(assets: Path | None = None) -> list[Term]:
    """All terms of the lexicon built by ``docref-nlp models build``.

    Raises:
        AssetsMissingError: the lexicon has not been built.
    """
    path = lexicon_path(assets)
    if not path.exists():
        raise AssetsMissingError(
            f"[NLP142] lexicon not built at {path}: run `docref-nlp models build`"
        )
    with path.open("rb") as fh:
        rows: list[tuple[str, str, str, str, str | None]] = pickle.load(fh)
    return [Term(*r) for r in rows]
