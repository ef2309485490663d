"""Synthetic notes and their recorded NLP results (Comprehend shape) for the API tests.

``STREP`` mirrors the document of the HealthLake search example (seed 002): a
``streptococcal sore throat`` entity whose concept scores lie in [0.55, 0.65) and an
``Amoxicillin`` entity with a concept scored in [0.75, 0.85). The other notes are near misses.
"""

from __future__ import annotations

import base64
from typing import Any


def _span(text: str, word: str) -> tuple[int, int]:
    begin = text.index(word)
    return begin, begin + len(word)


def _de(eid: int, text: str, word: str, category: str, etype: str, score: float, traits=()):
    begin, end = _span(text, word)
    return {
        "Id": eid,
        "BeginOffset": begin,
        "EndOffset": end,
        "Score": score,
        "Text": word,
        "Category": category,
        "Type": etype,
        "Traits": [{"Name": t, "Score": 0.9} for t in traits],
        "Attributes": [],
    }


def _icd(eid: int, text: str, word: str, score: float, concepts, traits=("DIAGNOSIS",)):
    begin, end = _span(text, word)
    return {
        "Id": eid,
        "Text": word,
        "Category": "MEDICAL_CONDITION",
        "Type": "DX_NAME",
        "Score": score,
        "BeginOffset": begin,
        "EndOffset": end,
        "Attributes": [],
        "Traits": [{"Name": t, "Score": 0.95} for t in traits],
        "ICD10CMConcepts": [{"Description": d, "Code": c, "Score": s} for c, d, s in concepts],
    }


def _rx(eid: int, text: str, word: str, score: float, concepts):
    begin, end = _span(text, word)
    return {
        "Id": eid,
        "Text": word,
        "Category": "MEDICATION",
        "Type": "GENERIC_NAME",
        "Score": score,
        "BeginOffset": begin,
        "EndOffset": end,
        "Attributes": [],
        "Traits": [],
        "RxNormConcepts": [{"Description": d, "Code": c, "Score": s} for c, d, s in concepts],
    }


def result(de=(), icd=(), rx=()) -> dict[str, Any]:
    return {
        "DetectEntitiesV2": {"Entities": list(de), "UnmappedAttributes": [], "ModelVersion": "2.0"},
        "InferICD10CM": {"Entities": list(icd), "ModelVersion": "0.1.0"},
        "InferRxNorm": {"Entities": list(rx), "ModelVersion": "0.0.0"},
    }


STREP_TEXT = (
    "History of otitis media as a child. Today the patient presents with streptococcal sore "
    "throat, fever. Plan: Amoxicillin 500 mg twice daily."
)
STREP = result(
    de=[
        _de(
            0, STREP_TEXT, "otitis media", "MEDICAL_CONDITION", "DX_NAME", 0.9815994, ["DIAGNOSIS"]
        ),
        _de(
            1,
            STREP_TEXT,
            "streptococcal sore throat",
            "MEDICAL_CONDITION",
            "DX_NAME",
            0.92208487,
            ["DIAGNOSIS"],
        ),
        _de(2, STREP_TEXT, "Amoxicillin", "MEDICATION", "GENERIC_NAME", 0.99761033),
    ],
    icd=[
        _icd(
            0,
            STREP_TEXT,
            "otitis media",
            0.9815994,
            [
                ("H66.90", "Otitis media, unspecified, unspecified ear", 0.7176407),
                ("H66.9", "Otitis media, unspecified", 0.6930445),
            ],
        ),
        _icd(
            1,
            STREP_TEXT,
            "streptococcal sore throat",
            0.92208487,
            [
                ("J02.0", "Streptococcal pharyngitis", 0.55638546),
                ("J03.00", "Acute streptococcal tonsillitis, unspecified", 0.53159785),
                ("A40.9", "Streptococcal sepsis, unspecified", 0.51865804),
            ],
        ),
    ],
    rx=[
        _rx(
            2,
            STREP_TEXT,
            "Amoxicillin",
            0.99761033,
            [
                ("723", "amoxicillin", 0.7989),
                ("308191", "amoxicillin 500 MG Oral Tablet", 0.55),
            ],
        ),
    ],
)

