"""PhysioNet deid gold standard reader (``id.text`` records, ``id-phi.phrase`` PHI offsets).

Offset convention (checked on all 1,240 gold lines of patients 1-80): ``start``/``end`` are
0-based, end-exclusive character offsets into the note body, which starts right after the newline
that ends the ``START_OF_RECORD=patient||||note||||`` line and ends before ``||||END_OF_RECORD``.
``body[start:end]`` equals the phrase text for every line.
"""

from __future__ import annotations

import re
from pathlib import Path

from nlp.evaluation.types import PHI, EvalDocument, GoldMention, Scope

# deid label -> Comprehend PHI type (shared/data/README.md); "Other" has no counterpart
LABELS: dict[str, str] = {
    "PTName": "NAME",
    "HCPName": "NAME",
    "RelativeProxyName": "NAME",
    "Date": "DATE",
    "DateYear": "DATE",
    "Location": "ADDRESS",
    "Phone": "PHONE_OR_FAX",
    "Age": "AGE",
}
IGNORED_LABELS = frozenset({"Other"})

_RECORD = re.compile(
    r"START_OF_RECORD=(?P<patient>\d+)\|\|\|\|(?P<note>\d+)\|\|\|\|\r?\n(?P<body>.*?)\|\|\|\|END_OF_RECORD",
    re.S,
)


class DeidFormatError(ValueError):
    """A PHI line that does not fit its note."""


def parse_records(text: str) -> dict[tuple[int, int], str]:
    """Note bodies keyed by (patient, note)."""
    return {(int(m["patient"]), int(m["note"])): m["body"] for m in _RECORD.finditer(text)}


def parse_phi(lines: list[str]) -> dict[tuple[int, int], list[tuple[int, int, str]]]:
    """PHI spans (start, end, label) keyed by (patient, note), from ``id-phi.phrase`` lines."""
    out: dict[tuple[int, int], list[tuple[int, int, str]]] = {}
    for lineno, line in enumerate(lines, 1):
        parts = line.split(maxsplit=5)
        if not parts:
            continue
        if len(parts) < 5 or not all(p.isdigit() for p in parts[:4]):
            raise DeidFormatError(f"[NLP711] malformed PHI line {lineno}")
        key = (int(parts[0]), int(parts[1]))
        out.setdefault(key, []).append((int(parts[2]), int(parts[3]), parts[4]))
    return out


def build_documents(
    records: dict[tuple[int, int], str],
    phi: dict[tuple[int, int], list[tuple[int, int, str]]],
    patients: range | None = range(1, 81),
) -> tuple[list[EvalDocument], Scope]:
    """Documents with PHI gold, and the scope: the mapped PHI types present in the gold.

    Types absent from the gold (``AGE`` in patients 1-80: only ages over 89 are PHI under HIPAA)
    stay out of scope, so predictions of them are not counted as false positives.

    Raises:
        DeidFormatError: when a PHI span lies outside its note or names an unknown note.
    """
    unknown = set(phi) - set(records)
    if unknown:
        raise DeidFormatError(f"[NLP712] {len(unknown)} PHI notes missing from the text file")
    docs: list[EvalDocument] = []
    seen_types: set[str] = set()
    for key in sorted(records):
        if patients is not None and key[0] not in patients:
            continue
        body = records[key]
        gold: list[GoldMention] = []
        ignore: list[tuple[int, int]] = []
        for begin, end, label in phi.get(key, []):
            if not 0 <= begin < end <= len(body):
                raise DeidFormatError(f"[NLP713] PHI span outside note {key[0]}-{key[1]}")
            if label in LABELS:
                gold.append(GoldMention(begin, end, PHI, LABELS[label], group=label))
                seen_types.add(LABELS[label])
            else:
                ignore.append((begin, end))
        docs.append(EvalDocument(f"{key[0]}-{key[1]}", body, gold, ignore=ignore))
    return docs, Scope(frozenset({PHI}), {PHI: frozenset(seen_types)})


def read_deid(data_dir: Path) -> tuple[list[EvalDocument], Scope]:
    """Read ``deid/id.text`` and ``deid/id-phi.phrase`` for patients 1-80."""
    folder = data_dir / "deid"
    records = parse_records(folder.joinpath("id.text").read_text(encoding="utf-8"))
    lines = folder.joinpath("id-phi.phrase").read_text(encoding="utf-8").splitlines()
    return build_documents(records, parse_phi(lines))
