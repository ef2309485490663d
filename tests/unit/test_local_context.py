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


# --------------------------------------------------------------------- the clinical variant
# FastContext.clinical_rules: medspacy's rules corrected by rules/context.json, with the
# clinical algorithm changes (docs/clinical-meaning.md). Each row: a realistic sentence, the
# target words with their entity category, and the categories each target must get.

CLINICAL_CASES = [
    # a colon after a header is not ": no" (the header is no target), the list is negated
    (
        "Extremities: No clubbing, cyanosis, or edema.",
        {"clubbing": "MC", "cyanosis": "MC", "edema": "MC"},
        {"clubbing": {"NEGATED_EXISTENCE"}, "cyanosis": {"NEGATED_EXISTENCE"}},
    ),
    ("Fever: none.", {"fever": "MC"}, {"fever": {"NEGATED_EXISTENCE"}}),
    ("Extremities: No edema", {"extremities": "ANATOMY"}, {"extremities": set()}),
    ("Lungs negative   for wheezing.", {"wheezing": "MC"}, {"wheezing": {"NEGATED_EXISTENCE"}}),
    ("Will evaluate for pneumonia.", {"pneumonia": "MC"}, {"pneumonia": {"POSSIBLE_EXISTENCE"}}),
    # a clause of its own ends negation; a bare list item continues it
    (
        "no nausea, tolerating diet, c/o pain at incision",
        {"nausea": "MC", "diet": "TTP", "pain": "MC"},
        {"nausea": {"NEGATED_EXISTENCE"}, "diet": set(), "pain": set()},
    ),
    ("No fever; cough persists.", {"fever": "MC", "cough": "MC"}, {"cough": set()}),
    (
        "denies fever, chills, or rigors",
        {"fever": "MC", "chills": "MC", "rigors": "MC"},
        {"rigors": {"NEGATED_EXISTENCE"}},
    ),
    # a cue inside the target's own words, and a purpose, do not negate
    ("migraine without aura", {"migraine without aura": "MC"}, {"migraine without aura": set()}),
    (
        "Started enoxaparin for VTE prophylaxis.",
        {"enoxaparin": "MED", "vte": "MC"},
        {"enoxaparin": {"ACTIVE"}, "vte": {"HYPOTHETICAL"}},
    ),
    # history: "x-day history of" and the HPI header are not past history
    ("Presents with a 3-day history of dyspnea.", {"dyspnea": "MC"}, {"dyspnea": set()}),
    ("History of present illness: cough", {"cough": "MC"}, {"cough": set()}),
    ("History of asthma.", {"asthma": "MC"}, {"asthma": {"HISTORICAL"}}),
    ("HO was made aware of the hypotension", {"hypotension": "MC"}, {"hypotension": set()}),
    # statuses
    ("Pneumonia, now resolved.", {"pneumonia": "MC"}, {"pneumonia": {"RESOLVED"}}),
    ("Remote history of pneumonia", {"pneumonia": "MC"}, {"pneumonia": {"REMOTE", "HISTORICAL"}}),
    ("Discontinued: glipizide.", {"glipizide": "MED"}, {"glipizide": {"STOPPED"}}),
    ("Continue metformin.", {"metformin": "MED"}, {"metformin": {"ACTIVE"}}),
    ("off levophed since noon", {"levophed": "MED"}, {"levophed": {"NEGATED_EXISTENCE"}}),
    ("levophed weaned to off", {"levophed": "MED"}, {"levophed": {"STOPPED"}}),
    ("Former smoker.", {"smoker": "BES"}, {"smoker": {"HISTORICAL"}}),
    # plans: "?" plans a procedure but doubts a condition
    ("?cath tomorrow, ?pna", {"cath": "TTP", "pna": "MC"}, {"cath": {"HYPOTHETICAL"}}),
    ("?pna", {"pna": "MC"}, {"pna": {"POSSIBLE_EXISTENCE"}}),
    ("Plan: monitor HCT", {"hct": "TTP"}, {"hct": {"HYPOTHETICAL"}}),
    ("Her mother has diabetes.", {"diabetes": "MC"}, {"diabetes": {"FAMILY"}}),
    ("PMH significant for asthma", {"asthma": "MC"}, {"asthma": {"HISTORICAL"}}),
    ("Pneumonia several years ago.", {"pneumonia": "MC"}, {"pneumonia": {"HISTORICAL"}}),
    ("Old MI on ECG.", {"mi": "MC"}, {"mi": {"HISTORICAL"}}),
    ("Needs PICC placement.", {"picc placement": "TTP"}, {"picc placement": {"HYPOTHETICAL"}}),
    ("May need intubation.", {"intubation": "TTP"}, {"intubation": {"HYPOTHETICAL"}}),
    ("Cath tomorrow; CXR in am.", {"cath": "TTP", "cxr": "TTP"}, {"cxr": {"HYPOTHETICAL"}}),
    ("ABG done in the cath lab.", {"abg": "TTP"}, {"abg": set()}),
    # a terminator ends a windowed scope too (medspacy's one-sided overlap test missed it)
    ("Found by husband on floor- awake, but confused", {"confused": "MC"}, {"confused": set()}),
    ("To receive vanco at 11pm.", {"vanco": "MED"}, {"vanco": {"HYPOTHETICAL"}}),
    (
        "Family in to visit this afternoon, which seems to help his anxiety",
        {"anxiety": "MC"},
        {"anxiety": set()},
    ),
]
LABELS = {
    "MC": "MEDICAL_CONDITION",
    "MED": "MEDICATION",
    "TTP": "TEST_TREATMENT_PROCEDURE",
    "BES": "BEHAVIORAL_ENVIRONMENTAL_SOCIAL",
    "ANATOMY": "ANATOMY",
}


