"""Body-system findings, trends for the worse, and what is not a finding (invented sentences)."""

from __future__ import annotations

import pytest

from nlp.local import LocalEngine
from nlp.local.findings import SystemFindings
from nlp.local.text import Normaliser, load_rules
from tests.unit.test_local_engine import TERMS, FakeIcd10Linker, FakeRxNormLinker
from tests.unit.test_local_vocab import CONDITIONS
from tests.unit.test_local_vocab import found as entities

MC, MED, TTP = "MEDICAL_CONDITION", "MEDICATION", "TEST_TREATMENT_PROCEDURE"


@pytest.fixture(scope="module")
def engine() -> LocalEngine:
    return LocalEngine([*TERMS, *CONDITIONS], FakeIcd10Linker(), FakeRxNormLinker(), build_id="t")


@pytest.mark.parametrize(
    ("text", "span"),
    [
        ("Abd firm today.", "firm"),
        ("Urine amber via foley.", "amber"),
        ("b/s diminished at the bases", "diminished"),
        ("breath sounds=coarse on the left", "coarse"),
        ("Bowel sounds hypoactive, passing flatus.", "hypoactive"),
        ("Skin cool and clammy to touch.", "cool and clammy"),
        ("Extremities mottled.", "mottled"),
        ("Pedal pulses weak bilat.", "weak"),
        ("OGT to lcs - bilious drainage.", "bilious"),
        ("sx q2h for mod amts thick yellow", "thick yellow"),
        ("Cool extremities noted.", "Cool extremities"),
        ("Resps shallow at times.", "shallow"),
    ],
)
def test_an_abnormal_description_next_to_its_subject_is_a_finding(
    engine: LocalEngine, text: str, span: str
) -> None:
    got = entities(engine, text)
    assert got[span][0] == MC
    assert "NEGATION" not in got[span][1]


@pytest.mark.parametrize(
    "text",
    [
        "Abd soft, +bs x4.",
        "Urine clear yellow, adequate amts.",
        "Skin warm and dry, intact.",
        "sx for small amts of thin white secretions",
        "Stool brown, formed.",
        "Site clean, dry and intact.",
    ],
)
def test_normal_descriptions_are_not_findings(engine: LocalEngine, text: str) -> None:
    assert not any(cat == MC for cat, _ in entities(engine, text).values())


def test_a_description_far_from_any_subject_is_nothing(engine: LocalEngine) -> None:
    # "cool" and "firm" describe a room and a plan here, not a body system
    got = entities(engine, "Room kept cool. Family firm about the plan.")
    assert not any(cat == MC for cat, _ in got.values())


def test_negated_words_of_the_abdominal_exam(engine: LocalEngine) -> None:
    got = entities(engine, "Abd soft nt nd, obese.")
    assert got["nt"][0] == MC
    assert "NEGATION" in got["nt"][1]
    assert "NEGATION" in got["nd"][1]
    assert "nt" not in entities(engine, "Pt nt available for teaching.")  # no subject


def test_non_prefixed_findings_are_negated(engine: LocalEngine) -> None:
    got = entities(engine, "Resp even and unlabored; abdomen nondistended.")
    assert "NEGATION" in got["unlabored"][1]
    assert "NEGATION" in got["nondistended"][1]


def test_an_amount_before_a_description_is_part_of_it() -> None:
    findings = SystemFindings(load_rules("nursing.json"), Normaliser.default())
    text = "suctioned for lg amts of thick, white, tan secretions"
    words = Normaliser.default().words(text)
    got = findings.apply(text, words, [])
    assert [text[m.begin : m.end] for m in got] == ["lg amts of thick, white, tan"]


@pytest.mark.parametrize(
    ("text", "measure"),
    [
        ("creat down to 1.9 today", "creat"),  # improvements: the measure is a test
        ("bp up after the bolus", "bp"),
        ("sats high 90s on 2l", "sats"),  # a range of values, no trend
        ("sats in the low 90s overnight", "sats"),
        ("inr lower this am", "inr"),
    ],
)
def test_improvements_and_ranges_are_tests_not_findings(
    engine: LocalEngine, text: str, measure: str
) -> None:
    got = entities(engine, text)
    assert got[measure][0] == TTP
    assert not any(cat == MC for cat, _ in got.values())


