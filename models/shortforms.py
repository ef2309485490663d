"""Distil the clinical abbreviation inventories into the local engine's short-form lexicon.

Input: ``../shared/data/clinical-abbreviations`` (the Medical Abbreviation and Acronym
Meta-Inventory sources, Grossman Liu et al., Scientific Data 2021; CC BY 4.0). The three
inventories made from real notes with sense frequencies are used: Stetson (sign-out notes),
Vanderbilt clinic notes and Vanderbilt discharge summaries. The Wikipedia list (CC BY-SA, no
frequencies) gives a lexicon of its own, used only for short forms the others lack.

Each sense is classified by looking it up in the lexicon built from the terminologies
(ICD-10-CM, HPO, RxNorm, drug-NER, the hand-made test/procedure lists): a condition, finding or
symptom, a drug, a test, a procedure or a treatment, or nothing (``room air``, ``miss``,
``hour``). :data:`SENSE_CLASSES` adds the senses that general clinical knowledge classifies but no
terminology spells the inventories' way ("nausea/vomiting", "bright red blood per rectum").
Pooled frequency of a sense = mean of its frequency over the sources that list the short form.
Each short form also records its English word frequency (Zipf, from ``wordfreq``): a common
word is never taken as an entity without context that supports one of its senses.

Run: ``python -m models.shortforms [INVENTORY_DIR]``; writes ``nlp/local/rules/shortforms.json``
and ``nlp/local/rules/shortforms-wikipedia.json`` (committed; attribution in models/README.md).
"""

from __future__ import annotations

import csv
import json
import re
import sys
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

from nlp.local.abbrev import SINGLE_LETTERS
from nlp.local.lexicon import Term
from nlp.local.text import Normaliser

_PARENS = re.compile(r"\s*\([^)]*\)")
# senses that are units of measure: only a reading when a number comes right before
UNITS = frozenset(
    [
        "milligram",
        "milligrams",
        "gram",
        "grams",
        "microgram",
        "micrograms",
        "kilogram",
        "kilograms",
        "liter",
        "liters",
        "milliliter",
        "milliliters",
        "centimeter",
        "centimeters",
        "millimeter",
        "millimeters",
        "hour",
        "hours",
        "minute",
        "minutes",
        "second",
        "seconds",
        "day",
        "days",
        "week",
        "weeks",
        "month",
        "months",
        "year",
        "years",
        "thousand",
        "milliseconds",
        "pound",
        "pounds",
        "feet",
        "foot",
        "inch",
        "inches",
        "degree",
        "degrees",
    ]
)
MC = "MEDICAL_CONDITION/DX_NAME"
MED = "MEDICATION/GENERIC_NAME"
TEST = "TEST_TREATMENT_PROCEDURE/TEST_NAME"
PROC = "TEST_TREATMENT_PROCEDURE/PROCEDURE_NAME"
TREAT = "TEST_TREATMENT_PROCEDURE/TREATMENT_NAME"
_READING = {
    "MEDICAL_CONDITION": MC,
    "MEDICATION": MED,
}
_TTP = {"TEST_NAME": TEST, "PROCEDURE_NAME": PROC, "TREATMENT_NAME": TREAT}

# source file -> weight: Stetson's inpatient sign-out notes are closest to ICU nursing notes
SOURCES = {
    "stetson_signout_senses.tsv": 2.0,
    "vanderbilt_clinic_notes.tsv": 1.0,
    "vanderbilt_discharge_sums.tsv": 1.0,
}
WIKIPEDIA = "wikipedia_medical_abbreviations.csv"
RULES_DIR = Path(__file__).resolve().parent.parent / "nlp" / "local" / "rules"