# Strep with HIGH concept scores: the seed query must not find it (0.93 is not ~0.6).
STREP_HIGH_TEXT = "Streptococcal pharyngitis confirmed. Amoxicillin started."
STREP_HIGH = result(
    de=[_de(0, STREP_HIGH_TEXT, "Streptococcal pharyngitis", "MEDICAL_CONDITION", "DX_NAME", 0.97)],
    icd=[
        _icd(
            0,
            STREP_HIGH_TEXT,
            "Streptococcal pharyngitis",
            0.97,
            [
                ("J02.0", "Streptococcal pharyngitis", 0.93),
            ],
        ),
    ],
    rx=[_rx(1, STREP_HIGH_TEXT, "Amoxicillin", 0.99, [("723", "amoxicillin", 0.81)])],
)

# Co-location trap: "streptococcal" and a 0.6 concept score exist, but in DIFFERENT entities.
SPLIT_TEXT = "Streptococcal carrier state noted. Headache today. Takes ibuprofen."
SPLIT = result(
    de=[
        _de(0, SPLIT_TEXT, "Streptococcal carrier state", "MEDICAL_CONDITION", "DX_NAME", 0.61),
        _de(1, SPLIT_TEXT, "Headache", "MEDICAL_CONDITION", "DX_NAME", 0.35, ["SYMPTOM"]),
        _de(2, SPLIT_TEXT, "ibuprofen", "MEDICATION", "GENERIC_NAME", 0.9),
    ],
    icd=[
        _icd(
            0,
            SPLIT_TEXT,
            "Streptococcal carrier state",
            0.61,
            [
                ("Z22.338", "Carrier of other streptococcus", 0.31),
            ],
        ),
        _icd(
            1, SPLIT_TEXT, "Headache", 0.35, [("R51.9", "Headache, unspecified", 0.6)], ("SYMPTOM",)
        ),
    ],
    rx=[_rx(2, SPLIT_TEXT, "ibuprofen", 0.9, [("5640", "ibuprofen", 0.95)])],
)

# Accented text, to test accent-insensitive string matching.
MENIERE_TEXT = "Known Ménière disease, stable."
MENIERE = result(
    de=[_de(0, MENIERE_TEXT, "Ménière disease", "MEDICAL_CONDITION", "DX_NAME", 0.88)],
    icd=[
        _icd(
            0,
            MENIERE_TEXT,
            "Ménière disease",
            0.88,
            [("H81.09", "Ménière's disease, unspecified ear", 0.7)],
        )
    ],
)

RESULTS = {
    "streptococcal sore": STREP,
    "Streptococcal pharyngitis confirmed": STREP_HIGH,
    "Streptococcal carrier": SPLIT,
    "Ménière": MENIERE,
}


def document(
    text: str | None,
    *,
    doc_id: str | None = None,
    patient: str = "p1",
    identifier: str | None = None,
    date: str | None = None,
    content_type: str = "text/plain",
) -> dict[str, Any]:
    """A DocumentReference with ``text`` inline (``None``: a PDF, i.e. no usable text)."""
    doc: dict[str, Any] = {
        "resourceType": "DocumentReference",
        "status": "current",
        "type": {"coding": [{"system": "http://loinc.org", "code": "11506-3"}]},
        "category": [{"coding": [{"system": "http://loinc.org", "code": "47039-3"}]}],
        "subject": {"reference": f"Patient/{patient}"},
    }
    if doc_id is not None:
        doc["id"] = doc_id
    if identifier is not None:
        doc["identifier"] = [{"system": "urn:test:notes", "value": identifier}]
    if date is not None:
        doc["date"] = date
    if text is None:
        doc["content"] = [{"attachment": {"contentType": "application/pdf", "data": "JVBERi0="}}]
    else:
        data = base64.b64encode(text.encode("utf-8")).decode("ascii")
        doc["content"] = [{"attachment": {"contentType": content_type, "data": data}}]
    return doc
