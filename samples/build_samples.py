"""Writes samples/*.json (DocumentReferences) and samples/nlp/*.json (recorded NLP results).

Run ``PYTHONPATH=. .venv/bin/python samples/build_samples.py`` after editing a note. Every
entity is placed by searching its text in the note, so ``Text == text[BeginOffset:EndOffset]``
always holds; scores are stored as boto3 returns them (float32 values widened to doubles).
"""

from __future__ import annotations

import base64
import json
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from enrich.text import html_to_text

HERE = Path(__file__).resolve().parent

Json = dict[str, Any]
Concepts = list[tuple[str, str, float]]
Traits = list[tuple[str, float]]


def f32(x: float) -> float:
    """A score as boto3 returns it: the float32 value widened to a double."""
    value: float = struct.unpack("<f", struct.pack("<f", x))[0]
    return value


@dataclass
class Attr:
    text: str
    type: str
    score: float
    rel_score: float
    rel_type: str | None = None
    category: str | None = None
    occ: int = 0


@dataclass
class Note:
    """A note text and its three hand-made responses."""

    text: str
    de: list[Json] = field(default_factory=list)
    icd: list[Json] = field(default_factory=list)
    rx: list[Json] = field(default_factory=list)
    _de_id: int = 0
    _icd_id: int = 0
    _rx_id: int = 0

    def span(self, sub: str, occ: int = 0, start: int = 0) -> tuple[int, int]:
        pos = start - 1
        for _ in range(occ + 1):
            pos = self.text.find(sub, pos + 1)
            if pos < 0:
                raise ValueError(f"{sub!r} (occurrence {occ}) not in note")
        return pos, pos + len(sub)

    def _attrs(self, attrs: list[Attr], begin: int, counter: str, de: bool) -> list[Json]:
        out = []
        for a in attrs:
            try:
                b, e = self.span(a.text, a.occ, begin)
            except ValueError:
                b, e = self.span(a.text, a.occ)
            setattr(self, counter, getattr(self, counter) + 1)
            item: Json = {
                "Type": a.type,
                "Score": f32(a.score),
                "RelationshipScore": f32(a.rel_score),
            }
            if de:
                item["RelationshipType"] = a.rel_type or a.type
            item |= {"Id": getattr(self, counter), "BeginOffset": b, "EndOffset": e}
            item["Text"] = a.text
            if de:
                item["Category"] = a.category or "MEDICATION"
            item["Traits"] = []
            out.append(item)
        return out

    def add_de(
        self,
        sub: str,
        category: str,
        type_: str,
        score: float,
        traits: Traits | None = None,
        attrs: list[Attr] | None = None,
        occ: int = 0,
    ) -> None:
        b, e = self.span(sub, occ)
        entity: Json = {
            "Id": self._de_id,
            "BeginOffset": b,
            "EndOffset": e,
            "Score": f32(score),
            "Text": sub,
            "Category": category,
            "Type": type_,
            "Traits": [{"Name": n, "Score": f32(s)} for n, s in traits or []],
        }
        self._de_id += 1
        entity["Attributes"] = self._attrs(attrs or [], b, "_de_id", True)
        self.de.append(entity)

    def add_icd(
        self,
        sub: str,
        score: float,
        traits: Traits,
        concepts: Concepts,
        occ: int = 0,
        id_: int | None = None,
    ) -> None:
        b, e = self.span(sub, occ)
        if id_ is not None:
            self._icd_id = id_
        self.icd.append(
            {
                "Id": self._icd_id,
                "Text": sub,
                "Category": "MEDICAL_CONDITION",
                "Type": "DX_NAME",
                "Score": f32(score),
                "BeginOffset": b,
                "EndOffset": e,
                "Attributes": [],
                "Traits": [{"Name": n, "Score": f32(s)} for n, s in traits],
                "ICD10CMConcepts": [
                    {"Description": d, "Code": c, "Score": f32(s)} for c, d, s in concepts
                ],
            }
        )
        self._icd_id += 1

    def add_rx(
        self,
        sub: str,
        score: float,
        concepts: Concepts,
        traits: Traits | None = None,
        attrs: list[Attr] | None = None,
        type_: str = "GENERIC_NAME",
        occ: int = 0,
    ) -> None:
        b, e = self.span(sub, occ)
        entity: Json = {
            "Id": self._rx_id,
            "Text": sub,
            "Category": "MEDICATION",
            "Type": type_,
            "Score": f32(score),
            "BeginOffset": b,
            "EndOffset": e,
        }
        self._rx_id += 1
        entity["Attributes"] = self._attrs(attrs or [], b, "_rx_id", False)
        entity["Traits"] = [{"Name": n, "Score": f32(s)} for n, s in traits or []]
        entity["RxNormConcepts"] = [
            {"Description": d, "Code": c, "Score": f32(s)} for c, d, s in concepts
        ]
        self.rx.append(entity)

    def result(self) -> Json:
        return {
            "DetectEntitiesV2": {
                "Entities": self.de,
                "UnmappedAttributes": [],
                "ModelVersion": "2.4.0",
            },
            "InferICD10CM": {"Entities": self.icd, "ModelVersion": "0.1.0"},
            "InferRxNorm": {"Entities": self.rx, "ModelVersion": "0.1.0"},
        }