# General clinical knowledge: senses no terminology spells the way the inventories do.
# Electrolytes are both a lab test and a replacement drug: the context chooses.
ELECTROLYTES = ("potassium", "magnesium", "calcium", "phosphorus", "phosphate", "sodium")
SENSE_CLASSES: dict[str, str] = {
    "afebrile": MC,
    "fevers/chills": MC,
    "fever/chills": MC,
    "delirium tremens": MC,
    "gastrointestinal bleed": MC,
    "lower extremity edema": MC,
    "lower extremitiy edema": MC,
    "pulmonary vascular congestion": MC,
    "diabetes ketoacidosis": MC,
    "chornic renal insufficiency": MC,
    "chronic renal insufficiency": MC,
    "idiopathic thrombocytopenic purprua": MC,
    "methicillin-resistant staphylococcus aureus": MC,
    "methicillin resistant staphylococcus aureus": MC,
    "vancomycin-resistant enterococcus": MC,
    "vancomycin resistant enterococcus": MC,
    "clostridium difficile": MC,
    "hepatitis c virus": MC,
    "herpes simplex virus": MC,
    "cytomegalovirus": MC,
    "desaturation": MC,
    "intravenous drug abuse": MC,
    "desamino-d-arginine vasopressin": MED,
    "intravenous immune globulin": MED,
    "intravenous immunoglobulin": MED,
    "inhaled nitric oxide": MED,
    "intralipid": MED,
    "eutectic mixture of lidocaine and prilocaine": MED,
    "enteric coated acetylsalicylic acid": MED,
    "highly active antiretroviral therapy": MED,
    "50% dextrose": MED,
    "50% dextrose in water": MED,
    "5% dextrose": MED,
    "cryoprecipitate": TREAT,
    "tube feeding": TREAT,
    "tube feedings": TREAT,
    "tube feeds": TREAT,
    "nausea/vomiting": MC,
    "nausea and vomiting": MC,
    "bright red blood per rectum": MC,
    "jugular venous distention": MC,
    "jugular venous distension": MC,
    "shortness of breath": MC,
    "dyspnea on exertion": MC,
    "paroxysmal nocturnal dyspnea": MC,
    "premature ventricular contraction": MC,
    "premature ventricular contractions": MC,
    "premature atrial contraction": MC,
    "premature atrial contractions": MC,
    "rapid atrial fibrillation": MC,
    "atrial fibrillation with rapid ventricular response": MC,
    "sinus bradycardia": MC,
    "sinus tachycardia": MC,
    "urinary tract infection": MC,
    "chest pain": MC,
    "abdominal pain": MC,
    "altered mental status": MC,
    "mental status changes": MC,
    "antibiotics": MED,
    "antibiotic": MED,
    "normal saline": MED,
    "lactated ringers": MED,
    "lactated ringer's": MED,
    "potassium chloride": MED,
    "morphine sulfate": MED,
    "nitroglycerin": MED,
    "dextrose 5% in water": MED,
    "nonsteroidal anti-inflammatory drug": MED,
    "nonsteroidal anti-inflammatory drugs": MED,
    "angiotensin converting enzyme inhibitor": MED,
    "beta blocker": MED,
    "proton pump inhibitor": MED,
    "tissue plasminogen activator": MED,
    "packed red blood cells": TREAT,
    "fresh frozen plasma": TREAT,
    "physical therapy": TREAT,
    "occupational therapy": TREAT,
    "chest x-ray": TEST,
    "electrocardiogram": TEST,
    "arterial blood gas": TEST,
    "complete blood count": TEST,
    "physical exam": TEST,
    "physical examination": TEST,
    # tests, measures and studies the inventories spell their own way
    **dict.fromkeys(
        [
            "arterial blood pressure",
            "non-invasive blood pressure",
            "systolic blood pressure",
            "mean arterial pressure",
            "central venous pressure",
            "pulmonary capillary wedge pressure",
            "intracranial pressure",
            "left ventricular end diastolic pressure",
            "pulse oximeter oxygen saturation",
            "saturation",
            "temperature max",
            "temperature maximum",
            "maximum temperature",
            "intake and output",
            "intake/output",
            "intake/outputs",
            "urine output",
            "urinary output",
            "ejection fraction",
            "left ventricular ejection fraction",
            "glasgow coma scale",
            "fingerstick",
            "finger stick glucose",
            "culture",
            "gram stain",
            "coagulation times",
            "complete metabolic panel",
            "complete metabolic panels",
            "hemoglobin and hematocrit",
            "activated partial thromboplastin time",
            "prothrombin time/international normalized ratio",
            "aspartate aminotransferase",
            "alanine aminotransferase",
            "absolute neutrophil count",
            "creatine kinase",
            "creatine kinase isoenzyme mb",
            "creatine phosphokinase",
            "lactate dehydrogenase",
            "total bilirubin",
            "troponin t",
            "troponin-i",
            "free thyroxine",
            "thyroid function test",
            "thyroid function tests",
            "glomerular filtration rate",
            "estimated glomerular filtration rate",
            "gamma glutamyl transferase",
            "mean corpuscular volume",
            "reticulocyte count",
            "rapid plasma reagin",
            "serum protein electrophoresis",
            "human chorionic gonadotropin",
            "polymerase chain reaction",
            "viral load",
            "venous blood gas",
            "urine analysis",
            "forced vital capacity",
            "kidney, ureter, bladder",
            "kidney, ureter, bladder x-rays",
            "abdominal x-ray",
            "pelvic x-ray",
            "portable x-ray",
            "computerized tomography",
            "positron emission tomography",
            "magnetic resonance angiogram",
            "renal ultrasonography",
            "transesophageal echocardiogram",
            "transthoracic echocardiogram",
            "multi gated acquisition scan",
            "dual-energy x-ray absorptiometry",
            "electromyogram",
            "electromyography",
            "intravenous pyelogram",
            "upper gastrointestinal series",
            "voiding cystourethrogram",
            "videofluoroscopic swallow study",
            "videofluoroscopic swallowing study",
        ],
        TEST,
    ),
    **dict.fromkeys(
        [
            "above knee amputation",
            "below the knee amputation",
            "aortic valve replacement",
            "bilateral salpingo-oophorectomy",
            "bilateral tubal ligation",
            "bone marrow biopsy",
            "bone marrow transplant",
            "bronchoalveolar lavage",
            "esophagogastroduodenoscopy",
            "endoscopic retrograde cholangiopancreatography",
            "fine needle aspiration",
            "fine-needle aspiration",
            "catheterization",
            "left heart catheterization",
            "right heart catheterization",
            "open reduction and internal fixation",
            "open reduction with internal fixation",
            "percutaneous endoscopic gastrostomy",
            "percutaneous transluminal coronary angioplasty",
            "split thickness skin graft",
            "stem cell transplant",
            "stem cell transplantation",
            "peripheral blood stem cell transplant",
            "total abdominal hysterectomy",
            "video-assisted thoracoscopic surgery",
            "lithotripsy",
        ],
        PROC,
    ),
    **dict.fromkeys(
        [
            "bilevel positive airway pressure",
            "nasal continuous positive airway pressure",
            "positive pressure ventilation",
            "continuous veno-venous hemodialysis",
            "peritoneal dialysis",
            "extracorporeal membrane oxygenation",
            "extracorporeal photopheresis",
            "electroconvulsive therapy",
            "total body irradiation",
            "hormone replacement therapy",
            "vacuum assisted closure",
        ],
        TREAT,
    ),
    **dict.fromkeys(
        [
            "neutral protamine hagedorn",
            "nph insulin",
            "thiamine",
            "acetysalicylic acid",
            "multivitamin",
            "penicillin",
            "trimethoprim-sulfamethoxazole",
            "fk506 (tacrolimus)",
        ],
        MED,
    ),
    **dict.fromkeys(
        [
            "rapid ventricular response",
            "tender to palpation",
            "tenderness to palpation",
            "venous thromboembolism",
            "subacute bacterial endocarditis",
            "syndrome of inappropriate antidiuretic hormone",
            "non-st segment elevation myocardial infarction",
            "non-st segment myocardial infarction",
            "tachycardic",
            "perforation",
        ],
        MC,
    ),
}
# Senses that are statements of normality or bookkeeping, never entities (GUIDE: "nsr", "VSS").
NOT_ENTITIES = frozenset(
    {
        "normal sinus rhythm",
        "within normal limits",
        "vital signs stable",
        "no acute distress",
        "no known drug allergies",
        "normocephalic",
        "not an acronym",
        "not an abbreviation",
        "regular rate and rhythm",
        "clear to auscultation",
        "alert and oriented",
        "room air",
        # substances of use are social history (nlp/local/social.py), not medications
        "alcohol",
        "ethanol",
        "ethanol (alcohol)",
        "ethanol (aka alcohol)",
    }
)


