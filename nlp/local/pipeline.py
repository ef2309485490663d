"""The spaCy pipeline: blank English + clinical sentence splitter + the annotator component."""

from collections.abc import Iterable
from pathlib import Path

import numpy
import spacy
from spacy.attrs import IDX, LOWER, SENT_START
from spacy.language import Language
from spacy.tokens import Doc

from nlp.local.annotate import Annotator
from nlp.local.matcher import TermLike
from nlp.local.mention import Mention
from nlp.local.sentences import sentence_starts, token_sentence_starts

SENTENCES = "docref_sentences"
_IDX = "docref_token_idx"
_TEXT = "docref_text"
_SENTS = "docref_sent_starts"
ANNOTATOR = "docref_annotator"

if not Doc.has_extension("docref_mentions"):
    Doc.set_extension("docref_mentions", default=None)


class ClinicalSentencizer:
    """Sets sentence starts from ``sentences.sentence_starts`` in one array write."""

    def __call__(self, doc: Doc) -> Doc:
        if len(doc) == 0:
            doc.user_data[_IDX] = []
            doc.user_data[_SENTS] = []
            return doc
        text = doc.user_data.get(_TEXT) or doc.text
        doc.user_data[_TEXT] = text
        idx = doc.to_array(IDX).tolist()
        starts = token_sentence_starts(sentence_starts(text), idx)
        arr = numpy.full((len(doc), 1), -1, dtype="int64")
        arr[starts, 0] = 1
        doc.from_array([SENT_START], arr.astype("uint64"))  # type: ignore[arg-type]
        doc.user_data[_IDX] = idx
        doc.user_data[_SENTS] = starts
        return doc


class AnnotatorComponent:
    """Runs the :class:`Annotator` and stores mentions on ``doc._.docref_mentions``."""

    def __init__(self, annotator: Annotator) -> None:
        self.annotator = annotator

    def __call__(self, doc: Doc) -> Doc:
        idx = doc.user_data.get(_IDX)
        sent_tokens = doc.user_data.get(_SENTS)
        if idx is None or sent_tokens is None:
            idx = doc.to_array(IDX).tolist() if len(doc) else []
            sent_tokens = [s.start for s in doc.sents] if len(doc) else []
        lowers = doc.to_array(LOWER).tolist() if len(doc) else []
        text = doc.user_data.get(_TEXT) or doc.text
        doc._.docref_mentions = self.annotator.annotate(text, lowers, idx, sent_tokens)
        return doc


def build_pipeline(terms: Iterable[TermLike], matcher_cache: Path | None = None) -> Language:
    """Blank English tokenizer, clinical sentence splitter and the annotator, in that order."""
    nlp = spacy.blank("en")
    tokenizer = nlp.tokenizer
    annotator = Annotator(
        terms,
        lambda s: [t.text for t in tokenizer(s)],
        key=nlp.vocab.strings.add,
        matcher_cache=matcher_cache,
    )
    nlp.add_pipe(SENTENCES)
    nlp.add_pipe(ANNOTATOR, config={}, last=True)
    nlp.get_pipe(ANNOTATOR).annotator = annotator  # type: ignore[attr-defined]
    return nlp


def annotator_of(nlp: Language) -> Annotator:
    """The annotator inside a pipeline built by :func:`build_pipeline`."""
    pending = nlp.get_pipe(ANNOTATOR)
    annotator = getattr(pending, "annotator", None)
    if not isinstance(annotator, Annotator):
        raise RuntimeError("[NLP310] annotator not configured: use build_pipeline()")
    return annotator


def run_pipeline(nlp: Language, text: str) -> Doc:
    """``nlp(text)`` for one text, handing the text to the components (saves ``doc.text``)."""
    doc = nlp.make_doc(text)
    doc.user_data[_TEXT] = text
    for _, proc in nlp.pipeline:
        doc = proc(doc)
    return doc


def annotate_text(nlp: Language, annotator: Annotator, text: str) -> list[Mention]:
    """The mentions of ``text``: what ``run_pipeline`` computes, without the spaCy components.

    Only the tokenizer runs; token offsets and ``LOWER`` ids come out in one array read and
    sentence starts go to the annotator directly instead of through ``Doc.from_array``.
    """
    watch = annotator.stopwatch
    watch.start()
    doc = nlp.tokenizer(text)
    if len(doc) == 0:
        return annotator.annotate(text, [], [], [])
    arr = doc.to_array([IDX, LOWER])
    idx: list[int] = arr[:, 0].tolist()
    lowers: list[int] = arr[:, 1].tolist()
    watch.lap("tokenizer")
    sent_tokens = token_sentence_starts(sentence_starts(text), idx)
    watch.lap("sentence splitter")
    return annotator.annotate(text, lowers, idx, sent_tokens)


def mentions_of(doc: Doc) -> list[Mention]:
    """The mentions the annotator stored on ``doc``."""
    got: list[Mention] | None = doc._.docref_mentions
    return got or []


@Language.factory(SENTENCES)
def _make_sentencizer(nlp: Language, name: str) -> ClinicalSentencizer:  # noqa: ARG001
    return ClinicalSentencizer()


class _Pending:
    """Placeholder until ``build_pipeline`` sets the annotator (factories take JSON config)."""

    annotator: Annotator | None = None

    def __call__(self, doc: Doc) -> Doc:
        if self.annotator is None:
            raise RuntimeError("[NLP310] annotator not configured: use build_pipeline()")
        return AnnotatorComponent(self.annotator)(doc)


@Language.factory(ANNOTATOR)
def _make_annotator(nlp: Language, name: str) -> _Pending:  # noqa: ARG001
    return _Pending()
