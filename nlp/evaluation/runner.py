"""Load a corpus, run an NlpEngine over it and score the predictions."""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from nlp.base import EngineError, NlpEngine
from nlp.evaluation.concepts import ConditionConcepts
from nlp.evaluation.metrics import CodeJudge, CorpusScore, filter_predictions
from nlp.evaluation.types import MEDICAL_CONDITION, MEDICATION, EvalDocument, PredMention, Scope
from nlp.schema import Entity, ICD10CMEntity, NlpResult, RxNormEntity

log = logging.getLogger(__name__)

CORPORA = ("bc5cdr", "ncbi", "deid", "synthea", "comprehend", "notes")
BATCH = 16


class CorpusUnavailableError(RuntimeError):
    """The corpus files (or the generator) are not on this machine."""


class ExtraScore(Protocol):
    """Corpus-specific figures computed next to the span table (e.g. deid PHI per token)."""

    def add(self, doc: EvalDocument, preds: Sequence[PredMention]) -> None: ...
    def as_dict(self) -> dict[str, Any]: ...
    def lines(self) -> list[str]: ...


@dataclass
class LoadedCorpus:
    """Documents of one corpus with the scope its gold can judge.

    ``untyped``: the gold names categories only; predicted types are blanked before scoring, so
    the type-level figures equal the category-level ones. ``extra``: corpus-specific figures.
    """

    name: str
    documents: list[EvalDocument]
    scope: Scope
    notes: list[str] = field(default_factory=list)
    untyped: bool = False
    extra: ExtraScore | None = None


def _span(begin: int | None, end: int | None) -> tuple[int, int] | None:
    if begin is None or end is None or end <= begin:
        return None
    return begin, end


_Linked = tuple[int, int, tuple[str, ...], float | None]  # span, ranked codes, top score


def _best_codes(
    begin: int, end: int, linked: Sequence[_Linked]
) -> tuple[tuple[str, ...], float | None]:
    best: tuple[int, tuple[str, ...], float | None] = (0, (), None)
    for b, e, codes, score in linked:
        ov = min(end, e) - max(begin, b)
        if ov > best[0]:
            best = (ov, codes, score)
    return best[1], best[2]


_AnyEntity = Entity | ICD10CMEntity | RxNormEntity


def _codes(entity: _AnyEntity) -> tuple[str, ...]:
    if isinstance(entity, Entity):
        return ()
    return tuple(c.code for c in entity.concepts or [])


def _top_score(entity: _AnyEntity) -> float | None:
    if isinstance(entity, Entity) or not entity.concepts:
        return None
    return entity.concepts[0].score


def _linked(entities: Sequence[_AnyEntity]) -> list[_Linked]:
    return [
        (s[0], s[1], _codes(e), _top_score(e))
        for e in entities
        if (s := _span(e.begin_offset, e.end_offset))
    ]


def predictions(result: NlpResult, operation: str) -> list[PredMention]:
    """Predicted mentions of the response named by ``operation``.

    For ``DetectEntitiesV2`` the ranked codes of the InferICD10CM (conditions) and InferRxNorm
    (medications) entity that overlaps each entity most are attached. Concept order is kept as
    the engine gives it: the first concept is the top-1 answer.
    """
    entities: Sequence[_AnyEntity] = result.entities
    if operation == "InferICD10CM":
        entities = result.icd10cm_entities
    elif operation == "InferRxNorm":
        entities = result.rxnorm_entities
    icd = _linked(result.icd10cm_entities)
    rx = _linked(result.rxnorm_entities)
    out: list[PredMention] = []
    for e in entities:
        s = _span(e.begin_offset, e.end_offset)
        if s is None:
            continue
        category = e.category or ""
        icd_codes, rx_codes, icd_score = _codes(e), _codes(e), _top_score(e)
        if isinstance(e, Entity):
            icd_codes, icd_score = (
                _best_codes(*s, icd) if category == MEDICAL_CONDITION else ((), None)
            )
            rx_codes = _best_codes(*s, rx)[0] if category == MEDICATION else ()
        out.append(
            PredMention(
                *s,
                category,
                e.type or "",
                frozenset(t.name for t in e.traits or []),
                icd10cm=icd_codes if not isinstance(e, RxNormEntity) else (),
                rxnorm=rx_codes if not isinstance(e, ICD10CMEntity) else (),
                icd10cm_score=icd_score if not isinstance(e, RxNormEntity) else None,
            )
        )
    return out