def read_inventory(path: Path) -> dict[str, dict[str, float]]:
    """Short form -> sense -> frequency (lower-cased) of one Meta-Inventory source.

    Stetson rows are ``sf, sense, freq``; Vanderbilt rows ``sf, sense, variants, CUI, freq``
    after a header. Frequencies of a short form are renormalised to sum to one.
    """
    out: dict[str, dict[str, float]] = defaultdict(dict)
    with path.open(encoding="utf-8") as fh:
        for row in csv.reader(fh, delimiter="\t"):
            if len(row) < 3 or row[0] == "abbreviation":
                continue
            sf, sense = row[0].strip().lower(), row[1].strip().lower()
            try:
                freq = float(row[-1] if len(row) >= 5 else row[2])
            except ValueError:
                continue
            if sf and sense:
                out[sf][sense] = out[sf].get(sense, 0.0) + freq
    for senses in out.values():
        total = sum(senses.values()) or 1.0
        for k in senses:
            senses[k] /= total
    return dict(out)


def pool(
    inventories: Iterable[tuple[Mapping[str, Mapping[str, float]], float]],
) -> dict[str, dict[str, float]]:
    """Weighted mean frequency of each sense over the inventories that list its short form.

    >>> pool([({"pe": {"embolism": 1.0}}, 2.0), ({"pe": {"exam": 1.0}}, 1.0)])["pe"]["embolism"]
    0.6666666666666666
    """
    sums: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    weights: dict[str, float] = defaultdict(float)
    for inv, weight in inventories:
        for sf, senses in inv.items():
            weights[sf] += weight
            for sense, f in senses.items():
                sums[sf][sense] += weight * f
    return {sf: {s: v / weights[sf] for s, v in senses.items()} for sf, senses in sums.items()}