@pytest.fixture(scope="module")
def clinical(nlp: spacy.language.Language) -> FastContext:
    return FastContext.clinical_rules(lambda s: [t.text for t in nlp.tokenizer(s)])


@pytest.mark.parametrize(("text", "targets", "expected"), CLINICAL_CASES)
def test_clinical_rules(
    nlp: spacy.language.Language,
    clinical: FastContext,
    text: str,
    targets: dict[str, str],
    expected: dict[str, set[str]],
) -> None:
    from nlp.local.context import without_spaces

    doc = nlp.make_doc(text)
    lowers = [t.lower_ for t in doc]
    idx = [t.idx for t in doc]
    sents = token_sentence_starts(sentence_starts(text), idx)
    lowers2, idx2, sents2 = without_spaces(text, lowers, idx, sents)
    spans, labels = [], []
    for words, label in targets.items():
        begin = text.lower().index(words)
        t0 = idx2.index(begin)
        t1 = next((i for i, s in enumerate(idx2) if s >= begin + len(words)), len(idx2))
        spans.append((t0, t1))
        labels.append(LABELS[label])
    got = clinical.categories(lowers2, sents2, spans, labels)
    by_word = dict(zip(targets, got, strict=True))
    for words, categories in expected.items():
        assert by_word[words] == categories, words


def test_clinical_rules_change_only_what_the_rule_file_says(
    fast: FastContext, clinical: FastContext
) -> None:
    import json
    from importlib import resources

    data = json.loads(resources.files("nlp.local").joinpath("rules/context.json").read_text())
    removed = {(r["literal"], r["category"]) for r in data["remove"]}
    assert len(clinical.rules) == len(fast.rules) - len(removed) + len(data["rules"])
    kept = {(r.literal, r.category) for r in clinical.rules[: len(fast.rules) - len(removed)]}
    assert not kept & removed
    assert clinical.clinical
    assert not fast.clinical


def test_without_spaces_maps_sentence_starts() -> None:
    from nlp.local.context import without_spaces

    text = "No  fever.\n\nCough."
    doc = spacy.blank("en").make_doc(text)
    idx = [t.idx for t in doc]
    sents = token_sentence_starts(sentence_starts(text), idx)
    lowers, idx2, sents2 = without_spaces(text, [t.lower_ for t in doc], idx, sents)
    assert lowers == ["no", "fever", ".", "cough", "."]
    assert [text[i] for i in idx2] == ["N", "f", ".", "C", "."]
    assert sents2 == [0, 3]


def test_no_two_clinical_rules_read_the_same_words_differently(clinical: FastContext) -> None:
    """Equal matches are pruned to one: two readings of the same words would hide a rule."""
    import itertools

    readings: dict[tuple[str, ...], set[tuple[str, str]]] = {}
    for rule in clinical.rules:
        for alt in rule.alternatives:
            for words in itertools.product(*[sorted(step) for step in alt]):
                readings.setdefault(words, set()).add((rule.category, rule.direction))
    clashes = {w: r for w, r in readings.items() if len(r) > 1}
    assert clashes == {}