def docref(
    doc_id: str,
    patient: str,
    data: bytes,
    content_type: str,
    *,
    date: str,
    encounter: str | None = None,
    description: str | None = None,
) -> Json:
    doc: Json = {
        "resourceType": "DocumentReference",
        "id": doc_id,
        "status": "current",
        "type": {
            "coding": [
                {"system": "http://loinc.org", "code": "34109-9", "display": "Note"},
            ]
        },
        "category": [
            {
                "coding": [
                    {
                        "system": "http://hl7.org/fhir/us/core/CodeSystem/"
                        "us-core-documentreference-category",
                        "code": "clinical-note",
                        "display": "Clinical Note",
                    }
                ]
            }
        ],
        "subject": {"reference": f"Patient/{patient}"},
        "date": date,
    }
    if description:
        doc["description"] = description
    doc["content"] = [
        {
            "attachment": {
                "contentType": content_type,
                "data": base64.b64encode(data).decode("ascii"),
            }
        }
    ]
    if encounter:
        doc["context"] = {"encounter": [{"reference": f"Encounter/{encounter}"}]}
    return doc


def _dump(path: Path, data: Json) -> None:
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


# --- the notes ---------------------------------------------------------------------------------

EXAMPLE1 = """
1991-08-31

# Chief Complaint
- Headache
- Sinus Pain
- Nasal Congestion
- Sore Throat
- Pain with Bright Lights
- Nasal Discharge
- Cough

# History of Present Illness
Jerónimo599
 is a 4 month-old non-hispanic white male.

# Social History
 Patient has never smoked.

Patient comes from a middle socioeconomic background.

Patient currently has Aetna.
# Allergies
No Known Allergies.

# Medications
No Active Medications.

# Assessment and Plan
Patient is presenting with bee venom (substance), mold (organism), house dust mite (organism), \
animal dander (substance), grass pollen (substance), tree pollen (substance), lisinopril, \
sulfamethoxazole / trimethoprim, fish (substance).  

## Plan

The patient was prescribed the following medications:
- astemizole 10 mg oral tablet
- nda020800 0.3 ml epinephrine 1 mg/ml auto-injector
The patient was placed on a careplan:
- self-care interventions (procedure)
"""  # noqa: W291


def example1() -> Note:
    n = Note(EXAMPLE1)
    sym = [("SYMPTOM", 0.7)]
    for text, score, tr in [
        ("Headache", 0.9531, [("SYMPTOM", 0.8216)]),
        ("Sinus Pain", 0.94417894, [("DIAGNOSIS", 0.6112)]),
        ("Nasal Congestion", 0.9718, [("SYMPTOM", 0.8347)]),
        ("Sore Throat", 0.9604, [("SYMPTOM", 0.7946)]),
        ("Pain", 0.45005733, [("SIGN", 0.5371)]),
        ("Nasal Discharge", 0.9335, [("SYMPTOM", 0.7759)]),
        ("Cough", 0.9817, [("SYMPTOM", 0.8502)]),
    ]:
        occ = 1 if text == "Pain" else 0
        n.add_de(text, "MEDICAL_CONDITION", "DX_NAME", score, tr or sym, occ=occ)
    n.add_de("Jerónimo599", "PROTECTED_HEALTH_INFORMATION", "NAME", 0.9431)
    n.add_de("4 month-old", "PROTECTED_HEALTH_INFORMATION", "AGE", 0.9142)
    n.add_de("lisinopril", "MEDICATION", "GENERIC_NAME", 0.9957)
    n.add_de("sulfamethoxazole", "MEDICATION", "GENERIC_NAME", 0.9902)
    n.add_de("trimethoprim", "MEDICATION", "GENERIC_NAME", 0.9889)
    n.add_de(
        "astemizole",
        "MEDICATION",
        "GENERIC_NAME",
        0.9871,
        attrs=[
            Attr("10 mg", "STRENGTH", 0.9012, 0.9981),
            Attr("oral", "ROUTE_OR_MODE", 0.9622, 0.9963),
            Attr("tablet", "FORM", 0.9713, 0.9978),
        ],
    )
    n.add_de(
        "epinephrine",
        "MEDICATION",
        "GENERIC_NAME",
        0.9953,
        attrs=[
            Attr("1 mg/ml", "STRENGTH", 0.8734, 0.9911),
            Attr("auto-injector", "FORM", 0.7123, 0.9402),
        ],
    )
    n.add_de("self-care interventions", "TEST_TREATMENT_PROCEDURE", "TREATMENT_NAME", 0.6231)

    n.add_icd(
        "Headache",
        0.9531,
        [("SYMPTOM", 0.8216)],
        [
            ("R51.9", "Headache, unspecified", 0.8841),
            ("G44.209", "Tension-type headache, unspecified, not intractable", 0.5619),
            (
                "G43.909",
                "Migraine, unspecified, not intractable, without status migrainosus",
                0.4818,
            ),
        ],
    )
    n.add_icd(
        "Sinus Pain",
        0.94417894,
        [("DIAGNOSIS", 0.6112)],
        [
            ("I70.0", "Atherosclerosis of aorta", 0.8458298),
            ("J32.9", "Chronic sinusitis, unspecified", 0.5127),
            ("J01.90", "Acute sinusitis, unspecified", 0.4962),
        ],
    )
    n.add_icd(
        "Nasal Congestion",
        0.9718,
        [("SYMPTOM", 0.8347)],
        [
            ("R09.81", "Nasal congestion", 0.9203),
            ("J31.0", "Chronic rhinitis", 0.3316),
        ],
    )
    n.add_icd(
        "Sore Throat",
        0.9604,
        [("SYMPTOM", 0.7946)],
        [
            ("J02.9", "Acute pharyngitis, unspecified", 0.7481),
            ("R07.0", "Pain in throat", 0.6325),
        ],
    )
    n.add_icd(
        "Pain",
        0.45005733,
        [("SIGN", 0.5371)],
        [
            ("R52", "Pain, unspecified", 0.4107),
            ("G89.29", "Other chronic pain", 0.2224),
            ("H57.10", "Ocular pain, unspecified eye", 0.1718),
            ("R68.84", "Jaw pain", 0.1346),
            ("A52.06", "Other syphilitic heart involvement", 0.1111792),
        ],
        occ=1,
    )
    n.add_icd(
        "Nasal Discharge",
        0.9335,
        [("SYMPTOM", 0.7759)],
        [
            ("J34.89", "Other specified disorders of nose and nasal sinuses", 0.6034),
            ("R09.89", "Other specified symptoms and signs involving the circulatory and "
             "respiratory systems", 0.5218),
        ],
    )  # fmt: skip
    n.add_icd(
        "Cough",
        0.9817,
        [("SYMPTOM", 0.8502)],
        [("R05.9", "Cough, unspecified", 0.8655), ("R05.1", "Acute cough", 0.6209)],
    )
    n.add_rx(
        "lisinopril",
        0.9957,
        [
            ("29046", "lisinopril", 0.8911),
            ("314076", "lisinopril 10 MG Oral Tablet", 0.6119),
        ],
    )
    n.add_rx(
        "epinephrine",
        0.9953,
        [("3992", "epinephrine", 0.8426)],
        attrs=[
            Attr("1 mg/ml", "STRENGTH", 0.8734, 0.9911),
            Attr("auto-injector", "FORM", 0.7123, 0.9402),
        ],
    )
    return n