def _analyze_batch(engine: NlpEngine, texts: list[str]) -> list[NlpResult | None]:
    many: Callable[[list[str]], Sequence[NlpResult]] | None = getattr(engine, "analyze_many", None)
    if many is not None:
        try:
            return list(many(texts))
        except EngineError as exc:
            log.warning("batch of %d failed (%s); retrying one by one", len(texts), exc.code)
    results: list[NlpResult | None] = []
    for text in texts:
        try:
            results.append(engine.analyze(text))
        except EngineError as exc:
            log.warning("document failed: %s", exc.code)
            results.append(None)
    return results


@dataclass
class CorpusRun:
    """Score and timing of one corpus run."""

    score: CorpusScore
    seconds: float
    chars: int
    errors: int
    notes: list[str]
    extra: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        out = self.score.as_dict()
        out.update(self.extra)
        docs = self.score.n_docs
        out["timing"] = {
            "seconds": round(self.seconds, 3),
            "docs_per_second": round(docs / self.seconds, 2) if self.seconds else None,
            "chars": self.chars,
        }
        out["errors"] = self.errors
        out["notes"] = self.notes
        return out


def evaluate(
    engine: NlpEngine,
    corpus: LoadedCorpus,
    judge: CodeJudge,
    *,
    on_progress: Callable[[int], None] | None = None,
) -> CorpusRun:
    """Run ``engine`` over every document of ``corpus`` and score it.

    A document whose analysis raises ``EngineError`` is scored with no predictions and counted
    in ``errors``.
    """
    score = CorpusScore(corpus.name, judge=judge)
    errors = 0
    engine_seconds = 0.0
    docs = corpus.documents
    for start in range(0, len(docs), BATCH):
        batch = docs[start : start + BATCH]
        t0 = time.perf_counter()
        results = _analyze_batch(engine, [d.text for d in batch])
        engine_seconds += time.perf_counter() - t0
        for doc, result in zip(batch, results, strict=True):
            raw = [] if result is None else predictions(result, doc.operation)
            errors += result is None
            preds = filter_predictions(raw, doc.scope or corpus.scope, doc.ignore)
            if corpus.untyped:
                preds = [dataclasses.replace(p, type="") for p in preds]
            score.add(doc, preds)
            if corpus.extra is not None:
                corpus.extra.add(doc, raw)
        if on_progress is not None:
            on_progress(len(batch))
    log.info("corpus %s: %d documents, %d errors", corpus.name, len(docs), errors)
    extra = corpus.extra
    return CorpusRun(
        score,
        engine_seconds,
        sum(len(d.text) for d in docs),
        errors,
        corpus.notes + (extra.lines() if extra is not None else []),
        extra.as_dict() if extra is not None else {},
    )


