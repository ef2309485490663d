"""The clinical vocabulary of the local engine: word lists, short forms, morphology, findings."""

from __future__ import annotations

import pytest

from nlp.local import LocalEngine
from nlp.local.text import load_rules
from tests.unit.test_local_engine import TERMS, FakeIcd10Linker, FakeRxNormLinker, FakeTerm

MC, MED, TTP = "MEDICAL_CONDITION", "MEDICATION", "TEST_TREATMENT_PROCEDURE"
# conditions the morphology may turn adjectives into, as the terminologies name them
CONDITIONS = [
    FakeTerm(t, MC, "DX_NAME", "hpo")
    for t in (
        "tachycardia",
        "somnolence",
        "hypoxemia",
        "clubbing",
        "cyanosis",
        "edema",
        "cough",
        "pain",
    )
]


@pytest.fixture(scope="module")
def icd() -> FakeIcd10Linker:
    return FakeIcd10Linker()


@pytest.fixture(scope="module")
def engine(icd: FakeIcd10Linker) -> LocalEngine:
    return LocalEngine([*TERMS, *CONDITIONS], icd, FakeRxNormLinker(), build_id="test")


def found(engine: LocalEngine, text: str) -> dict[str, tuple[str, frozenset[str]]]:
    """Entity text -> (category, traits) of the clinical entities of ``text``."""
    out = {}
    for e in engine.analyze(text).entities:
        if e.category in (MC, MED, TTP):
            out[e.text or ""] = (e.category or "", frozenset(t.name for t in e.traits or []))
    return out


def category(engine: LocalEngine, text: str, word: str) -> str | None:
    got = found(engine, text).get(word)
    return got[0] if got else None


def test_chemical_cues_hold_no_corpus_tuned_entries() -> None:
    chemicals = set(load_rules("cues.json")["chemicals"])
    # research chemicals and ordinary words that were in the list only as BC5CDR dev mentions
    assert chemicals.isdisjoint({"camp", "kainate", "streptozocin", "vitamin c", "ethambutol"})


def test_summer_camp_is_not_a_medication(engine: LocalEngine) -> None:
    got = found(engine, "She went to summer camp in July and takes aspirin daily.")
    assert "camp" not in got
    assert got["aspirin"][0] == MED


# ----------------------------------------------------------------- short-form guard
@pytest.mark.parametrize(
    ("text", "word", "expected"),
    [
        ("Pt denies cp or n/v; c/o mild sob with exertion.", "sob", MC),
        ("Pt denies cp or n/v; c/o mild sob with exertion.", "n/v", MC),
        ("Pt denies cp or n/v; c/o mild sob with exertion.", "cp", MC),
        ("hx of afib, now in raf", "raf", MC),
        ("h/o pe in 2019", "pe", MC),  # a condition cue: pulmonary embolism
        ("h/o ra, on methotrexate", "ra", MC),  # rheumatoid arthritis
        ("sats 97% on ra", "ra", None),  # room air
        ("On RA, lungs clear.", "RA", None),
        ("\nMS: alert and oriented", "MS", None),  # a section header
        ("ms 2mg iv q2h prn", "ms", MED),  # morphine: a dose right after
        ("r/o ms flare", "ms", None),  # "miss"/"mental status" outweigh multiple sclerosis
        ("K 3.2 this am", "K", TTP),  # a lab value follows
        ("given 40 meq k po", "k", MED),  # an amount before: repletion
        ("2 gm mg IV given", "mg", MED),
        ("lasix 20 mg iv", "mg", None),  # a unit after a number
        ("mother with breast ca", "ca", MC),  # an organ word before
        ("ca 8.1 this am", "ca", TTP),
    ],
)
def test_ambiguous_short_forms_are_resolved_by_context(
    engine: LocalEngine, text: str, word: str, expected: str | None
) -> None:
    assert category(engine, text, word) == expected


@pytest.mark.parametrize("word", ["pt", "as", "in", "or", "all", "PT", "ALL"])
def test_common_words_are_never_entities_by_themselves(engine: LocalEngine, word: str) -> None:
    assert found(engine, f"{word} was seen {word} today") == {}


def test_short_forms_give_the_linker_their_sense() -> None:
    icd = FakeIcd10Linker()
    LocalEngine(TERMS, icd, FakeRxNormLinker(), build_id="test").analyze("c/o sob. h/o afib.")
    linked = {text for text, _ in icd.calls}
    assert {"shortness of breath", "atrial fibrillation"} <= linked