def example2() -> Note:
    n = Note("Tom is not prescribed Advil")
    n.add_de("Tom", "PROTECTED_HEALTH_INFORMATION", "NAME", 0.9964)
    n.add_de("Advil", "MEDICATION", "BRAND_NAME", 0.9985, [("NEGATION", 0.9262)])
    n.add_rx(
        "Advil",
        0.9979,
        [
            ("731533", "ibuprofen 200 MG Oral Capsule [Advil]", 0.8043),
            ("153010", "Advil", 0.7758),
            ("153008", "ibuprofen 200 MG Oral Tablet [Advil]", 0.7214),
            ("5640", "ibuprofen", 0.6327),
            ("310965", "ibuprofen 200 MG Oral Tablet", 0.5871),
        ],
        traits=[("NEGATION", 0.8207)],
        type_="BRAND_NAME",
    )
    return n


OTITIS = (
    "\n2021-12-14\n\n# Chief Complaint\nNo complaints.\n\n# History of Present Illness\nIan412\n"
    " is a 3 year-old non-hispanic white male. Patient is seen today for otitis media. Follow-up "
    "visit in two weeks.\n\n# Social History\n Patient has never smoked.\n\nPatient comes from a "
    "middle socioeconomic background.\n\n# Allergies\nNo Known Allergies.\n\n# Medications\n"
    "acetaminophen 160 mg chewable tablet\n\n# Assessment and Plan\nRapid strep antigen test "
    "positive. Child has a history of streptococcal sore throat (disorder).\n\n## Plan\nThe "
    "patient was prescribed the following medications:\n- Amoxicillin 250 mg oral capsule\n"
)


