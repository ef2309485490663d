"""The local engine's meaning modules: sections, sentences, social history, allergies, durations."""

from __future__ import annotations

import pytest

from nlp.local.allergies import ALLERGEN, REACTION, AllergyStatements
from nlp.local.meaning import is_duration
from nlp.local.mention import BES, MC, MED, Mention
from nlp.local.sections import Sectionizer
from nlp.local.sentences import sentence_starts
from nlp.local.social import SocialHistory


@pytest.fixture(scope="module")
def sectionizer() -> Sectionizer:
    return Sectionizer()


def _sections(sectionizer: Sectionizer, text: str) -> list[tuple[str, str, str]]:
    return [
        (s.category, text[s.begin : s.header_end], text[s.header_end : s.end])
        for s in sectionizer.find(text)
    ]


def test_inline_and_dash_headers(sectionizer: Sectionizer) -> None:
    text = "Admitted with sepsis; PMH: CAD, HTN; HPI: fever x 2 days\nPmhx - dementia. Meds - x\n"
    assert _sections(sectionizer, text) == [
        ("past_medical_history", "PMH:", " CAD, HTN; "),
        ("history_of_present_illness", "HPI:", " fever x 2 days"),
        ("past_medical_history", "Pmhx -", " dementia. "),
        ("medications", "Meds -", " x"),
    ]


def test_section_ends(sectionizer: Sectionizer) -> None:
    text = (
        "PAST MEDICAL HISTORY:\nHTN\nDM\n\nHe was admitted.\n"
        "Social history: smokes daily\nlives alone\n\nFever today.\n"
    )
    got = _sections(sectionizer, text)
    # a header alone on its line: to the next header
    assert got[0] == (
        "past_medical_history",
        "PAST MEDICAL HISTORY:",
        "\nHTN\nDM\n\nHe was admitted.\n",
    )
    # text on the header's line: to the first blank line
    assert got[1] == ("social_history", "Social history:", " smokes daily\nlives alone\n")


def test_allergy_sections_never_run_on(sectionizer: Sectionizer) -> None:
    text = "Allergies: PCN.\nLisinopril 10 mg daily.\nALLERGIES:\nsulfa\n\nAspirin 81 mg.\n"
    assert [body for _, _, body in _sections(sectionizer, text)] == [" PCN.", "\nsulfa\n"]


def test_words_that_are_no_header(sectionizer: Sectionizer) -> None:
    assert sectionizer.find("The plan is to discharge. Allergies were reviewed.") == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("denies cp or n/v. states he is tired", ["denies cp or n/v. ", "states he is tired"]),
        ("pt. states pain. e.g. this", ["pt. states pain. ", "e.g. this"]),
        ("given 1 tab p.o. q.d. for pain", ["given 1 tab p.o. q.d. for pain"]),
        ("Seen by Dr. smith today", ["Seen by Dr. smith today"]),
    ],
)
def test_lower_case_sentences(text: str, expected: list[str]) -> None:
    starts = sentence_starts(text)
    assert [text[a:b] for a, b in zip(starts, [*starts[1:], len(text)], strict=True)] == expected


# ------------------------------------------------------------------------------ social


@pytest.fixture(scope="module")
def social() -> SocialHistory:
    from nlp.local.text import Normaliser

    return SocialHistory(Normaliser.default())


def _found(text: str, mentions: list[Mention]) -> list[tuple[str, str]]:
    return sorted((m.type, text[m.begin : m.end]) for m in mentions if m.category == BES)


def test_behaviours_replace_condition_and_drug_words(social: SocialHistory) -> None:
    text = "Current smoker. Drinks alcohol daily. Uses marijuana."
    smoker = Mention(8, 14, MC, "DX_NAME", 0.95)
    alcohol = Mention(23, 30, MED, "GENERIC_NAME", 0.95)
    kept, fixed = social.apply(text, [smoker, alcohol], [], {})
    assert smoker not in kept
    assert alcohol not in kept
    assert _found(text, kept) == [
        ("ALCOHOL_CONSUMPTION", "Drinks alcohol"),  # "drinks" with an alcohol word: one
        ("REC_DRUG_USE", "marijuana"),
        ("TOBACCO_USE", "smoker"),
    ]
    assert fixed == {}
    (drinks,) = [m for m in kept if m.type == "ALCOHOL_CONSUMPTION"]
    assert [(a.type, text[a.begin : a.end]) for a in drinks.attributes] == [("FREQUENCY", "daily")]


def test_behaviour_words_inside_a_condition_or_test(social: SocialHistory) -> None:
    text = "Alcohol withdrawal. Alcohol level pending. Alcohol swab applied."
    withdrawal = Mention(0, 18, MC, "DX_NAME", 0.95)
    kept, _ = social.apply(text, [withdrawal], [], {})
    assert kept == [withdrawal]


