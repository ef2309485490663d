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


def test_word_before_scans_backwards_as_the_regex_searched() -> None:
    from nlp.local.annotate import _word_before

    rx = re.compile(r"([A-Za-z][A-Za-z-]*)[ \t]+$")
    rng = random.Random(11)
    for _ in range(20_000):
        text = "".join(rng.choice("ab-Z \t\n.é1") for _ in range(rng.randint(0, 45)))
        begin = rng.randint(0, len(text))
        m = rx.search(text, max(0, begin - 30), begin)
        want = None if m is None else (m.start(1), m.end(1), m.group(1))
        assert _word_before(text, begin) == want, (text, begin)


def test_phi_patterns_at_digits_fused_equal_each_pattern_on_its_own() -> None:
    from nlp.local.phi import PhiDetector
    from nlp.local.phi_words import match_at

    detector = PhiDetector()
    at_digits = [(pi, p[1]) for pi, p in enumerate(detector._patterns) if p[2] == "digit"]
    assert len(at_digits) >= 5
    pieces = ["12/03/2019", "(617) 555-0142", "+1 617 555 0142", "555-0142", "1999", "45 yo",
              "age 7", "3 Oak Street", "Boston, MA 02115", "123-45-6789", "2/14", "x", " ", "\n",
              "(", "+", "2019-03-04", "10 mg", "the 3rd", "5/40"]  # fmt: skip
    rng = random.Random(5)
    for _ in range(400):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(1, 12)))
        _, digits = _positions(text)
        fused = detector._fused.spans(text, digits)
        for pi, rx in at_digits:
            alone = [
                m.span("v") if "v" in rx.groupindex and m.group("v") is not None else m.span()
                for m in match_at(rx, text, digits)
            ]
            assert fused.get(pi, []) == alone, (pi, text)


def test_release_words_before_a_drug_skip_the_search_only_when_it_finds_nothing() -> None:
    from nlp.local.medcombo import _RELEASE_BEFORE, release_before

    pieces = ["extended release ", "Extended-Release ", "24 hr ", "12 HR ", "abuse-deterrent ",
              "osmotic ", "sprinkle ", "5 ml ", "100 actuat ", "take ", "metformin", "\n", " ",
              "er ", "x", "1.5 ", "hrs", "mL"]  # fmt: skip
    rng = random.Random(3)
    for _ in range(3000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 8)))
        end = rng.randint(0, len(text))
        lo = rng.randint(0, end)
        found = _RELEASE_BEFORE.search(text, lo, end)
        want = found.group().strip() if found is not None else ""
        assert release_before(text, lo, end) == want, (text, lo, end)


def test_phi_word_index_from_the_annotators_words_equals_its_own_split() -> None:
    from nlp.local.phi import _positions_of

    norm = Normaliser.default()
    pieces = ["Crohn's", " ", "(617)", "+1", "Dr.", "José", "naïve", "x2", "1st", "\n", "O'Neil",
              "pt's", "2/14", "ab_c", "²", "'s", "Boston", "-", "MGH"]  # fmt: skip
    rng = random.Random(9)
    for _ in range(2000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 14)))
        words = norm.words(text)
        assert _positions_of(text, words.run_starts, words.runs) == _positions(text), text


def test_phi_capital_word_patterns_tried_at_their_candidate_words_only() -> None:
    from nlp.local.phi_names import _INITIAL_RE, initial_starts
    from nlp.local.phi_places import _ACRONYM_RE, _CUE_WORDS, _TITLED_AFTER_CUE_RE, acronym_starts
    from nlp.local.phi_words import at, match_at

    pieces = ["MGH", "UMMC", "BIDMC", "S.", "J. Smith", "to ", "To ", "at ", "from ", "the ",
              "Holy Cross", "Boston", "_", "2", "é", "A", ".", " ", "\n", "-", "'", "ABCDEH",
              "mgh", "NH", "X.", "St.", "from the Farr"]  # fmt: skip
    rng = random.Random(13)
    for _ in range(3000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 12)))
        positions, _ = _positions(text)
        for rx, starts in (
            (_INITIAL_RE, initial_starts(text, positions)),
            (_ACRONYM_RE, acronym_starts(text, positions)),
            (_TITLED_AFTER_CUE_RE, at(positions, _CUE_WORDS)),
        ):
            want = [m.span() for m in rx.finditer(text)]
            assert [m.span() for m in match_at(rx, text, starts)] == want, (rx.pattern, text)


def test_word_before_a_sentence_end_scans_backwards_as_the_regex_searched() -> None:
    from nlp.local.sentences import _WORD_BEFORE_RE, word_before_end

    rng = random.Random(17)
    for _ in range(20_000):
        text = "".join(rng.choice("aB.. \n1é-") for _ in range(rng.randint(0, 20)))
        end = rng.randint(0, len(text))
        lo = rng.randint(max(0, end - 12), end)
        m = _WORD_BEFORE_RE.search(text, lo, end)
        want = None if m is None else (m.start(1), m.group(1))
        assert word_before_end(text, lo, end) == want, (text, lo, end)


def test_dose_line_searches_are_skipped_only_where_they_find_nothing() -> None:
    from nlp.local.medcombo import (
        _FORM,
        _FORM_WORDS,
        _RELEASE,
        _RELEASE_CASED,
        _RELEASE_NEEDLES,
        _may_match,
    )

    pieces = ["ER ", "er ", "XL", "ODT", "Odt", "24 hr", "12HR", "extended-release", "Chewable",
              "tablet", "Tablets", "injectable", "injector", "kit", "PACK", "gel", "Kit", "x",
              " ", "/", "\n", "é", "mg"]  # fmt: skip
    rng = random.Random(21)
    for _ in range(4000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 8)))
        b = rng.randint(0, len(text))
        e = rng.randint(b, len(text))
        if _RELEASE.search(text, b, e):
            assert _may_match(text, b, e, _RELEASE_NEEDLES, _RELEASE_CASED), text[b:e]
        if _FORM.search(text, b, e):
            assert _may_match(text, b, e, _FORM_WORDS), text[b:e]
