"""The ICD-10-CM phrase table: findings and diagnoses as clinicians and nurses write them.

``data/icd-phrases.tsv`` holds phrases ("productive cough", "abd distended", "breast ca") with
the ICD-10-CM codes a coder would accept, written from general clinical knowledge (never from
evaluation notes). The split is declared in the file and fixed by :func:`split_of`: a phrase
is held out when the first hex digit of ``sha1(fold(phrase))`` is odd. Only the tune half is
looked at while improving the linker; the held-out half is the reported figure.

Each phrase gets one verdict from the top concept an ICD-10-CM linker (or the engine) gives:

* ``right``: scored at least ``min_score`` and one of the accepted codes;
* ``wrong``: scored at least ``min_score`` and not accepted (a false Condition/Observation);
* ``none``: no concept at ``min_score`` (no resource: safe, but a miss).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from nlp.local.normalize import fold

PHRASES_FILE = "icd-phrases.tsv"
SPLITS = ("tune", "heldout", "all")
MIN_SCORE = 0.5  # the clinical profile's default min_score


class PhraseTableError(ValueError):
    """A row of the phrase table is malformed."""


@dataclass(frozen=True, slots=True)
class Phrase:
    """One row: the phrase and the codes a coder would accept (first = preferred)."""

    text: str
    accepted: tuple[str, ...]

    @property
    def split(self) -> str:
        return split_of(self.text)


def split_of(phrase: str) -> str:
    """``heldout`` when the first hex digit of sha1(fold(phrase)) is odd, else ``tune``.

    >>> split_of("productive cough") in ("tune", "heldout")
    True
    """
    digit = int(hashlib.sha1(fold(phrase).encode()).hexdigest()[0], 16)
    return "heldout" if digit % 2 else "tune"


def table_path() -> Path:
    """The phrase table shipped with the package."""
    return Path(str(resources.files("nlp.evaluation") / "data" / PHRASES_FILE))


def parse_phrases(text: str) -> list[Phrase]:
    """Rows of a phrase table (``phrase<TAB>code|code``; ``#`` comments).

    Raises:
        PhraseTableError: a row without codes, or a phrase listed twice.
    """
    out: list[Phrase] = []
    seen: set[str] = set()
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        parts = line.split("\t")
        codes = tuple(c.strip() for c in parts[1].split("|")) if len(parts) > 1 else ()
        if not parts[0].strip() or not codes or not all(codes):
            raise PhraseTableError(f"[NLP716] phrase table line {n}: phrase<TAB>code|code")
        f = fold(parts[0])
        if f in seen:
            raise PhraseTableError(f"[NLP716] phrase table line {n}: phrase listed twice")
        seen.add(f)
        out.append(Phrase(parts[0].strip(), codes))
    return out


def read_phrases(split: str = "all", path: Path | None = None) -> list[Phrase]:
    """The phrases of ``split`` (``tune``, ``heldout`` or ``all``)."""
    if split not in SPLITS:
        raise PhraseTableError(f"[NLP716] unknown split {split!r}; choose from {SPLITS}")
    rows = parse_phrases((path or table_path()).read_text(encoding="utf-8"))
    return [p for p in rows if split == "all" or p.split == split]


TopConcept = tuple[str, float] | None  # (code, score) of the top concept, or None


def verdict(phrase: Phrase, top: TopConcept, min_score: float = MIN_SCORE) -> str:
    """``right``, ``wrong`` or ``none`` (see the module docstring).

    >>> verdict(Phrase("cough", ("R05.9",)), ("R05.9", 0.9))
    'right'
    >>> verdict(Phrase("cough", ("R05.9",)), ("R05.8", 0.4))
    'none'
    """
    if top is None or top[1] < min_score:
        return "none"
    return "right" if top[0] in phrase.accepted else "wrong"


def score_phrases(
    phrases: Sequence[Phrase],
    top_of: Callable[[str], TopConcept],
    min_score: float = MIN_SCORE,
) -> dict[str, Any]:
    """Counts of right / wrong / none, and the phrases of each verdict."""
    out: dict[str, Any] = {"phrases": len(phrases), "right": 0, "wrong": 0, "none": 0}
    detail: dict[str, list[str]] = {"wrong": [], "none": []}
    for p in phrases:
        top = top_of(p.text)
        v = verdict(p, top, min_score)
        out[v] += 1
        if v != "right":
            got = f"{top[0]} {top[1]:.2f}" if top else "-"
            detail[v].append(f"{p.text} -> {got} (want {'|'.join(p.accepted)})")
    n = len(phrases)
    out["right_share"] = round(out["right"] / n, 4) if n else None
    out["wrong_share"] = round(out["wrong"] / n, 4) if n else None
    out["detail"] = detail
    return out


ENGINE_TEMPLATE = "Pt with {phrase}."  # a neutral sentence: the phrase after a condition cue


def linker_top(linker: Any) -> Callable[[str], TopConcept]:
    """Top concept of an ``Icd10Linker``-like object (``link(text, k=...)``) for a phrase."""

    def top(text: str) -> TopConcept:
        got = linker.link(text, k=1)
        return (got[0].code, got[0].score or 0.0) if got else None

    return top


def engine_top(engine: Any, template: str = ENGINE_TEMPLATE) -> Callable[[str], TopConcept]:
    """Top concept the whole engine gives the phrase written inside ``template``.

    The InferICD10CM entity overlapping the phrase most is taken; no entity: None.
    """

    def top(text: str) -> TopConcept:
        note = template.format(phrase=text)
        begin = note.index(text)
        end = begin + len(text)
        best: TopConcept = None
        best_overlap = 0
        for e in engine.analyze(note).icd10cm_entities:
            b, f = e.begin_offset or 0, e.end_offset or 0
            overlap = min(end, f) - max(begin, b)
            if overlap > best_overlap and e.concepts:
                best_overlap = overlap
                best = (e.concepts[0].code, e.concepts[0].score or 0.0)
        return best

    return top


def measure(top_of: Callable[[str], TopConcept], show_heldout: bool = False) -> dict[str, Any]:
    """Figures for both halves; the held-out half's phrase details only when asked."""
    out: dict[str, Any] = {}
    for split in ("tune", "heldout"):
        res = score_phrases(read_phrases(split), top_of)
        if split == "heldout" and not show_heldout:
            res.pop("detail")
        out[split] = res
    return out


def main(argv: Sequence[str] | None = None) -> None:
    """``python -m nlp.evaluation.icd_phrases [--engine] [--show-heldout]``: JSON figures."""
    import argparse
    import json
    import sys

    ap = argparse.ArgumentParser(description="ICD-10-CM phrase table figures")
    ap.add_argument("--engine", action="store_true", help="whole local engine, not the linker")
    ap.add_argument("--show-heldout", action="store_true", help="list held-out misses too")
    args = ap.parse_args(argv)
    if args.engine:
        from nlp.local import LocalEngine

        top_of = engine_top(LocalEngine.from_assets())
    else:
        from nlp.local.linker import Icd10Linker

        top_of = linker_top(Icd10Linker.from_assets())
    sys.stdout.write(json.dumps(measure(top_of, args.show_heldout), indent=1) + "\n")


if __name__ == "__main__":
    main()