class SenseClassifier:
    """Classifies a sense by the lexicon terms it equals (after normalisation).

    Args:
        terms: lexicon terms from the terminologies (abbreviation terms are ignored: they are
            short forms, not senses).
        normaliser: the matcher's normaliser (plurals, spelling variants).
    """

    def __init__(self, terms: Iterable[Term], normaliser: Normaliser) -> None:
        self.key = normaliser.phrase_key
        self.readings: dict[tuple[str, ...], set[str]] = defaultdict(set)
        for t in terms:
            if t.source in ("abbrev", "anatomy") or t.category == "ANATOMY":
                continue
            reading = _READING.get(t.category) or _TTP.get(t.type)
            if reading:
                self.readings[self.key(t.text)].add(reading)
        for sense, reading in SENSE_CLASSES.items():
            self.readings[self.key(sense)] = {reading}
        for name in ELECTROLYTES:
            self.readings[self.key(name)] = {TEST, MED}

    def __call__(self, sense: str) -> list[str]:
        """Readings of ``sense`` (condition first, then drug, test, procedure, treatment)."""
        if sense in NOT_ENTITIES:
            return []
        got = self.readings.get(self.key(sense)) or self.readings.get(
            self.key(_PARENS.sub("", sense)), set()
        )
        order = (MC, MED, TEST, PROC, TREAT)
        return [r for r in order if r in got]


def distil(
    pooled: Mapping[str, Mapping[str, float]],
    classify: Callable[[str], list[str]],
    zipf: Callable[[str], float],
    *,
    min_freq: float = 0.0,
) -> dict[str, dict[str, object]]:
    """Short forms with at least one entity sense: senses, readings, frequencies, Zipf.

    ``other`` is the frequency mass of the senses that are not entities, ``unit`` the part of
    it that is a unit of measure (a reading only right after a number).
    """
    out: dict[str, dict[str, object]] = {}
    for sf in sorted(pooled):
        if not re.search(r"[a-z]", sf) or len(sf) > 12:
            continue
        if len(sf) == 1 and sf not in SINGLE_LETTERS:
            continue  # "a", "e": letters, not short forms ("k" alone is potassium)
        senses = []
        other = unit = 0.0
        for sense, f in sorted(pooled[sf].items(), key=lambda kv: (-kv[1], kv[0])):
            readings = classify(sense)
            if readings and f > min_freq:
                senses.append([sense, round(f, 4), readings])
            else:
                other += f
                unit += f if sense in UNITS else 0.0
        if senses:
            out[sf] = {
                "senses": senses,
                "other": round(other, 4),
                "unit": round(unit, 4),
                "zipf": round(zipf(sf), 2),
            }
    return out


