"""FastContext gives the same modifier assignments as medspacy's ConText on a sentence set."""

from __future__ import annotations

from typing import Any

import pytest
import spacy
from spacy.tokens import Doc, Span

from nlp.local.context import FastContext, load_rule_dicts, prune_overlapping_matches
from nlp.local.sentences import sentence_starts, token_sentence_starts

TARGET_WORDS = {
    "pneumonia",
    "fever",
    "chf",
    "cough",
    "afib",
    "mi",
    "hypertension",
    "diabetes",
    "rash",
    "pain",
    "headache",
    "nausea",
    "cancer",
    "stroke",
    "infection",
    "effusion",
    "dvt",
    "pe",
    "bleed",
    "fracture",
    "flu",
    "rsv",
    "asthma",
    "seizures",
    "edema",
    "copd",
    "aspirin",
    "heparin",
    "depression",
    "malignancy",
    "tumor",
    "sepsis",
    "uti",
    "anemia",
}

SENTENCES = [
    "No evidence of pneumonia or CHF.",
    "Patient denies fever, cough, or chest pain.",
    "There is no fever but there is a cough.",
    "History of MI and hypertension.",
    "Family history of diabetes and cancer in her mother.",
    "Rule out pneumonia.",
    "Possible pneumonia, no effusion.",
    "If she develops fever or rash she should return.",
    "Negative for DVT; positive for PE.",
    "He was not prescribed aspirin, however heparin was started.",
    "Pneumonia has been ruled out.",
    "Patient is not known to have asthma, but has COPD.",
    "No new rash. Headache is unlikely to be a stroke.",
    "The fracture is free of infection, now resolved.",
    "Mother's sister had stroke; father has diabetes.",
    "Concerning for sepsis secondary to UTI.",
    "Suspicious for malignancy; no tumor seen.",
    "No history of seizures. Past medical history of anemia and depression.",
    "Patient was not febrile and denies pain apart from headache.",
    "Absence of edema. Flu is negative. RSV was negative.",
    "Return if nausea or headache worsens, as needed for pain.",
    "Should the patient develop fever, call.",
    "Evaluate for DVT and PE, likely pneumonia.",
    "Without any evidence of bleed or effusion, she has pain.",
    "Presents with cough and fever, no history of asthma.",
    "Denies chest pain.  Reports headache.\nNo rash.\nFever: none",
    "He does not look like he has pneumonia but may be ruled out for CHF.",
    "Cough is now resolved; no fever since. Afib was ruled out. Stroke: no",
    "She declined aspirin. Sister with cancer and uncle with COPD.",
    "Lack of fever, rather than infection, suggests a tumor, although sepsis is possible.",
]


def _doc_with_targets(nlp: spacy.language.Language, text: str) -> Doc:
    doc = nlp.make_doc(text)
    starts = set(token_sentence_starts(sentence_starts(text), [t.idx for t in doc]))
    for t in doc:
        t.is_sent_start = t.i in starts
    doc.ents = [Span(doc, t.i, t.i + 1, label="PROBLEM") for t in doc if t.lower_ in TARGET_WORDS]
    return doc


@pytest.fixture(scope="module")
def nlp() -> spacy.language.Language:
    return spacy.blank("en")


@pytest.fixture(scope="module")
def fast(nlp: spacy.language.Language) -> FastContext:
    return FastContext.default(lambda s: [t.text for t in nlp.tokenizer(s)])


@pytest.fixture(scope="module")
def medspacy_context(nlp: spacy.language.Language):  # type: ignore[no-untyped-def]
    from medspacy.context import ConText

    return ConText(nlp)


@pytest.mark.parametrize("text", SENTENCES)
def test_same_modifiers_as_medspacy(
    nlp: spacy.language.Language, fast: FastContext, medspacy_context: Any, text: str
) -> None:
    doc = _doc_with_targets(nlp, text)
    assert doc.ents, "each sentence needs at least one target"
    medspacy_context(doc)
    expected = [
        sorted((m.category, m.modifier_span[0], m.modifier_span[1]) for m in ent._.modifiers)
        for ent in doc.ents
    ]
    lowers = [t.lower_ for t in doc]
    sent_starts = [s.start for s in doc.sents]
    got = [
        sorted((m.rule.category, m.start, m.end) for m in mods)
        for mods in fast.apply(lowers, sent_starts, [(e.start, e.end) for e in doc.ents])
    ]
    assert got == expected


def test_sentence_set_exercises_every_category(
    nlp: spacy.language.Language, fast: FastContext
) -> None:
    seen: set[str] = set()
    for text in SENTENCES:
        doc = _doc_with_targets(nlp, text)
        lowers = [t.lower_ for t in doc]
        sents = [s.start for s in doc.sents]
        for cats in fast.categories(lowers, sents, [(e.start, e.end) for e in doc.ents]):
            seen |= cats
    assert seen == {
        "NEGATED_EXISTENCE",
        "POSSIBLE_EXISTENCE",
        "HISTORICAL",
        "HYPOTHETICAL",
        "FAMILY",
    }


def test_all_default_rules_compile(fast: FastContext) -> None:
    assert len(fast.rules) == len(load_rule_dicts())
    assert {r.direction for r in fast.rules} <= {"FORWARD", "BACKWARD", "TERMINATE"}


def test_prune_keeps_longest_like_medspacy() -> None:
    from medspacy.common.util import prune_overlapping_matches as reference

    cases = [
        [(1, 0, 2), (2, 0, 3), (3, 5, 6)],
        [(1, 2, 4), (2, 3, 6), (3, 5, 7), (4, 8, 9)],
        [(1, 0, 1), (2, 0, 1), (3, 1, 2)],
        [(5, 3, 4), (6, 1, 5), (7, 0, 2)],
    ]
    for case in cases:
        assert prune_overlapping_matches(list(case)) == reference(list(case))