def test_phrases_that_carry_their_trait(social: SocialHistory) -> None:
    text = "Nonsmoker. Ex-smoker."
    kept, fixed = social.apply(text, [], [], {})
    traits = {text[m.begin : m.end]: fixed.get(id(m)) for m in kept}
    assert traits == {"Nonsmoker": "NEGATION", "Ex-smoker": "PAST_HISTORY"}


def test_drinks_counts_in_social_history_or_with_alcohol_words(social: SocialHistory) -> None:
    text = "Drinks water well. Drinks socially.\nSocial history: drinks on weekends."
    section = text.index("Social history:") + len("Social history:")
    found = social.find(text, [(section, len(text))])
    assert [(text[b.begin : b.end], b.begin) for b in found] == [
        ("Drinks", text.index("Drinks socially")),
        ("drinks", text.index("drinks on")),
    ]


# ------------------------------------------------------------------------------ allergies


@pytest.fixture(scope="module")
def allergies() -> AllergyStatements:
    return AllergyStatements()


def test_allergy_list_items_allergens_and_reactions(
    allergies: AllergyStatements, sectionizer: Sectionizer
) -> None:
    text = "ALLERGIES:\nPenicillin (rash, hives), latex - itching\n"
    pcn = Mention(11, 21, MED, "GENERIC_NAME", 0.95)
    rash = Mention(23, 27, MC, "DX_NAME", 0.95)
    hives = Mention(29, 34, MC, "DX_NAME", 0.95)
    itching = Mention(text.index("itching"), text.index("itching") + 7, MC, "DX_NAME", 0.95)
    kept, fixed = allergies.apply(
        text, [pcn, rash, hives, itching], sectionizer.find(text), sectionizer.roles
    )
    assert fixed == {}
    made = [(text[m.begin : m.end], m.substance) for m in kept if m.category == BES]
    assert made == [("Penicillin", "medication"), ("latex", "environment")]
    assert (pcn.role, pcn.substance) == (ALLERGEN, "medication")
    assert (rash.role, rash.related) == (REACTION, (11, 21))
    assert (hives.role, hives.related) == (REACTION, (11, 21))
    latex = text.index("latex")
    assert (itching.role, itching.related) == (REACTION, (latex, latex + 5))


def test_no_known_allergies(allergies: AllergyStatements, sectionizer: Sectionizer) -> None:
    text = "Allergies: none. Seen for cough; NKDA."
    kept, fixed = allergies.apply(text, [], sectionizer.find(text), sectionizer.roles)
    assert sorted(text[m.begin : m.end] for m in kept) == ["NKDA", "none"]
    assert set(fixed.values()) == {"NEGATION"}


def test_allergy_cue_ends_at_the_clause(allergies: AllergyStatements) -> None:
    text = "Allergic to pcn; started on heparin."
    heparin = Mention(28, 35, MED, "GENERIC_NAME", 0.95)
    kept, _ = allergies.apply(text, [heparin], [], {})
    assert [text[m.begin : m.end] for m in kept if m.category == BES] == ["pcn"]
    assert heparin.role is None


def test_no_allergy_words_no_work(allergies: AllergyStatements) -> None:
    mentions = [Mention(0, 5, MC, "DX_NAME", 0.9)]
    assert allergies.apply("Cough today.", mentions, [], {}) == (mentions, {})


# ------------------------------------------------------------------------------ durations


@pytest.mark.parametrize(
    ("text", "duration"),
    [
        ("quit 10 years ago", True),
        ("smoked for 20 years", True),
        ("a 72 year old man", False),
        ("aged 45 years", False),
    ],
)
def test_durations_are_no_ages(text: str, duration: bool) -> None:
    digits = next(i for i, c in enumerate(text) if c.isdigit())
    end = digits + 2
    assert is_duration(text, digits, end) is duration


def test_a_substance_is_a_behaviour_only_when_used(social: SocialHistory) -> None:
    text = "Cocaine-induced vasospasm was treated. He uses cocaine. Denies heroin. Drugs: none."
    found = [(b.type, text[b.begin : b.end]) for b in social.find(text, [])]
    assert found == [("REC_DRUG_USE", "cocaine"), ("REC_DRUG_USE", "heroin")]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("no stool.   \n   \ngu: creat down", ["no stool.   \n   \n", "gu: creat down"]),
        ("n-intact, anxious\nr-ra sats 96%", ["n-intact, anxious\n", "r-ra sats 96%"]),
        ("denies pain and\nnausea today", ["denies pain and\nnausea today"]),
    ],
)
def test_nursing_line_breaks(text: str, expected: list[str]) -> None:
    starts = sentence_starts(text)
    assert [text[a:b] for a, b in zip(starts, [*starts[1:], len(text)], strict=True)] == expected