def otitis() -> Note:
    n = Note(OTITIS)
    n.add_de("Ian412", "PROTECTED_HEALTH_INFORMATION", "NAME", 0.9512)
    n.add_de("3 year-old", "PROTECTED_HEALTH_INFORMATION", "AGE", 0.9733)
    n.add_de("otitis media", "MEDICAL_CONDITION", "DX_NAME", 0.9815994, [("DIAGNOSIS", 0.95042425)])
    n.add_de(
        "acetaminophen",
        "MEDICATION",
        "GENERIC_NAME",
        0.9968,
        attrs=[
            Attr("160 mg", "STRENGTH", 0.9411, 0.9988),
            Attr("chewable tablet", "FORM", 0.8812, 0.9903),
        ],
    )
    n.add_de("Rapid strep antigen test", "TEST_TREATMENT_PROCEDURE", "TEST_NAME", 0.8817)
    n.add_de("streptococcal sore throat", "MEDICAL_CONDITION", "DX_NAME", 0.92208487)
    n.add_de("disorder", "MEDICAL_CONDITION", "DX_NAME", 0.9191257, [("DIAGNOSIS", 0.93372077)])
    n.add_de(
        "Amoxicillin",
        "MEDICATION",
        "GENERIC_NAME",
        0.9981,
        attrs=[
            Attr("250 mg", "STRENGTH", 0.9522, 0.9991),
            Attr("oral", "ROUTE_OR_MODE", 0.9613, 0.9972),
            Attr("capsule", "FORM", 0.9734, 0.9985),
        ],
    )
    # InferICD10CM: the seed's raw-response, values and Ids (0, 1, 3) exactly (spec §1.3).
    n.add_icd(
        "otitis media",
        0.9815994,
        [("DIAGNOSIS", 0.95042425)],
        [
            ("H66.90", "Otitis media, unspecified, unspecified ear", 0.7176407),
            ("H66.9", "Otitis media, unspecified", 0.6930445),
            ("H66.92", "Otitis media, unspecified, left ear", 0.688161),
            ("H66.93", "Otitis media, unspecified, bilateral", 0.6748094),
            ("H66.91", "Otitis media, unspecified, right ear", 0.6645618),
        ],
        id_=0,
    )
    n.add_icd(
        "streptococcal sore throat",
        0.92208487,
        [],
        [
            ("J02.0", "Streptococcal pharyngitis", 0.55638546),
            ("J03.00", "Acute streptococcal tonsillitis, unspecified", 0.53159785),
            ("A40.9", "Streptococcal sepsis, unspecified", 0.51865804),
            ("J02.9", "Acute pharyngitis, unspecified", 0.45085955),
            ("A49.1", "Streptococcal infection, unspecified site", 0.41550553),
        ],
        id_=1,
    )
    n.add_icd(
        "disorder",
        0.9191257,
        [("DIAGNOSIS", 0.93372077)],
        [
            ("G20", "Parkinson's disease", 0.6959145),
            ("R69", "Illness, unspecified", 0.68428487),
            ("M89.9", "Disorder of bone, unspecified", 0.6542605),
            ("F09", "Unspecified mental disorder due to known physiological condition", 0.6240179),
            ("F99", "Mental disorder, not otherwise specified", 0.61046),
        ],
        id_=3,
    )
    n.add_rx(
        "acetaminophen",
        0.9968,
        [
            ("282464", "acetaminophen 160 MG Chewable Tablet", 0.7713),
            ("161", "acetaminophen", 0.6672),
        ],
        attrs=[
            Attr("160 mg", "STRENGTH", 0.9411, 0.9988),
            Attr("chewable tablet", "FORM", 0.8812, 0.9903),
        ],
    )
    n.add_rx(
        "Amoxicillin",
        0.9981,
        [
            ("308182", "amoxicillin 250 MG Oral Capsule", 0.8127),
            ("723", "amoxicillin", 0.7385),
            ("239191", "amoxicillin 50 MG/ML Oral Suspension", 0.5524),
        ],
        attrs=[
            Attr("250 mg", "STRENGTH", 0.9522, 0.9991),
            Attr("oral", "ROUTE_OR_MODE", 0.9613, 0.9972),
            Attr("capsule", "FORM", 0.9734, 0.9985),
        ],
    )
    return n


NEGATION = """Progress note

Chief complaint: cough and fever for three days.

The patient denies chest pain and shortness of breath. No rash.
Family history: mother had breast cancer at 52; father with type 2 diabetes.
If headache develops, she may take acetaminophen as needed.
She stopped taking warfarin last year. She is not taking aspirin.

Assessment: community-acquired pneumonia, right lower lobe.
Plan: azithromycin 250 mg daily for 5 days.
"""


