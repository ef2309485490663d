"""PubTator readers for BC5CDR and NCBI disease (text = title + " " + abstract, gold offsets)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

from nlp.evaluation.types import (
    MEDICAL_CONDITION,
    MEDICATION,
    MESH,
    Code,
    EvalDocument,
    GoldMention,
    Scope,
)

# corpus label -> (Category, Type), from shared/data/README.md
LABELS: dict[str, tuple[str, str]] = {
    "Disease": (MEDICAL_CONDITION, "DX_NAME"),
    "Chemical": (MEDICATION, "GENERIC_NAME"),
    "SpecificDisease": (MEDICAL_CONDITION, "DX_NAME"),
    "DiseaseClass": (MEDICAL_CONDITION, "DX_NAME"),
    "Modifier": (MEDICAL_CONDITION, "DX_NAME"),
    "CompositeMention": (MEDICAL_CONDITION, "DX_NAME"),
}

BC5CDR_SCOPE = Scope(frozenset({MEDICAL_CONDITION, MEDICATION}))
NCBI_SCOPE = Scope(frozenset({MEDICAL_CONDITION}))

SPLIT_FILES: dict[str, dict[str, str]] = {
    "bc5cdr": {
        "train": "bc5cdr/CDR_TrainingSet.PubTator.txt",
        "dev": "bc5cdr/CDR_DevelopmentSet.PubTator.txt",
    },
    "ncbi": {
        "train": "ncbi-disease/NCBItrainset_corpus.txt",
        "dev": "ncbi-disease/NCBIdevelopset_corpus.txt",
    },
}


class PubTatorFormatError(ValueError):
    """A line that is neither title, abstract, mention nor relation."""


def _finish(
    pmid: str, title: str, abstract: str, rows: list[list[str]], errors: list[str]
) -> EvalDocument:
    text = f"{title} {abstract}" if abstract else title
    gold: list[GoldMention] = []
    for parts in rows:
        begin, end, label = int(parts[1]), int(parts[2]), parts[4]
        if label not in LABELS:
            continue
        if not 0 <= begin < end <= len(text):
            errors.append(f"{pmid}:{begin}-{end}")
            continue
        category, type_ = LABELS[label]
        ids = parts[5].strip() if len(parts) > 5 else ""
        codes = tuple(
            Code(MESH, c.strip()) for c in ids.replace(",", "|").split("|") if c.strip() not in "-1"
        )
        gold.append(GoldMention(begin, end, category, type_, codes=codes, group=label))
    return EvalDocument(doc_id=pmid, text=text, gold=gold)


def parse_pubtator(fh: TextIO) -> Iterator[EvalDocument]:
    """Yield one document per PMID block.

    Mention lines are ``PMID<TAB>start<TAB>end<TAB>mention<TAB>Type<TAB>IDs[<TAB>names]``;
    relation lines (``PMID<TAB>CID<TAB>...``) are skipped. Offsets index ``title + " " + abstract``.

    Raises:
        PubTatorFormatError: on a malformed line.
    """
    pmid: str | None = None
    title = abstract = ""
    rows: list[list[str]] = []
    errors: list[str] = []
    for lineno, raw in enumerate(fh, 1):
        line = raw.rstrip("\r\n")
        if not line.strip():
            if pmid is not None:
                yield _finish(pmid, title, abstract, rows, errors)
                pmid, title, abstract, rows = None, "", "", []
            continue
        head = line[:40]
        if "|t|" in head or "|a|" in head:
            doc, kind, body = line.split("|", 2)
            if pmid is not None and doc != pmid:
                yield _finish(pmid, title, abstract, rows, errors)
                title, abstract, rows = "", "", []
            pmid = doc
            if kind == "t":
                title = body
            else:
                abstract = body
            continue
        parts = line.split("\t")
        if len(parts) >= 4 and not parts[1].isdigit():
            continue  # relation line, e.g. CID
        if len(parts) < 5 or not parts[1].isdigit() or not parts[2].isdigit():
            raise PubTatorFormatError(f"[NLP701] malformed PubTator line {lineno}")
        rows.append(parts)
    if pmid is not None:
        yield _finish(pmid, title, abstract, rows, errors)
    if errors:
        raise PubTatorFormatError(f"[NLP702] {len(errors)} mention offsets outside their text")


def read_pubtator(corpus: str, split: str, data_dir: Path) -> list[EvalDocument]:
    """Read ``bc5cdr`` or ``ncbi`` (``split`` = train or dev) from the shared data directory."""
    path = data_dir / SPLIT_FILES[corpus][split]
    with path.open(encoding="utf-8") as fh:
        return list(parse_pubtator(fh))
