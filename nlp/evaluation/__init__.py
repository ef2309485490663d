"""Evaluation harness: corpus readers, span/code/trait metrics and reports for any NlpEngine."""

from nlp.evaluation.metrics import CodeJudge, CorpusScore, Counts, match, span_counts
from nlp.evaluation.runner import (
    CORPORA,
    CorpusUnavailableError,
    LoadedCorpus,
    default_judge,
    evaluate,
    load_corpus,
    predictions,
)
from nlp.evaluation.types import Code, EvalDocument, GoldMention, PredMention, Scope

__all__ = [
    "CORPORA",
    "Code",
    "CodeJudge",
    "CorpusScore",
    "CorpusUnavailableError",
    "Counts",
    "EvalDocument",
    "GoldMention",
    "LoadedCorpus",
    "PredMention",
    "Scope",
    "default_judge",
    "evaluate",
    "load_corpus",
    "match",
    "predictions",
    "span_counts",
]