def negation() -> Note:
    n = Note(NEGATION)
    mc = "MEDICAL_CONDITION"
    n.add_de("cough", mc, "DX_NAME", 0.9912, [("SYMPTOM", 0.8934)])
    n.add_de("fever", mc, "DX_NAME", 0.9887, [("SYMPTOM", 0.8618)])
    n.add_de("chest pain", mc, "DX_NAME", 0.9871, [("NEGATION", 0.9703), ("SYMPTOM", 0.7712)])
    n.add_de(
        "shortness of breath", mc, "DX_NAME", 0.9755, [("NEGATION", 0.9612), ("SYMPTOM", 0.7409)]
    )
    n.add_de("rash", mc, "DX_NAME", 0.9421, [("NEGATION", 0.9355), ("SIGN", 0.6014)])
    n.add_de(
        "breast cancer", mc, "DX_NAME", 0.9902, [("PERTAINS_TO_FAMILY", 0.9534), ("DIAGNOSIS", 0.8)]
    )
    n.add_de(
        "type 2 diabetes",
        mc,
        "DX_NAME",
        0.9844,
        [("PERTAINS_TO_FAMILY", 0.9417), ("DIAGNOSIS", 0.8121)],
    )
    n.add_de("headache", mc, "DX_NAME", 0.9633, [("HYPOTHETICAL", 0.8822), ("SYMPTOM", 0.6618)])
    n.add_de("acetaminophen", "MEDICATION", "GENERIC_NAME", 0.9973)
    n.add_de("warfarin", "MEDICATION", "GENERIC_NAME", 0.9981, [("PAST_HISTORY", 0.8513)])
    n.add_de("aspirin", "MEDICATION", "GENERIC_NAME", 0.9966, [("NEGATION", 0.9142)])
    n.add_de("community-acquired pneumonia", mc, "DX_NAME", 0.9794, [("DIAGNOSIS", 0.9311)])
    n.add_de("right lower lobe", "ANATOMY", "SYSTEM_ORGAN_SITE", 0.8512)
    n.add_de(
        "azithromycin",
        "MEDICATION",
        "GENERIC_NAME",
        0.9979,
        attrs=[
            Attr("250 mg", "DOSAGE", 0.9244, 0.9967),
            Attr("daily", "FREQUENCY", 0.9012, 0.9871),
            Attr("for 5 days", "DURATION", 0.8311, 0.9522),
        ],
    )
    n.add_icd("cough", 0.9912, [("SYMPTOM", 0.8934)], [("R05.9", "Cough, unspecified", 0.8411)])
    n.add_icd("fever", 0.9887, [("SYMPTOM", 0.8618)], [("R50.9", "Fever, unspecified", 0.8923)])
    n.add_icd(
        "chest pain",
        0.9871,
        [("NEGATION", 0.9703), ("SYMPTOM", 0.7712)],
        [("R07.9", "Chest pain, unspecified", 0.8817)],
    )
    n.add_icd(
        "shortness of breath",
        0.9755,
        [("NEGATION", 0.9612), ("SYMPTOM", 0.7409)],
        [("R06.02", "Shortness of breath", 0.9016)],
    )
    n.add_icd(
        "breast cancer",
        0.9902,
        [("PERTAINS_TO_FAMILY", 0.9534), ("DIAGNOSIS", 0.8)],
        [("C50.919", "Malignant neoplasm of unspecified site of unspecified female breast", 0.71)],
    )
    n.add_icd(
        "type 2 diabetes",
        0.9844,
        [("PERTAINS_TO_FAMILY", 0.9417), ("DIAGNOSIS", 0.8121)],
        [("E11.9", "Type 2 diabetes mellitus without complications", 0.8633)],
    )
    n.add_icd(
        "headache",
        0.9633,
        [("HYPOTHETICAL", 0.8822), ("SYMPTOM", 0.6618)],
        [("R51.9", "Headache, unspecified", 0.8712)],
    )
    n.add_icd(
        "community-acquired pneumonia",
        0.9794,
        [("DIAGNOSIS", 0.9311)],
        [
            ("J18.9", "Pneumonia, unspecified organism", 0.8127),
            ("J18.1", "Lobar pneumonia, unspecified organism", 0.6034),
        ],
    )
    n.add_rx("acetaminophen", 0.9973, [("161", "acetaminophen", 0.9112)], traits=[])
    n.add_rx("warfarin", 0.9981, [("11289", "warfarin", 0.9034)], traits=[("PAST_HISTORY", 0.8513)])
    n.add_rx("aspirin", 0.9966, [("1191", "aspirin", 0.8876)], traits=[("NEGATION", 0.9142)])
    n.add_rx(
        "azithromycin",
        0.9979,
        [
            ("308460", "azithromycin 250 MG Oral Tablet", 0.8233),
            ("18631", "azithromycin", 0.7416),
        ],
        attrs=[
            Attr("250 mg", "DOSAGE", 0.9244, 0.9967),
            Attr("daily", "FREQUENCY", 0.9012, 0.9871),
            Attr("for 5 days", "DURATION", 0.8311, 0.9522),
        ],
    )
    return n


MEDLIST = """Medication reconciliation

Diagnoses: type 2 diabetes mellitus; essential hypertension; hyperlipidemia.

Current medications:
1. Metformin 500 mg PO BID with meals
2. Lisinopril 10 mg by mouth once daily
3. Atorvastatin 40 mg PO at bedtime
4. Aspirin 81 mg PO daily
"""


def medlist() -> Note:
    n = Note(MEDLIST)
    mc = "MEDICAL_CONDITION"
    n.add_de("type 2 diabetes mellitus", mc, "DX_NAME", 0.9931, [("DIAGNOSIS", 0.9412)])
    n.add_de("essential hypertension", mc, "DX_NAME", 0.9902, [("DIAGNOSIS", 0.9377)])
    n.add_de("hyperlipidemia", mc, "DX_NAME", 0.9888, [("DIAGNOSIS", 0.9254)])
    meds = [
        ("Metformin", "500 mg", "PO", "BID", "6809", "metformin",
         "861007", "metformin hydrochloride 500 MG Oral Tablet"),
        ("Lisinopril", "10 mg", "by mouth", "once daily", "29046", "lisinopril",
         "314076", "lisinopril 10 MG Oral Tablet"),
        ("Atorvastatin", "40 mg", "PO", "at bedtime", "83367", "atorvastatin",
         "617311", "atorvastatin 40 MG Oral Tablet"),
        ("Aspirin", "81 mg", "PO", "daily", "1191", "aspirin",
         "243670", "aspirin 81 MG Oral Tablet"),
    ]  # fmt: skip
    for i, (name, dose, route, freq, ing, ing_name, scd, scd_name) in enumerate(meds):
        attrs = [
            Attr(dose, "DOSAGE", 0.93 - i * 0.01, 0.9984),
            Attr(route, "ROUTE_OR_MODE", 0.95 - i * 0.01, 0.9961),
            Attr(freq, "FREQUENCY", 0.91 - i * 0.01, 0.9895),
        ]
        n.add_de(name, "MEDICATION", "GENERIC_NAME", 0.998 - i * 0.001, attrs=attrs)
        n.add_rx(
            name,
            0.998 - i * 0.001,
            [(scd, scd_name, 0.84 - i * 0.02), (ing, ing_name, 0.71 - i * 0.02)],
            attrs=attrs,
        )
    n.add_icd(
        "type 2 diabetes mellitus",
        0.9931,
        [("DIAGNOSIS", 0.9412)],
        [
            ("E11.9", "Type 2 diabetes mellitus without complications", 0.8822),
            ("E11.8", "Type 2 diabetes mellitus with unspecified complications", 0.5911),
        ],
    )
    n.add_icd(
        "essential hypertension",
        0.9902,
        [("DIAGNOSIS", 0.9377)],
        [("I10", "Essential (primary) hypertension", 0.9314)],
    )
    n.add_icd(
        "hyperlipidemia",
        0.9888,
        [("DIAGNOSIS", 0.9254)],
        [
            ("E78.5", "Hyperlipidemia, unspecified", 0.9127),
            ("E78.49", "Other hyperlipidemia", 0.5561),
        ],
    )
    return n