def test_afebrile_denies_fever(engine: LocalEngine) -> None:
    cat, traits = found(engine, "Afebrile overnight, remains on vanco.")["Afebrile"]
    assert cat == MC
    assert "NEGATION" in traits


# ----------------------------------------------------------------- morphology
@pytest.mark.parametrize(
    ("text", "word"),
    [
        ("PT IS TACHYCARDIC AND HYPOTENSIVE", "TACHYCARDIC"),  # suffix rule and irregular list
        ("PT IS TACHYCARDIC AND HYPOTENSIVE", "HYPOTENSIVE"),
        ("remains somnolent this am", "somnolent"),  # -lent -> -lence, a lexicon condition
        ("pt hypoxemic on 2l", "hypoxemic"),
        ("confused and lethargic overnight", "confused"),
        ("confused and lethargic overnight", "lethargic"),
        ("diaphoretic, jaundiced", "jaundiced"),
        ("wheezes and rhonchi bilat", "wheezes"),  # plural finding
        ("murmurs and gallops", "gallops"),
    ],
)
def test_adjectives_and_plurals_are_conditions(engine: LocalEngine, text: str, word: str) -> None:
    assert category(engine, text, word) == MC


def test_morphology_skips_drug_classes_and_ordinary_participles(engine: LocalEngine) -> None:
    got = found(engine, "diuretic held; pt sedated and intubated, elevated hob")
    assert "diuretic" not in got or got["diuretic"][0] == MED
    assert {"sedated", "elevated"}.isdisjoint(got)


def test_exam_finding_list_gives_three_negated_findings(engine: LocalEngine) -> None:
    got = found(engine, "no clubbing, cyanosis, or edema.")
    assert {k: v[0] for k, v in got.items()} == {"clubbing": MC, "cyanosis": MC, "edema": MC}
    assert all("NEGATION" in traits for _, traits in got.values())


# ----------------------------------------------------------------- nursing words
@pytest.mark.parametrize(
    ("text", "word"),
    [
        ("levo gtt weaned to off", "levo"),
        ("neo gtt at 1 mcg/kg/min", "neo"),
        ("started on .9ns at 75/hr", ".9ns"),
        ("d5.45ns at 100cc/hr", "d5.45ns"),
        ("20kcl given", "20kcl"),
        ("VANCO 1 GM IV Q12", "VANCO"),
        ("mso4 2mg iv given", "mso4"),
        ("antibx changed", "antibx"),
        ("narcs held", "narcs"),
    ],
)
def test_medications_as_nurses_write_them(engine: LocalEngine, text: str, word: str) -> None:
    assert category(engine, text, word) == MED


@pytest.mark.parametrize(
    ("text", "word"),
    [
        ("abd distended, absent bs, loose stool x2", "absent bs"),
        ("abd distended, absent bs, loose stool x2", "loose stool"),
        ("low uo overnight", "low uo"),
        ("bp labile", "bp labile"),
        ("lungs coarse throughout", "coarse"),
        ("bs diminished at bases", "diminished"),
        ("occ pvc's, no ectopy", "ectopy"),
        ("redness at iv site", "redness"),
        ("HR 110 ST with occ pvcs", "ST"),  # a rhythm with its rate
    ],
)
def test_plain_word_findings(engine: LocalEngine, text: str, word: str) -> None:
    assert category(engine, text, word) == MC


def test_instructions_and_abilities_are_not_symptoms(engine: LocalEngine) -> None:
    assert "cough" not in found(engine, "encouraged to cough and deep breathe")
    assert "cough" not in found(engine, "able to cough up secretions")
    assert category(engine, "has a productive cough", "cough") == MC


def test_pain_header_is_not_a_condition(engine: LocalEngine) -> None:
    assert "PAIN" not in found(engine, "NEURO: alert\nPAIN: denies\n")
    assert category(engine, "c/o back pain", "pain") == MC


@pytest.mark.parametrize(
    ("text", "word"),
    [
        ("hct dropped to 24 overnight", "hct dropped"),  # GUIDE: trends in words are findings
        ("bp still low despite fluids", "bp still low"),
        ("low grade temp overnight", "low grade temp"),
        ("drop in sats with turning", "drop in sats"),
        ("thick tan secretions suctioned", "thick tan secretions"),  # abnormal descriptions
        ("dark amber urine via foley", "dark amber urine"),
    ],
)
def test_trends_and_abnormal_descriptions(engine: LocalEngine, text: str, word: str) -> None:
    assert category(engine, text, word) == MC


