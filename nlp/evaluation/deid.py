"""PhysioNet deid gold standard reader (``id.text`` records, ``id-phi.phrase`` PHI offsets).

Offset convention (checked on all 1,240 gold lines of patients 1-80): ``start``/``end`` are
0-based, end-exclusive character offsets into the note body, which starts right after the newline
that ends the ``START_OF_RECORD=patient||||note||||`` line and ends before ``||||END_OF_RECORD``.
``body[start:end]`` equals the phrase text for every line.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nlp.evaluation.types import PHI, EvalDocument, GoldMention, PredMention, Scope

SPLITS = ("dev", "test", "all")
# the patient split of the nursing-note gold (patient id -> "dev" | "test"), shared with deid
SPLIT_FILE = Path(__file__).resolve().parent / "data" / "notes-gold.json"

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


class DeidSplitError(ValueError):
    """An unknown split name, or a split file without a patient split."""


def patient_split(path: Path = SPLIT_FILE) -> dict[int, str]:
    """Patient id -> ``dev`` | ``test``, from the ``patient_split`` of the notes gold.

    Raises:
        DeidSplitError: when the file has no ``patient_split`` object.
    """
    data = json.loads(path.read_text(encoding="utf-8"))
    split = data.get("patient_split") if isinstance(data, dict) else None
    if not isinstance(split, dict) or not split:
        raise DeidSplitError(f"[NLP714] no patient_split in {path.name}")
    return {int(k): str(v) for k, v in split.items()}


def split_patients(split: str, path: Path = SPLIT_FILE) -> frozenset[int]:
    """Patients 1-80 of ``split`` (``dev``, ``test`` or ``all``).

    Raises:
        DeidSplitError: for another split name (``[NLP715]``) or a bad split file.
    """
    if split not in SPLITS:
        raise DeidSplitError(f"[NLP715] unknown deid split {split!r}; choose from {SPLITS}")
    if split == "all":
        return frozenset(range(1, 81))
    return frozenset(p for p, s in patient_split(path).items() if s == split and 1 <= p <= 80)


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
    patients: Collection[int] | None = range(1, 81),
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


def read_deid(data_dir: Path, split: str = "all") -> tuple[list[EvalDocument], Scope]:
    """Read ``deid/id.text`` and ``deid/id-phi.phrase`` for the patients of ``split``.

    Raises:
        DeidSplitError: for an unknown split.
    """
    patients = split_patients(split)
    folder = data_dir / "deid"
    records = parse_records(folder.joinpath("id.text").read_text(encoding="utf-8"))
    lines = folder.joinpath("id-phi.phrase").read_text(encoding="utf-8").splitlines()
    return build_documents(records, parse_phi(lines), patients)


# token-level PHI figures, grouped: deid label / predicted type -> group
GROUPS = ("names", "dates", "locations", "phones", "ages", "other")
LABEL_GROUPS: dict[str, str] = {
    "PTName": "names",
    "HCPName": "names",
    "RelativeProxyName": "names",
    "Date": "dates",
    "DateYear": "dates",
    "Location": "locations",
    "Phone": "phones",
    "Age": "ages",
    "Other": "other",
}
TYPE_GROUPS: dict[str, str] = {
    "NAME": "names",
    "DATE": "dates",
    "ADDRESS": "locations",
    "PHONE_OR_FAX": "phones",
    "AGE": "ages",
}  # every other PHI type (ID, EMAIL, URL, PROFESSION...) is "other"
ALL_GROUPS = "ALL"
HIPAA_MIN_AGE = 90  # the deid gold marks ages over 89 only (HIPAA Safe Harbor)
_TOKEN_RE = re.compile(r"[^\W_]+")
_NUMBER_RE = re.compile(r"\d+")


def _age_is_phi(text: str) -> bool:
    """An AGE prediction is PHI in the deid sense when its number is over 89."""
    m = _NUMBER_RE.search(text)
    return m is None or int(m.group()) >= HIPAA_MIN_AGE


@dataclass
class _Tally:
    gold: int = 0
    gold_typed: int = 0  # gold units found with the right group
    gold_any: int = 0  # gold units found as any PHI
    pred: int = 0
    pred_typed: int = 0  # predicted units that are gold PHI of the same group
    pred_any: int = 0  # predicted units that are gold PHI of any group

    def as_dict(self) -> dict[str, Any]:
        def ratio(a: int, b: int) -> float | None:
            return round(a / b, 4) if b else None

        return {
            "gold": self.gold,
            "pred": self.pred,
            "recall": ratio(self.gold_typed, self.gold),
            "precision": ratio(self.pred_typed, self.pred),
            "recall_any_type": ratio(self.gold_any, self.gold),
            "precision_any_type": ratio(self.pred_any, self.pred),
        }


class PhiTokenScore:
    """PHI recall and precision per gold token and per span (overlap), by group.

    Tokens are runs of letters and digits. A gold token is found when a PHI prediction covers
    it (``recall``: of its group; ``recall_any_type``: of any group); a predicted token is
    right when it lies in a gold PHI span (``precision``: of its group). Spans: a gold span is
    found when a prediction of its group overlaps it, a predicted span is right when it
    overlaps a gold span of its group. ``Other`` gold (the evaluation ignores it in the span
    table) counts here; AGE predictions of 89 or less are not PHI under the corpus' rule and
    are left out. ``ALL`` is group-blind (any PHI against any PHI).
    """

    def __init__(self) -> None:
        self.tokens = {g: _Tally() for g in (*GROUPS, ALL_GROUPS)}
        self.spans = {g: _Tally() for g in (*GROUPS, ALL_GROUPS)}

    def add(self, doc: EvalDocument, preds: Sequence[PredMention]) -> None:
        """Count one document (``preds``: all predictions; PHI ones are used)."""
        gold = [(g.begin, g.end, LABEL_GROUPS.get(g.group, "other")) for g in doc.gold]
        gold += [(b, e, "other") for b, e in doc.ignore]
        pred = [
            (p.begin, p.end, TYPE_GROUPS.get(p.type, "other"))
            for p in preds
            if p.category == PHI and (p.type != "AGE" or _age_is_phi(doc.text[p.begin : p.end]))
        ]
        if not gold and not pred:
            return
        gold_at: dict[int, str] = {}
        pred_at: dict[int, str] = {}
        for spans, at in ((gold, gold_at), (pred, pred_at)):
            for b, e, group in spans:
                for m in _TOKEN_RE.finditer(doc.text, b, e):
                    at.setdefault(m.start(), group)
        for one, other, is_gold in ((gold_at, pred_at, True), (pred_at, gold_at, False)):
            for tok, group in one.items():
                hit = other.get(tok)
                self._add(self.tokens, group, () if hit is None else (hit,), is_gold)
        for spans, others, is_gold in ((gold, pred, True), (pred, gold, False)):
            for b, e, group in spans:
                hits = {g for b2, e2, g in others if b2 < e and b < e2}
                self._add(self.spans, group, hits, is_gold)

    @staticmethod
    def _add(tallies: dict[str, _Tally], group: str, hits: Collection[str], is_gold: bool) -> None:
        """Count one gold or predicted unit of ``group`` that meets units of groups ``hits``."""
        for t, right in ((tallies[group], group in hits), (tallies[ALL_GROUPS], bool(hits))):
            if is_gold:
                t.gold += 1
                t.gold_typed += right
                t.gold_any += bool(hits)
            else:
                t.pred += 1
                t.pred_typed += right
                t.pred_any += bool(hits)

    def as_dict(self) -> dict[str, Any]:
        """``{"phi_groups": {"tokens": {group: figures}, "spans": {...}}}``."""
        return {
            "phi_groups": {
                "tokens": {g: t.as_dict() for g, t in self.tokens.items()},
                "spans": {g: t.as_dict() for g, t in self.spans.items()},
            }
        }

    def lines(self) -> list[str]:
        """One line per unit: recall/precision (percent) and counts of each group."""

        def pct(value: float | None) -> str:
            return "-" if value is None else f"{100 * value:.1f}"

        out = []
        for unit, tallies in (("token", self.tokens), ("span", self.spans)):
            parts = []
            for group, t in tallies.items():
                d = t.as_dict()
                figures = f"{pct(d['recall'])}/{pct(d['precision'])}"
                parts.append(f"{group} {figures} (n={d['gold']}, p={d['pred']})")
            out.append(f"PHI per {unit}, recall/precision: " + ", ".join(parts))
        return out
