"""Sentence splitter, word normalisation and the dictionary matcher of the local engine."""

from __future__ import annotations

import pytest

from nlp.local.matcher import TermMatcher
from nlp.local.sentences import sentence_starts, token_sentence_starts
from nlp.local.text import Normaliser
from tests.unit.test_local_engine import TERMS, FakeTerm


def _sentences(text: str) -> list[str]:
    starts = sentence_starts(text)
    ends = [*starts[1:], len(text)]
    return [text[b:e].strip() for b, e in zip(starts, ends, strict=True)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("No fever. Cough present.", ["No fever.", "Cough present."]),
        ("Seen by Dr. Smith today. Stable.", ["Seen by Dr. Smith today.", "Stable."]),
        (
            "Take 1 tab p.o. b.i.d. Return in 2 weeks.",
            ["Take 1 tab p.o. b.i.d. Return in 2 weeks."],
        ),
        ("Vitals:\nBP 120/80\nHR 72", ["Vitals:", "BP 120/80", "HR 72"]),
        ("history of\nhypertension and diabetes", ["history of\nhypertension and diabetes"]),
        ("Plan:\n- aspirin\n- statin", ["Plan:", "- aspirin", "- statin"]),
        ("Temp 38.5 C. pt is febrile", ["Temp 38.5 C. pt is febrile"]),
        ("Allergies: none\n\nassessment: stable", ["Allergies: none", "assessment: stable"]),
        ("  Leading spaces? Yes! Done.", ["Leading spaces?", "Yes!", "Done."]),
    ],
)
def test_sentence_splitter(text: str, expected: list[str]) -> None:
    assert _sentences(text) == expected


def test_token_starts_snap_to_tokens() -> None:
    assert token_sentence_starts([0, 10, 11], [0, 4, 9, 11, 15]) == [0, 3]
    assert token_sentence_starts([5], [0, 6]) == [0, 1]


@pytest.fixture(scope="module")
def norm() -> Normaliser:
    return Normaliser.default()


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Diseases", "disease"),
        ("therapies", "therapy"),
        ("haemorrhage", "hemorrhage"),
        ("Tumours", "tumor"),
        ("Crohn's disease", "crohn disease"),
        ("non-small cell", "non small cell"),
        ("type II diabetes", "type 2 diabetes"),
        ("Sjögren syndrome", "sjogren syndrome"),
        ("hypertention", "hypertension"),
        ("neuroses", "neurosis"),
    ],
)
def test_normalisation_equates_variants(norm: Normaliser, a: str, b: str) -> None:
    assert norm.phrase_key(a) == norm.phrase_key(b)


@pytest.mark.parametrize("word", ["diabetes", "sepsis", "status", "virus", "illness"])
def test_invariant_words_are_not_singularised(norm: Normaliser, word: str) -> None:
    assert norm.key(word) == word


@pytest.fixture(scope="module")
def matcher(norm: Normaliser) -> TermMatcher:
    m = TermMatcher(norm)
    m.add([*TERMS, FakeTerm("lung", "ANATOMY", "SYSTEM_ORGAN_SITE", "anatomy")])
    m.finalise()
    return m


def _found(matcher: TermMatcher, text: str) -> list[str]:
    return [text[m.begin : m.end] for m in matcher.find(text, matcher.normaliser.words(text))]


def test_matcher_case_plural_punctuation(matcher: TermMatcher) -> None:
    text = "PNEUMONIAS, Crohns disease and Non small-cell lung cancers; haemorrhage."
    assert _found(matcher, text) == [
        "PNEUMONIAS",
        "Crohns disease",
        "Non small-cell lung cancers",
        "haemorrhage",
    ]


def test_matcher_is_leftmost_longest_and_stops_at_breaks(matcher: TermMatcher) -> None:
    assert _found(matcher, "abdominal pain") == ["abdominal pain"]
    assert _found(matcher, "abdominal, pain") == []


def test_abbreviations_match_upper_case_only(matcher: TermMatcher) -> None:
    assert _found(matcher, "Hx of DM on insulin") == ["DM", "insulin"]
    assert _found(matcher, "dm") == []


def test_compiled_trie_cache_round_trip(matcher: TermMatcher, tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "trie.pkl"
    matcher.save(path)
    again = TermMatcher(matcher.normaliser)
    assert again.load(path)
    assert again.size == matcher.size
    text = "Crohns disease with haemorrhage"
    assert _found(again, text) == _found(matcher, text)
    assert not TermMatcher(matcher.normaliser).load(tmp_path / "missing.pkl")