@pytest.mark.parametrize(
    ("text", "span"),
    [
        ("creat up to 2.4", "creat up"),  # for the worse
        ("he dropped his b/p to the 70s", "dropped his b/p"),
        ("Bp continues to be low despite dopa", "Bp continues to be low"),
        ("uo waxing and waning", "uo waxing"),
    ],
)
def test_trends_for_the_worse_are_findings(engine: LocalEngine, text: str, span: str) -> None:
    assert entities(engine, text)[span][0] == MC


def test_follow_up_and_diets_are_no_trends(engine: LocalEngine) -> None:
    got = entities(engine, "will follow up hct; tolerating low sodium diet")
    assert not any(cat == MC for cat, _ in got.values())


def test_anxious_to_do_something_is_eagerness(engine: LocalEngine) -> None:
    assert "anxious" not in entities(engine, "Pt anxious to get home.")
    assert entities(engine, "Pt very anxious overnight.")["anxious"][0] == MC


@pytest.mark.parametrize(
    ("text", "span"),
    [
        ("no evidence of active bleed", "active bleed"),
        ("c/o back discomfort", "back discomfort"),
        ("kub shows no obstruction", "obstruction"),
        ("pt desatting with turns", "desatting"),
        ("pt vomited twice", "vomited"),
        ("76 yo diabetic male", "diabetic"),
    ],
)
def test_nursing_words_for_conditions(engine: LocalEngine, text: str, span: str) -> None:
    assert entities(engine, text)[span][0] == MC


@pytest.mark.parametrize(
    ("text", "span"),
    [
        ("HR 88 NSR, SBP 110s", "HR"),  # a value after the measure
        ("HR 88 NSR, SBP 110s", "SBP"),
        ("sats>96% on 2l nc", "sats"),
        ("hr in the 50's overnight", "hr"),
        ("ci 2.1, svr 1300", "svr"),
        ("EF est 20%", "EF"),
        ("good u/o via foley", "u/o"),  # a cue word before
        ("monitor wedge and cvp", "wedge"),
        ("will follow hct and k+", "k"),  # listed after an accepted one
        ("t 101.5 po", "t"),  # a temperature after a single t
        ("maintaining a u.o. of 200cc/hr", "u.o"),
    ],
)
def test_measures_with_a_value_or_a_cue_are_tests(
    engine: LocalEngine, text: str, span: str
) -> None:
    assert entities(engine, text)[span][0] == TTP


@pytest.mark.parametrize(
    ("text", "word"),
    [
        ("ivf at 75cc/hr", "hr"),  # the unit of a rate
        ("titrating for 3 hr", "hr"),
        ("abd soft, +bs", "bs"),  # an exam sign
        ("team will see pt in the am", "pt"),
        ("t was taken to the floor", "t"),
        ("co-signed by the team", "co"),
    ],
)
def test_unit_and_sign_words_are_no_tests(engine: LocalEngine, text: str, word: str) -> None:
    assert entities(engine, text).get(word, ("", frozenset()))[0] != TTP


@pytest.mark.parametrize(
    ("text", "span"),
    [
        ("A-line placed in R radial.", "A-line placed"),
        ("Plan: place swan tonight.", "place swan"),
        ("sheaths were pulled at 2pm", "sheaths were pulled"),
        ("PICC placement needed.", "PICC placement"),
        ("s/p picc yesterday", "s/p picc"),
    ],
)
def test_a_device_with_a_placement_word_is_a_procedure(
    engine: LocalEngine, text: str, span: str
) -> None:
    assert entities(engine, text)[span][0] == TTP


def test_a_bare_device_or_its_site_is_no_procedure(engine: LocalEngine) -> None:
    got = entities(engine, "Foley draining well. Hematoma under the quinton insertion site.")
    assert not any(cat == TTP for cat, _ in got.values())


