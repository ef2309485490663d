"""The engine's fast paths give the same answers as the straightforward code they replace."""

from __future__ import annotations

import random
import re

import pytest

from nlp.local import LocalEngine
from nlp.local.phi import _positions
from nlp.local.pipeline import annotate_text, annotator_of, mentions_of, run_pipeline
from nlp.local.text import JOINERS, Normaliser, Words
from tests.unit.test_local_engine import NOTE, TERMS, FakeIcd10Linker, FakeRxNormLinker

_TOKEN_RE = re.compile(r"[^\W_]+|[^\w\s]|_")


def _reference_words(norm: Normaliser, text: str) -> Words:
    """The token-by-token word splitter that ``Normaliser.words`` replaced."""
    starts: list[int] = []
    ends: list[int] = []
    keys: list[str] = []
    brk: list[bool] = []
    pending_break = False
    after_apostrophe = False
    for m in _TOKEN_RE.finditer(text):
        tok = m.group()
        if len(tok) == 1 and not tok.isalnum():
            if tok in JOINERS:
                after_apostrophe = tok in "'’‘`"
            else:
                pending_break = True
                after_apostrophe = False
            continue
        if after_apostrophe and tok in ("s", "S") and keys:
            after_apostrophe = False
            ends[-1] = m.end()
            continue
        after_apostrophe = False
        starts.append(m.start())
        ends.append(m.end())
        keys.append(norm.key(tok))
        brk.append(pending_break)
        pending_break = False
    return Words(starts, ends, keys, brk)


@pytest.fixture(scope="module")
def norm() -> Normaliser:
    return Normaliser.default()


@pytest.mark.parametrize(
    "text",
    [
        "Crohn's disease, Alzheimer’s. it 's x",
        "a. 's b",  # a break before a dropped possessive still breaks before the next word
        "'s first, then s's and S`S",
        "non-small cell/lung_cancer (NSCLC); n/v",
        "café résumé naïve's, ²3 ok",
        "",
        "   \n\t ",
        "...",
    ],
)
def test_words_equal_reference(norm: Normaliser, text: str) -> None:
    assert norm.words(text) == _reference_words(norm, text)


def test_words_equal_reference_on_random_text(norm: Normaliser) -> None:
    rng = random.Random(3)
    alphabet = "ab sS'’`-/_.,;:()\n\tCé1"
    for _ in range(3000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 25)))
        assert norm.words(text) == _reference_words(norm, text), repr(text)


def test_phi_positions_same_for_ascii_and_unicode_paths() -> None:
    text = "Seen by Dr. Smith (555) 123-4567 +1 555 222 3333, smith at 10am; at home."
    ascii_pos, ascii_digits = _positions(text)
    uni_pos, uni_digits = _positions(text + " é")
    assert ascii_digits == uni_digits
    assert ascii_digits[:2] == [text.index("555"), text.index("(")]
    assert {k: v for k, v in uni_pos.items() if k != "é"} == ascii_pos
    assert ascii_pos["smith"] == [text.index("Smith"), text.index("smith")]


def test_annotate_text_equals_full_pipeline() -> None:
    engine = LocalEngine(TERMS, FakeIcd10Linker(), FakeRxNormLinker(), build_id="test")
    annotator = annotator_of(engine.nlp)
    for text in (NOTE, NOTE.upper(), "", "No pain.", NOTE.replace("\n", " ")):
        assert annotate_text(engine.nlp, annotator, text) == mentions_of(
            run_pipeline(engine.nlp, text)
        )