def load_corpus(
    name: str,
    split: str,
    data_dir: Path,
    *,
    reference_dir: Path | None = None,
    limit: int | None = None,
    synthea_patients: int = 5,
    synthea_seed: int = 42,
) -> LoadedCorpus:
    """Read one corpus (``limit`` = first N documents in file order).

    Raises:
        CorpusUnavailableError: when its files are absent (``[NLP731]``) or generation fails.
    """
    from nlp.evaluation import comprehend_docs, deid, notes, pubtator, synthea

    notes_out: list[str] = []
    untyped = False
    extra: ExtraScore | None = None
    docs: list[EvalDocument]
    if name in ("bc5cdr", "ncbi"):
        splits = ("train", "dev") if split == "all" else (split,)
        docs = []
        for part in splits:
            if part not in pubtator.SPLIT_FILES[name]:
                raise CorpusUnavailableError(
                    f"[NLP731] {name} has no {part} split here (train, dev or all)"
                )
            path = data_dir / pubtator.SPLIT_FILES[name][part]
            if not path.is_file():
                raise CorpusUnavailableError(
                    f"[NLP731] {name} {part} split not found under {data_dir}"
                )
            docs.extend(pubtator.read_pubtator(name, part, data_dir))
        scope = pubtator.BC5CDR_SCOPE if name == "bc5cdr" else pubtator.NCBI_SCOPE
    elif name == "notes":
        if split not in notes.SPLITS:
            raise CorpusUnavailableError(f"[NLP731] notes has no {split} split (dev, test, all)")
        if not (data_dir / "deid" / "id.text").is_file():
            raise CorpusUnavailableError(
                f"[NLP731] notes: the deid note text (deid/id.text) not found under {data_dir}"
            )
        docs, scope, header = notes.read_notes(data_dir, split)
        untyped = True
        extra = ConditionConcepts()
        notes_out.append(
            f"notes {split}: {header.get('status', '')}; scored per category (gold has no types)"
        )
    elif name == "deid":
        if not (data_dir / "deid" / "id.text").is_file():
            raise CorpusUnavailableError(f"[NLP731] deid not found under {data_dir}")
        try:
            docs, scope = deid.read_deid(data_dir, split)
        except deid.DeidSplitError as exc:
            raise CorpusUnavailableError(str(exc)) from exc
        notes_out.append(f"deid split {split}: patients of notes-gold.json patient_split")
        extra = deid.PhiTokenScore()
    elif name == "synthea":
        try:
            docs = synthea.synthea_documents(patients=synthea_patients, seed=synthea_seed)
        except synthea.SyntheaError as exc:
            raise CorpusUnavailableError(str(exc)) from exc
        scope = synthea.SYNTHEA_SCOPE
        notes_out.append(
            f"synthea: {synthea_patients} patients, seed {synthea_seed}; medication gold spans"
            " are whole clinical-drug strings, so read the overlap figures for MEDICATION"
        )
    elif name == "comprehend":
        folder = reference_dir or data_dir.parent / "reference" / "comprehend-medical-docs"
        if not folder.is_dir():
            raise CorpusUnavailableError(
                f"[NLP731] Comprehend reference pages not found at {folder}"
            )
        docs = comprehend_docs.read_comprehend_docs(folder)
        scope = Scope(frozenset())  # each document carries its own scope
        notes_out.append("agreement with abbreviated Comprehend examples: precision understated")
    else:
        raise CorpusUnavailableError(f"[NLP732] unknown corpus {name!r}; choose from {CORPORA}")
    if limit is not None:
        docs = docs[:limit]
    return LoadedCorpus(name, docs, scope, notes_out, untyped, extra)


def engine_rxnorm_vocabulary(engine: object) -> frozenset[str] | None:
    """RxCUIs an engine can answer, or None when it does not say.

    Asks an optional ``known_codes("rxnorm")`` method first, else reads the concepts of a local
    engine's RxNorm linker (``engine.linking.rxnorm.assets.concepts``).
    """
    known = getattr(engine, "known_codes", None)
    if callable(known):
        codes = known("rxnorm")
        return frozenset(str(c) for c in codes) if codes is not None else None
    linker = getattr(getattr(engine, "linking", None), "rxnorm", None)
    concepts = getattr(getattr(linker, "assets", None), "concepts", None)
    if isinstance(concepts, dict):
        return frozenset(str(c) for c in concepts)
    return None


def default_judge(data_dir: Path, engine: NlpEngine | None = None) -> CodeJudge:
    """A CodeJudge with the eCQM value sets (when present) and the engine's RxNorm vocabulary.

    The vocabulary (see :func:`engine_rxnorm_vocabulary`) feeds the ``rxnorm in-vocabulary``
    tally: top-1 exact where the gold code exists in the engine's assets.
    """
    from nlp.evaluation.valuesets import ValueSetIndex

    path = data_dir / "ecqm-valuesets" / "valuesets.jsonl"
    index = ValueSetIndex.from_jsonl(path) if path.is_file() else None
    vocab = engine_rxnorm_vocabulary(engine) if engine is not None else None
    return CodeJudge(valuesets=index, rxnorm_vocab=vocab)