def test_normal_values_and_descriptions_are_not_findings(engine: LocalEngine) -> None:
    got = found(engine, "secretions thin and clear, bp 120/70, hct 30")
    assert not any(cat == MC for cat, _ in got.values())


def test_a_truncated_drug_name_with_a_dose_is_a_medication(engine: LocalEngine) -> None:
    assert category(engine, "levoth 100 mcg po daily", "levoth") == MED
    assert category(engine, "aspir 81 mg po", "aspir") == MED
    got = found(engine, "then 2 mg iv, levoth was held")  # a function word; no dose after
    assert set(got).isdisjoint({"then", "levoth"})


def test_spell_index_corrects_one_edit_to_a_unique_word() -> None:
    from nlp.local.matcher import SpellIndex

    index = SpellIndex(["pneumonia", "hypothyroidism", "tachypnea", "hopping", "incontinence"])
    assert index.correct("pneumnia") == "pneumonia"  # a letter missing
    assert index.correct("hypothroidism") == "hypothyroidism"
    assert index.correct("tachynea") == "tachypnea"
    assert index.correct("pneumonnia") == "pneumonia"  # a letter too many
    assert index.correct("pnuemonia") == "pneumonia"  # two letters swapped
    assert index.correct("pneumonia") is None  # already right
    assert index.correct("popping") is None  # gerunds are left alone
    assert index.correct("pnxumxnia") is None  # two edits
    assert SpellIndex(["abcdef", "abcdeg"]).correct("abcdex") is None  # not unique


def test_misspelt_conditions_are_found(engine: LocalEngine) -> None:
    got = found(engine, "hx of tachycrdia, remains somnolnt")
    assert got["tachycrdia"][0] == MC


def test_long_words_are_corrected_over_two_edits_short_ones_not() -> None:
    from nlp.local.matcher import SpellIndex

    index = SpellIndex(
        ["incontinence", "pneumonia", "sepsis"], far=["incontinence", "pneumonia", "sepsis"]
    )
    assert index.correct("incontincne") == "incontinence"  # a swap and a letter missing
    assert index.correct("pnxumxnia") == "pneumonia"  # nine letters: two substitutions
    assert index.correct("sxpsxs") is None  # six letters: one edit at most


def test_drug_names_are_corrected_from_seven_letters_on() -> None:
    from nlp.local.matcher import SpellIndex

    index = SpellIndex(["pneumonia"], drugs=["trazodone", "microx"])
    assert index.correct("trazadone") == "trazodone"
    assert index.correct("microl") is None  # six letters: too close to ordinary words


def test_real_words_are_never_corrected() -> None:
    from nlp.local.matcher import SpellIndex
    from nlp.local.text import word_frequency

    index = SpellIndex(["proptosis", "secretion"], far=["proptosis"], frequency=word_frequency)
    assert index.correct("apoptosis") is None  # an English word, two edits from proptosis
    assert index.correct("excretion") is None
    assert index.correct("secrction") == "secretion"  # no English word


def test_of_two_candidates_the_far_more_common_word_wins() -> None:
    from nlp.local.matcher import SpellIndex
    from nlp.local.text import word_frequency

    index = SpellIndex([], drugs=["dulcolax", "durolax"], frequency=word_frequency)
    assert index.correct("ducolax") == "dulcolax"
    assert SpellIndex([], drugs=["dulcolax", "durolax"]).correct("ducolax") is None


def test_a_truncated_drug_name_next_to_a_drug_word_is_a_medication(engine: LocalEngine) -> None:
    assert category(engine, "restarted on aspir today", "aspir") == MED
    assert category(engine, "levoth held this am", "levoth") == MED


def test_an_english_word_that_begins_a_drug_name_needs_a_dose(icd: FakeIcd10Linker) -> None:
    terms = [*TERMS, FakeTerm("flagyl", MED, "BRAND_NAME", "rxnorm", "202845")]
    engine = LocalEngine(terms, icd, FakeRxNormLinker(), build_id="test")
    assert "flag" not in found(engine, "chart flag held for review")
    assert category(engine, "flag 500 mg iv given", "flag") == MED
