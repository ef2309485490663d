"""eCQM value-set co-membership: which ICD-10-CM codes share a value set with a SNOMED code."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path


def normalize_icd(code: str) -> str:
    """ICD-10-CM code without dot, upper case.

    >>> normalize_icd("r10.9")
    'R109'
    """
    return code.replace(".", "").strip().upper()


class ValueSetIndex:
    """SNOMED code -> ICD-10-CM codes of the value sets it belongs to.

    Args:
        valuesets: iterable of (snomed codes, icd10cm codes) per value set.
    """

    def __init__(self, valuesets: list[tuple[frozenset[str], frozenset[str]]]) -> None:
        self._sets = [(s, i) for s, i in valuesets if s and i]
        self._by_snomed: dict[str, list[int]] = defaultdict(list)
        for n, (snomed, _) in enumerate(self._sets):
            for code in snomed:
                self._by_snomed[code].append(n)
        self._cache: dict[tuple[str, int | None], frozenset[str]] = {}

    def __len__(self) -> int:
        return len(self._sets)

    def icd_for_snomed(self, snomed: str, *, max_icd: int | None = None) -> frozenset[str]:
        """Normalized ICD-10-CM codes sharing a value set (of at most ``max_icd`` ICD codes)."""
        key = (snomed, max_icd)
        if key not in self._cache:
            out: set[str] = set()
            for n in self._by_snomed.get(snomed, ()):
                icd = self._sets[n][1]
                if max_icd is None or len(icd) <= max_icd:
                    out |= icd
            self._cache[key] = frozenset(out)
        return self._cache[key]

    @classmethod
    def from_jsonl(cls, path: Path) -> ValueSetIndex:
        """Load ``valuesets.jsonl`` (one value set a line, ``codes`` by system)."""
        sets: list[tuple[frozenset[str], frozenset[str]]] = []
        with path.open(encoding="utf-8") as fh:
            for line in fh:
                if not line.strip():
                    continue
                codes = json.loads(line).get("codes", {})
                snomed = frozenset(str(c) for c in codes.get("snomed", []))
                icd = frozenset(normalize_icd(str(c)) for c in codes.get("icd10cm", []))
                sets.append((snomed, icd))
        return cls(sets)


def load_code_column(path: Path) -> frozenset[str]:
    """First column of a TSV with a header line (e.g. ``rxnorm.tsv`` RxCUIs)."""
    with path.open(encoding="utf-8") as fh:
        next(fh, None)
        return frozenset(line.split("\t", 1)[0].strip() for line in fh if line.strip())