LATIN1 = """Consultation - Dr. Hélène Côté

Patient: Zoë Müller, 34 ans.
Motif : fièvre et toux depuis 4 jours. Température 38,7 °C.
Diagnostic : bronchite aiguë (acute bronchitis).
Traitement : paracétamol 500 mg, 3 fois par jour.
"""


def latin1() -> Note:
    n = Note(LATIN1)
    n.add_de("Hélène Côté", "PROTECTED_HEALTH_INFORMATION", "NAME", 0.9123)
    n.add_de("Zoë Müller", "PROTECTED_HEALTH_INFORMATION", "NAME", 0.9347)
    n.add_de("toux", "MEDICAL_CONDITION", "DX_NAME", 0.5812, [("SYMPTOM", 0.5521)])
    n.add_de("acute bronchitis", "MEDICAL_CONDITION", "DX_NAME", 0.9712, [("DIAGNOSIS", 0.9133)])
    n.add_de(
        "paracétamol",
        "MEDICATION",
        "GENERIC_NAME",
        0.8834,
        attrs=[Attr("500 mg", "DOSAGE", 0.9021, 0.9904)],
    )
    n.add_icd(
        "acute bronchitis",
        0.9712,
        [("DIAGNOSIS", 0.9133)],
        [
            ("J20.9", "Acute bronchitis, unspecified", 0.8932),
            ("J40", "Bronchitis, not specified as acute or chronic", 0.6617),
        ],
    )
    n.add_icd("toux", 0.5812, [("SYMPTOM", 0.5521)], [("R05.9", "Cough, unspecified", 0.3912)])
    n.add_rx(
        "paracétamol",
        0.8834,
        [("161", "acetaminophen", 0.6925)],
        attrs=[Attr("500 mg", "DOSAGE", 0.9021, 0.9904)],
    )
    return n


HTML = """<!DOCTYPE html>
<html><head><title>Clinic visit</title><style>p { margin: 0 }</style></head>
<body>
<h1>Clinic visit</h1>
<p>History: recurrent <b>migraine</b> with aura, worse with bright light.
   Denies nausea.</p>
<h2>Medications</h2>
<ul><li>Sumatriptan 50&nbsp;mg PO at onset</li><li>Ibuprofen 200 mg as needed</li></ul>
<p>Assessment: migraine with aura &amp; medication overuse headache.</p>
</body></html>
"""


def html_note() -> Note:
    n = Note(html_to_text(HTML))
    mc = "MEDICAL_CONDITION"
    n.add_de("migraine", mc, "DX_NAME", 0.9903, [("DIAGNOSIS", 0.8891)])
    n.add_de("nausea", mc, "DX_NAME", 0.9812, [("NEGATION", 0.9512), ("SYMPTOM", 0.7812)])
    n.add_de(
        "Sumatriptan",
        "MEDICATION",
        "GENERIC_NAME",
        0.9988,
        attrs=[
            Attr("50\u00a0mg", "DOSAGE", 0.9122, 0.9977),
            Attr("PO", "ROUTE_OR_MODE", 0.93, 0.99),
        ],
    )
    n.add_de("Ibuprofen", "MEDICATION", "GENERIC_NAME", 0.9986)
    n.add_de("migraine with aura", mc, "DX_NAME", 0.9841, [("DIAGNOSIS", 0.9212)], occ=1)
    n.add_de("medication overuse headache", mc, "DX_NAME", 0.9611, [("DIAGNOSIS", 0.8817)])
    n.add_icd(
        "migraine",
        0.9903,
        [("DIAGNOSIS", 0.8891)],
        [("G43.909", "Migraine, unspecified, not intractable, without status migrainosus", 0.7)],
    )
    n.add_icd(
        "nausea",
        0.9812,
        [("NEGATION", 0.9512), ("SYMPTOM", 0.7812)],
        [("R11.0", "Nausea", 0.9123)],
    )
    n.add_icd(
        "migraine with aura",
        0.9841,
        [("DIAGNOSIS", 0.9212)],
        [
            ("G43.109", "Migraine with aura, not intractable, without status migrainosus", 0.8311),
            ("G43.119", "Migraine with aura, intractable, without status migrainosus", 0.6012),
        ],
        occ=1,
    )
    n.add_icd(
        "medication overuse headache",
        0.9611,
        [("DIAGNOSIS", 0.8817)],
        [("G44.41", "Drug-induced headache, not elsewhere classified", 0.7623)],
    )
    n.add_rx(
        "Sumatriptan",
        0.9988,
        [("37418", "sumatriptan", 0.8312)],
        attrs=[
            Attr("50\u00a0mg", "STRENGTH", 0.9122, 0.9977),
            Attr("PO", "ROUTE_OR_MODE", 0.93, 0.99),
        ],
    )
    n.add_rx(
        "Ibuprofen",
        0.9986,
        [("310965", "ibuprofen 200 MG Oral Tablet", 0.7911), ("5640", "ibuprofen", 0.7314)],
        attrs=[Attr("200 mg", "STRENGTH", 0.9312, 0.9981)],
    )
    return n