@pytest.mark.parametrize(
    "word", ["extubated", "vented", "transfused", "pancultured", "av paced", "cvvh"]
)
def test_procedures_and_treatments_as_nurses_chart_them(engine: LocalEngine, word: str) -> None:
    assert entities(engine, f"Pt {word} today.")[word][0] == TTP


def test_a_letter_of_a_slash_abbreviation_is_no_short_form(engine: LocalEngine) -> None:
    got = entities(engine, "pulses weak d/t edema")
    assert "d" not in got
    assert got["edema"][0] == MC


def test_in_a_note_written_in_capitals_words_before_a_condition_are_no_modifiers(
    engine: LocalEngine,
) -> None:
    got = entities(engine, "TODAY ECHO SHOWS CARDIOMYOPATHY. PT COMFORTABLE.")
    assert got["CARDIOMYOPATHY"][0] == MC
    assert "Crohn disease" in entities(engine, "History of Crohn disease.")


def test_positions_finds_every_wanted_key_in_order() -> None:
    from nlp.local.text import positions

    keys = ["bp", "low", "hr", "bp", "ok"]
    assert positions(keys, frozenset({"bp", "hr"})) == [0, 2, 3]
    assert positions(keys, frozenset({"sats"})) == []


@pytest.mark.parametrize(
    ("text", "word"),
    [
        ("pt sedated with versed overnight", "versed"),  # ICU nicknames and brands
        ("kayexalate 30 gm given", "kayexalate"),
        ("started prop gtt at 20mcg", "prop"),  # an English word needs a drug cue
        ("to receive antifungals tonight", "antifungals"),  # drug classes, plural
        ("neosyn weaned to off", "neosyn"),
    ],
)
def test_icd_nicknames_and_classes_are_medications(
    engine: LocalEngine, text: str, word: str
) -> None:
    assert entities(engine, text)[word][0] == MED


def test_nicknames_that_are_english_words_need_a_drug_cue(engine: LocalEngine) -> None:
    assert "prop" not in entities(engine, "used a pillow to prop up the leg")
    assert "antiviral" not in entities(engine, "no antiviral effect was seen")


def test_hemodynamic_short_forms_with_a_value_are_tests(engine: LocalEngine) -> None:
    got = entities(engine, "PAD 18, PCW 20, SVR 1100")
    assert got["PAD"][0] == TTP
    assert got["SVR"][0] == TTP
    assert "pnd" not in entities(engine, "ptt pnd this pm")  # pending


def test_a_lexicon_term_keyed_like_a_short_form_keeps_its_reading() -> None:
    from tests.unit.test_local_engine import FakeTerm

    # the short form table lists "steroids"; the lexicon's singular "steroid" must still match
    terms = [*TERMS, FakeTerm("steroid", MED, "GENERIC_NAME", "cues")]
    engine = LocalEngine(terms, FakeIcd10Linker(), FakeRxNormLinker(), build_id="t")
    assert entities(engine, "a steroid taper was started")["steroid"][0] == MED


def test_a_percent_sign_means_room_air_only_right_before(engine: LocalEngine) -> None:
    assert "ra" not in entities(engine, "sats 97% ra")
    got = entities(engine, "ef 10%/s/p avr x 2")
    assert got["avr"][0] == TTP


def test_electrolytes_in_a_list_share_the_cue_around_the_list(engine: LocalEngine) -> None:
    got = entities(engine, "Lytes: k, ca, mg repleted.")
    assert [got[w][0] for w in ("k", "ca", "mg")] == [MED, MED, MED]
    got = entities(engine, "Pt given mg, ca and k this am")
    assert got["k"][0] == MED


def test_short_form_cues_stay_in_their_sentence(engine: LocalEngine) -> None:
    got = entities(engine, "Mg repleted. HCT stable at 30.")
    assert got["HCT"][0] == TTP  # not hydrochlorothiazide


def test_a_lab_value_right_after_beats_a_repletion_word_later(engine: LocalEngine) -> None:
    got = entities(engine, "K+ 3.7 - repleted with 40 meq kcl")
    assert got["K"][0] == TTP


def test_a_letter_after_an_apostrophe_is_no_short_form(engine: LocalEngine) -> None:
    assert "d" not in entities(engine, "rec'd 40 meq kcl po")
