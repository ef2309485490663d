"""Span matching (strict / overlap), per-category and per-type P/R/F1, code and trait accuracy."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from nlp.evaluation.types import (
    ICD10CM,
    LABEL_TRAITS,
    MEDICAL_CONDITION,
    RXNORM,
    SNOMED,
    Code,
    EvalDocument,
    GoldMention,
    PredMention,
    Scope,
)
from nlp.evaluation.valuesets import ValueSetIndex, normalize_icd

Mode = Literal["strict", "overlap"]
Level = Literal["category", "type"]
MODES: tuple[Mode, ...] = ("strict", "overlap")
LEVELS: tuple[Level, ...] = ("category", "type")
ALL = "ALL"
RXNORM_IN_VOCAB = "rxnorm in-vocabulary"
TRAIT_LABELS = {trait: label for label, trait in LABEL_TRAITS.items()}


@dataclass
class Counts:
    """True positives (one-to-one matches), predictions and gold mentions."""

    tp: int = 0
    n_pred: int = 0
    n_gold: int = 0

    @property
    def precision(self) -> float:
        return self.tp / self.n_pred if self.n_pred else 0.0

    @property
    def recall(self) -> float:
        return self.tp / self.n_gold if self.n_gold else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def add(self, other: Counts) -> None:
        self.tp += other.tp
        self.n_pred += other.n_pred
        self.n_gold += other.n_gold

    def as_dict(self) -> dict[str, Any]:
        return {
            "tp": self.tp,
            "pred": self.n_pred,
            "gold": self.n_gold,
            "precision": round(self.precision, 4),
            "recall": round(self.recall, 4),
            "f1": round(self.f1, 4),
        }


def _key(category: str, type_: str, level: Level) -> str:
    return category if level == "category" else f"{category}/{type_}"


def _overlap(a_begin: int, a_end: int, b_begin: int, b_end: int) -> int:
    return max(0, min(a_end, b_end) - max(a_begin, b_begin))


def match(
    gold: Sequence[GoldMention], pred: Sequence[PredMention], mode: Mode, level: Level
) -> list[tuple[int, int]]:
    """One-to-one matching of gold and predicted mentions (indices), greedy by overlap size.

    Strict needs identical offsets, overlap needs at least one shared character; both need the
    same category, and the same type at ``level="type"``.

    >>> g = [GoldMention(0, 5, "C", "T")]
    >>> p = [PredMention(0, 4, "C", "T"), PredMention(0, 5, "C", "T")]
    >>> match(g, p, "strict", "type"), match(g, p, "overlap", "type")
    ([(0, 1)], [(0, 1)])
    """
    candidates: list[tuple[int, int, int, int]] = []
    for gi, g in enumerate(gold):
        for pi, p in enumerate(pred):
            if g.category != p.category or (level == "type" and g.type != p.type):
                continue
            if mode == "strict":
                if g.begin == p.begin and g.end == p.end:
                    candidates.append((-(g.end - g.begin), 0, gi, pi))
            else:
                ov = _overlap(g.begin, g.end, p.begin, p.end)
                if ov > 0:
                    size_gap = abs((g.end - g.begin) - (p.end - p.begin))
                    candidates.append((-ov, size_gap, gi, pi))
    candidates.sort()
    used_g: set[int] = set()
    used_p: set[int] = set()
    pairs: list[tuple[int, int]] = []
    for _, _, gi, pi in candidates:
        if gi in used_g or pi in used_p:
            continue
        used_g.add(gi)
        used_p.add(pi)
        pairs.append((gi, pi))
    pairs.sort()
    return pairs


def span_counts(
    gold: Sequence[GoldMention], pred: Sequence[PredMention], mode: Mode, level: Level
) -> dict[str, Counts]:
    """Counts per key (category or ``CATEGORY/TYPE``) and ``ALL`` for one document."""
    out: dict[str, Counts] = defaultdict(Counts)
    for g in gold:
        out[_key(g.category, g.type, level)].n_gold += 1
        out[ALL].n_gold += 1
    for p in pred:
        out[_key(p.category, p.type, level)].n_pred += 1
        out[ALL].n_pred += 1
    for gi, _ in match(gold, pred, mode, level):
        g = gold[gi]
        out[_key(g.category, g.type, level)].tp += 1
        out[ALL].tp += 1
    return dict(out)


def filter_predictions(
    pred: Iterable[PredMention], scope: Scope, ignore: Sequence[tuple[int, int]] = ()
) -> list[PredMention]:
    """Keep predictions in scope that do not touch an ignored span."""
    return [
        p
        for p in pred
        if scope.admits(p.category, p.type)
        and not any(_overlap(p.begin, p.end, b, e) for b, e in ignore)
    ]


@dataclass
class CodeTally:
    """Code accuracy for one gold code system."""

    n_gold: int = 0
    n_evaluable: int = 0
    n_matched: int = 0
    top1: int = 0
    top5: int = 0

    def as_dict(self) -> dict[str, Any]:
        ev, m = self.n_evaluable, self.n_matched
        return {
            "gold": self.n_gold,
            "evaluable": ev,
            "span_found": m,
            "top1": self.top1,
            "top5": self.top5,
            "top1_accuracy": round(self.top1 / ev, 4) if ev else None,
            "top5_accuracy": round(self.top5 / ev, 4) if ev else None,
            "top1_given_span": round(self.top1 / m, 4) if m else None,
        }


@dataclass
class CodeJudge:
    """Decides whether predicted codes credit a gold code.

    Attributes:
        valuesets: eCQM value-set index (SNOMED gold credited by ICD-10-CM co-membership);
            without it SNOMED gold is not evaluable.
        rxnorm_vocab: RxCUIs the engine can know; when given, a second tally
            (``rxnorm in-vocabulary``) only counts gold RxCUIs in it.
        narrow_max_icd: the ``snomed->icd10cm narrow`` tally only uses value sets with at most this
            many ICD-10-CM codes (broad groupings such as "Cancer" credit loosely).
    """

    valuesets: ValueSetIndex | None = None
    rxnorm_vocab: frozenset[str] | None = None
    narrow_max_icd: int = 100

    def keys_for(self, gold: Code) -> list[str]:
        """The tallies a gold code feeds."""
        if gold.system == SNOMED:
            return ["snomed->icd10cm", "snomed->icd10cm narrow"]
        if gold.system == RXNORM and self.rxnorm_vocab is not None:
            return [RXNORM, RXNORM_IN_VOCAB]
        if gold.system in (RXNORM, ICD10CM):
            return [gold.system]
        return []

    def evaluable(self, key: str, gold: Code) -> bool:
        if key == RXNORM_IN_VOCAB:
            return self.rxnorm_vocab is not None and gold.code in self.rxnorm_vocab
        if key in (RXNORM, ICD10CM):
            return True
        if self.valuesets is None:
            return False
        cap = self.narrow_max_icd if key.endswith("narrow") else None
        return bool(self.valuesets.icd_for_snomed(gold.code, max_icd=cap))

    def rank(self, key: str, gold: Code, pred: PredMention) -> int | None:
        """0-based rank of the first crediting predicted code, or None."""
        if key in (RXNORM, RXNORM_IN_VOCAB):
            ranked = list(pred.rxnorm)
            return ranked.index(gold.code) if gold.code in ranked else None
        icd = [normalize_icd(c) for c in pred.icd10cm]
        if key == ICD10CM:
            target = normalize_icd(gold.code)
            return icd.index(target) if target in icd else None
        if self.valuesets is None:
            return None
        cap = self.narrow_max_icd if key.endswith("narrow") else None
        allowed = self.valuesets.icd_for_snomed(gold.code, max_icd=cap)
        for i, c in enumerate(icd):
            if c in allowed:
                return i
        return None


@dataclass
class TraitTally:
    """Trait agreement over matched pairs whose gold annotates traits.

    ``per_trait`` counts precision/recall/F1 per trait; for gold with a ``trait_scope``,
    ``judged`` and ``correct`` count, per trait, the pairs where it was annotated and those
    where the prediction agreed (present in both or absent from both): its accuracy.
    """

    n_pairs: int = 0
    exact: int = 0
    per_trait: dict[str, Counts] = field(default_factory=lambda: defaultdict(Counts))
    judged: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    correct: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    def add(self, gold: GoldMention, pred: PredMention) -> None:
        """Compare the traits of one matched pair (gold without traits is skipped)."""
        g_traits = gold.traits
        if g_traits is None:
            return
        scope = gold.trait_scope
        p_traits = pred.traits if scope is None else pred.traits & scope
        self.n_pairs += 1
        self.exact += g_traits == p_traits
        for name in g_traits | p_traits:
            c = self.per_trait[name]
            c.n_gold += name in g_traits
            c.n_pred += name in p_traits
            c.tp += name in g_traits and name in p_traits
        for name in scope or ():
            self.per_trait.setdefault(name, Counts())
            self.judged[name] += 1
            self.correct[name] += (name in g_traits) == (name in p_traits)

    def as_dict(self) -> dict[str, Any]:
        per: dict[str, Any] = {}
        for name, counts in sorted(self.per_trait.items()):
            row = counts.as_dict()
            n = self.judged.get(name, 0)
            if n:
                row["judged"] = n
                row["accuracy"] = round(self.correct[name] / n, 4)
                row["label"] = TRAIT_LABELS.get(name, name)
            per[name] = row
        return {
            "pairs": self.n_pairs,
            "exact_set_accuracy": round(self.exact / self.n_pairs, 4) if self.n_pairs else None,
            "per_trait": per,
        }


@dataclass
class CorpusScore:
    """Accumulates every figure of one corpus over its documents."""

    name: str
    judge: CodeJudge = field(default_factory=CodeJudge)
    n_docs: int = 0
    spans: dict[str, dict[str, dict[str, Counts]]] = field(
        default_factory=lambda: {m: {lv: defaultdict(Counts) for lv in LEVELS} for m in MODES}
    )
    labels: dict[str, dict[str, Counts]] = field(
        default_factory=lambda: {m: defaultdict(Counts) for m in MODES}
    )
    codes: dict[str, CodeTally] = field(default_factory=lambda: defaultdict(CodeTally))
    traits: TraitTally = field(default_factory=TraitTally)
    conditions: dict[str, int] = field(
        default_factory=lambda: {
            "coded": 0,
            "in_text": 0,
            "found": 0,
            "icd_evaluable": 0,
            "icd_top1": 0,
        }
    )

    def add(self, doc: EvalDocument, pred: Sequence[PredMention]) -> None:
        """Score one document (``pred`` already filtered to the corpus scope)."""
        self.n_docs += 1
        gold = doc.gold
        for mode in MODES:
            for level in LEVELS:
                for key, c in span_counts(gold, pred, mode, level).items():
                    self.spans[mode][level][key].add(c)
            hit = {gi for gi, _ in match(gold, pred, mode, "type")}
            for gi, g in enumerate(gold):
                if g.group:
                    tally = self.labels[mode][g.group]
                    tally.n_gold += 1
                    tally.tp += gi in hit
        pairs = dict(match(gold, pred, "overlap", "category"))
        self._add_codes(gold, pred, pairs)
        self._add_traits(gold, pred, pairs)
        self._add_conditions(doc, pred, pairs)

    def _add_codes(
        self, gold: Sequence[GoldMention], pred: Sequence[PredMention], pairs: dict[int, int]
    ) -> None:
        for gi, g in enumerate(gold):
            if not g.codes:
                continue
            primary = g.codes[0]
            for key in self.judge.keys_for(primary):
                tally = self.codes[key]
                tally.n_gold += 1
                if not self.judge.evaluable(key, primary):
                    continue
                tally.n_evaluable += 1
                if gi not in pairs:
                    continue
                tally.n_matched += 1
                rank = self.judge.rank(key, primary, pred[pairs[gi]])
                if rank is not None:
                    tally.top1 += rank == 0
                    tally.top5 += rank < 5

    def _add_traits(
        self, gold: Sequence[GoldMention], pred: Sequence[PredMention], pairs: dict[int, int]
    ) -> None:
        for gi, pi in pairs.items():
            self.traits.add(gold[gi], pred[pi])

    def _add_conditions(
        self, doc: EvalDocument, pred: Sequence[PredMention], pairs: dict[int, int]
    ) -> None:
        for code, indices in doc.condition_codes.items():
            self.conditions["coded"] += 1
            if not indices:
                continue
            self.conditions["in_text"] += 1
            gold_code = Code(SNOMED, code)
            evaluable = self.judge.evaluable("snomed->icd10cm", gold_code)
            self.conditions["icd_evaluable"] += evaluable
            found = [pairs[i] for i in indices if i in pairs]
            if not found:
                continue
            self.conditions["found"] += 1
            ok = any(
                self.judge.rank("snomed->icd10cm", gold_code, pred[pi]) == 0
                and pred[pi].category == MEDICAL_CONDITION
                for pi in found
            )
            self.conditions["icd_top1"] += ok

    def as_dict(self) -> dict[str, Any]:
        """The JSON-ready summary (no text, only counts and ratios)."""
        spans = {
            mode: {
                level: {k: c.as_dict() for k, c in sorted(by_key.items())}
                for level, by_key in by_level.items()
            }
            for mode, by_level in self.spans.items()
        }
        labels = {
            mode: {
                k: {"gold": c.n_gold, "found": c.tp, "recall": round(c.recall, 4)}
                for k, c in sorted(by_label.items())
            }
            for mode, by_label in self.labels.items()
        }
        cond = dict(self.conditions)
        in_text, icd_ev = cond["in_text"], cond["icd_evaluable"]
        return {
            "corpus": self.name,
            "documents": self.n_docs,
            "spans": spans,
            "labels": labels if any(labels.values()) else {},
            "codes": {k: v.as_dict() for k, v in sorted(self.codes.items())},
            "traits": self.traits.as_dict() if self.traits.n_pairs else {},
            "conditions": (
                {
                    **cond,
                    "recall_in_text": round(cond["found"] / in_text, 4) if in_text else None,
                    "icd_top1_recall": round(cond["icd_top1"] / icd_ev, 4) if icd_ev else None,
                }
                if cond["coded"]
                else {}
            ),
        }