def discharge_text() -> str:
    """A long synthetic discharge summary (over 25,000 characters)."""
    head = (
        "DISCHARGE SUMMARY\n\nAdmission date: 2024-03-02. Discharge date: 2024-03-30.\n\n"
        "Admitting diagnosis: acute decompensated heart failure.\n"
        "Past medical history: coronary artery disease, atrial fibrillation, chronic kidney "
        "disease stage 3, type 2 diabetes mellitus.\n\n"
        "HOSPITAL COURSE\n"
        "The patient presented with progressive dyspnea and bilateral leg edema. Furosemide "
        "40 mg IV twice daily was started.\n"
    )
    days = []
    for d in range(1, 29):
        days.append(
            f"\nHospital day {d}: Vital signs: temperature 36.{d % 10} C, heart rate "
            f"{70 + d % 13} bpm, blood pressure {118 + d % 9}/{68 + d % 7} mmHg, respiratory rate "
            f"{16 + d % 4}, oxygen saturation {92 + d % 6}% on {max(0, 4 - d // 3)} L nasal "
            "cannula. Net fluid balance negative. Weight trending down. Lungs with decreasing "
            "bibasilar crackles. Extremities with improving pitting edema. Electrolytes reviewed "
            "and repleted as needed; potassium and magnesium within goal after repletion. "
            "Creatinine stable compared with the prior day. Telemetry reviewed without new "
            "events. Continued guideline-directed therapy, daily weights, strict intake and "
            "output, fluid restriction of 1.5 liters and a 2 gram sodium diet. Physical therapy "
            "worked with the patient on ambulation in the hallway; the patient tolerated the "
            "session well. Case management followed for discharge planning and home services. "
            "The patient and family were updated at the bedside and agree with the plan of care "
            "for today. Nursing reports adequate sleep overnight and good appetite.\n"
        )
    tail = (
        "\nOn hospital day 9 the patient developed new onset confusion; delirium was diagnosed "
        "and resolved with reorientation. Metoprolol tartrate 25 mg by mouth twice daily was "
        "continued for rate control. Heparin 5000 units subcutaneously every 8 hours was given "
        "for prophylaxis.\n\n"
        "DISCHARGE DIAGNOSES\n1. Acute on chronic systolic heart failure.\n2. Atrial "
        "fibrillation.\n3. Chronic kidney disease stage 3.\n4. Delirium, resolved.\n\n"
        "DISCHARGE MEDICATIONS\n- Furosemide 40 mg by mouth daily\n- Metoprolol tartrate 25 mg "
        "by mouth twice daily\n- Warfarin 5 mg by mouth daily\n- Insulin glargine 10 units "
        "subcutaneously at bedtime\n\nFOLLOW-UP\nCardiology clinic in one week. INR check in "
        "three days. The patient denies chest pain at discharge.\n"
    )
    return head + "".join(days) + tail


def discharge() -> Note:
    n = Note(discharge_text())
    mc = "MEDICAL_CONDITION"
    conds: list[tuple[str, int, Traits, Concepts]] = [
        ("acute decompensated heart failure", 0, [("DIAGNOSIS", 0.9412)],
         [("I50.9", "Heart failure, unspecified", 0.7712),
          ("I50.23", "Acute on chronic systolic (congestive) heart failure", 0.5521)]),
        ("coronary artery disease", 0, [("DIAGNOSIS", 0.9233)],
         [("I25.10", "Atherosclerotic heart disease of native coronary artery without angina "
           "pectoris", 0.8312)]),
        ("atrial fibrillation", 0, [("DIAGNOSIS", 0.9514)],
         [("I48.91", "Unspecified atrial fibrillation", 0.8911)]),
        ("chronic kidney disease stage 3", 0, [("DIAGNOSIS", 0.9302)],
         [("N18.30", "Chronic kidney disease, stage 3 unspecified", 0.8723)]),
        ("type 2 diabetes mellitus", 0, [("DIAGNOSIS", 0.9188)],
         [("E11.9", "Type 2 diabetes mellitus without complications", 0.8512)]),
        ("dyspnea", 0, [("SYMPTOM", 0.8811)], [("R06.00", "Dyspnea, unspecified", 0.8612)]),
        ("leg edema", 0, [("SIGN", 0.8234)],
         [("R60.0", "Localized edema", 0.7718)]),
        ("confusion", 0, [("SIGN", 0.7712)],
         [("R41.0", "Disorientation, unspecified", 0.6522)]),
        ("delirium", 0, [("DIAGNOSIS", 0.8912)],
         [("R41.0", "Disorientation, unspecified", 0.6711),
          ("F05", "Delirium due to known physiological condition", 0.6412)]),
        ("Acute on chronic systolic heart failure", 0, [("DIAGNOSIS", 0.9611)],
         [("I50.23", "Acute on chronic systolic (congestive) heart failure", 0.9102)]),
        ("chest pain", 0, [("NEGATION", 0.9512), ("SYMPTOM", 0.7123)],
         [("R07.9", "Chest pain, unspecified", 0.8812)]),
    ]  # fmt: skip
    for text, occ, traits, concepts in conds:
        n.add_de(text, mc, "DX_NAME", 0.97, traits, occ=occ)
        n.add_icd(text, 0.97, traits, concepts, occ=occ)
    meds: list[tuple[str, int, Concepts]] = [
        ("Furosemide", 0, [("4603", "furosemide", 0.8121)]),
        ("Metoprolol tartrate", 0, [("866924", "metoprolol tartrate 25 MG Oral Tablet", 0.8311),
                                     ("6918", "metoprolol", 0.6712)]),
        ("Heparin", 0, [("1361615", "heparin sodium, porcine 5000 UNT/ML Injectable Solution",
                         0.6122)]),
        ("Furosemide", 1, [("313988", "furosemide 40 MG Oral Tablet", 0.8412),
                           ("4603", "furosemide", 0.7311)]),
        ("Metoprolol tartrate", 1, [("866924", "metoprolol tartrate 25 MG Oral Tablet", 0.8511)]),
        ("Warfarin", 0, [("855332", "warfarin sodium 5 MG Oral Tablet", 0.8223),
                         ("11289", "warfarin", 0.7412)]),
        ("Insulin glargine", 0, [("311041", "insulin glargine 100 UNT/ML Injectable Solution",
                                  0.7811)]),
    ]  # fmt: skip
    for text, occ, concepts in meds:
        n.add_de(text, "MEDICATION", "GENERIC_NAME", 0.99, occ=occ)
        n.add_rx(text, 0.99, concepts, occ=occ)
    n.de.sort(key=lambda e: e["BeginOffset"])
    n.icd.sort(key=lambda e: e["BeginOffset"])
    n.rx.sort(key=lambda e: e["BeginOffset"])
    for resp in (n.de, n.icd, n.rx):
        for i, e in enumerate(resp):
            e["Id"] = i
    return n