def read_wikipedia(path: Path) -> dict[str, dict[str, float]]:
    """Wikipedia list: short form -> senses, each 1/n (the list gives no frequencies)."""
    senses: dict[str, set[str]] = defaultdict(set)
    with path.open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            sf = (row.get("abr") or "").strip().lower()
            lf = (row.get("long_form") or "").strip().lower()
            if sf and lf:
                senses[sf].add(lf)
    return {sf: {s: 1 / len(v) for s in v} for sf, v in senses.items()}


_HEADER = (
    "Distilled from the Medical Abbreviation and Acronym Meta-Inventory sources (Grossman Liu et"
    " al., Scientific Data 2021), {sources}; licence {licence}. Built by models/shortforms.py:"
    " senses classified against the terminology lexicon; frequencies pooled over sources."
)


def main(argv: list[str] | None = None) -> int:
    """Write both short-form files from the inventories (default: ../shared/data/...)."""
    from wordfreq import zipf_frequency

    from nlp.local.lexicon import load_lexicon

    args = sys.argv[1:] if argv is None else argv
    root = Path(__file__).resolve().parent.parent
    folder = Path(args[0]) if args else root.parent / "shared" / "data" / "clinical-abbreviations"
    classify = SenseClassifier(load_lexicon(), Normaliser.default())

    def zipf(sf: str) -> float:
        """English word frequency; "n/v" or "d5w" are no English words (wordfreq splits them)."""
        return float(zipf_frequency(sf, "en")) if sf.isalpha() else 0.0

    meta = distil(pool((read_inventory(folder / n), w) for n, w in SOURCES.items()), classify, zipf)
    _write(
        RULES_DIR / "shortforms.json",
        _HEADER.format(
            sources="Stetson, Vanderbilt clinic notes, Vanderbilt discharge summaries",
            licence="CC BY 4.0",
        ),
        meta,
    )
    wiki = distil(read_wikipedia(folder / WIKIPEDIA), classify, zipf)
    wiki = {k: v for k, v in wiki.items() if k not in meta}
    _write(
        RULES_DIR / "shortforms-wikipedia.json",
        _HEADER.format(sources="Wikipedia's list of medical abbreviations", licence="CC BY-SA"),
        wiki,
    )
    nursing = read_nursing(root / "models" / "data" / "nursing_shortforms.tsv")
    for sf, entry in nursing.items():
        entry["zipf"] = round(zipf(sf), 2)
    _write(
        RULES_DIR / "shortforms-nursing.json",
        "Short forms as nurses write them, from general clinical knowledge"
        " (models/data/nursing_shortforms.tsv); Zipf frequencies from wordfreq.",
        nursing,
    )
    counts = f"{len(meta)} Meta-Inventory, {len(wiki)} Wikipedia, {len(nursing)} nursing"
    sys.stdout.write(f"short forms written: {counts}\n")
    return 0


def read_nursing(path: Path) -> dict[str, dict[str, object]]:
    """The hand-made nursing short forms (``models/data/nursing_shortforms.tsv``).

    Columns: short form, sense, reading, frequency, optional flags (``rhythm``, ``negated``);
    ``other`` is what the listed frequencies leave of 1.
    """
    out: dict[str, dict[str, object]] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        sf, sense, reading, freq, *flags = line.split("\t")
        entry = out.setdefault(sf.strip().lower(), {"senses": [], "other": 1.0, "unit": 0.0})
        senses: list[list[object]] = entry["senses"]  # type: ignore[assignment]
        senses.append([sense.strip(), float(freq), [reading.strip()]])
        entry["other"] = round(max(0.0, float(entry["other"]) - float(freq)), 4)  # type: ignore[arg-type]
        for flag in flags:
            if flag.strip():
                entry[flag.strip()] = True
    return out


def _write(path: Path, comment: str, forms: Mapping[str, object]) -> None:
    lines = [f"  {json.dumps(k)}: {json.dumps(v, ensure_ascii=False)}" for k, v in forms.items()]
    body = ",\n".join(lines)
    path.write_text(
        f'{{\n "_comment": {json.dumps(comment)},\n "forms": {{\n{body}\n }}\n}}\n', "utf-8"
    )


if __name__ == "__main__":
    raise SystemExit(main())