PATIENT1 = "0679b7b7-937d-488a-b48d-6315b8e7003b"


def main() -> None:
    (HERE / "nlp").mkdir(exist_ok=True)
    items: list[tuple[str, Json, Note | None]] = []
    n = example1()
    items.append(
        (
            "example1-synthea",
            docref(
                "0e938f03-da7f-4178-acd8-eea9586c46ed",
                PATIENT1,
                n.text.encode(),
                "text/plain",
                date="2022-10-21T19:38:00Z",
                description="HealthLake guide, Example 1 (synthetic)",
            ),
            n,
        )
    )
    n = example2()
    items.append(
        (
            "example2-advil",
            docref(
                "c549125d-a218-421f-b8bf-23614c5e796c",
                "tom-0001",
                n.text.encode(),
                "text/plain",
                date="2022-10-24T20:05:00Z",
                encounter="enc-tom-0001",
                description="HealthLake guide, Example 2 (synthetic)",
            ),
            n,
        )
    )
    n = otitis()
    items.append(
        (
            "otitis-strep",
            docref(
                "985c3e94-4219-4c79-97a1-c94694525e24",
                "ian-0412",
                n.text.encode(),
                "text/plain",
                date="2021-12-14T10:00:00Z",
                encounter="enc-ian-0412",
            ),
            n,
        )
    )
    n = discharge()
    items.append(
        (
            "discharge-summary-long",
            docref(
                "discharge-0001",
                "pat-hf-0001",
                n.text.encode(),
                "text/plain",
                date="2024-03-30T15:00:00Z",
                encounter="enc-hf-0001",
                description="Discharge summary",
            ),
            n,
        )
    )
    n = negation()
    items.append(
        (
            "negation-family-hypothetical",
            docref(
                "progress-0001",
                "pat-0002",
                n.text.encode(),
                "text/plain; charset=utf-8",
                date="2024-02-01T09:30:00Z",
                encounter="enc-0002",
            ),
            n,
        )
    )
    n = medlist()
    items.append(
        (
            "medication-list",
            docref(
                "medrec-0001",
                "pat-0003",
                n.text.encode(),
                "text/plain",
                date="2024-01-10T11:00:00Z",
            ),
            n,
        )
    )
    n = latin1()
    items.append(
        (
            "latin1-note",
            docref(
                "consult-latin1-0001",
                "pat-0004",
                n.text.encode("latin-1"),
                "text/plain; charset=ISO-8859-1",
                date="2023-11-05T08:00:00Z",
            ),
            n,
        )
    )
    n = html_note()
    items.append(
        (
            "html-note",
            docref(
                "clinic-html-0001",
                "pat-0005",
                HTML.encode(),
                "text/html; charset=utf-8",
                date="2024-04-02T13:15:00Z",
                encounter="enc-0005",
            ),
            n,
        )
    )
    pdf = b"%PDF-1.4\n% synthetic placeholder, no text layer\n%%EOF\n"
    items.append(("pdf-only", docref(
        "scan-pdf-0001", "pat-0006", pdf, "application/pdf", date="2024-05-01T00:00:00Z"),
        None))  # fmt: skip
    for name, doc, note in items:
        _dump(HERE / f"{name}.json", doc)
        if note is not None:
            _dump(HERE / "nlp" / f"{name}.json", note.result())


if __name__ == "__main__":
    main()
