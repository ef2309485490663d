"""Benchmark inputs: deterministic synthetic notes, the samples' notes with their recorded
results, DocumentReferences around a text, and an in-memory replay of recorded results."""

from __future__ import annotations

import base64
import json
import random
from collections.abc import Iterable
from pathlib import Path
from typing import Annotated, Any

import typer

from nlp.schema import NlpResult

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "samples"

#: Options every benchmark of synthetic notes takes.
Seed = Annotated[int, typer.Option("--seed", help="Random seed of the synthetic notes.")]
Size = Annotated[int, typer.Option("--size", min=200, help="Characters per note.")]
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]

_NAMES = ["John Miller", "Maria Garcia", "Robert Chen", "Linda Okafor", "James Patel"]
_CONDITIONS = [
    "hypertension",
    "type 2 diabetes mellitus",
    "congestive heart failure",
    "atrial fibrillation",
    "chronic kidney disease",
    "COPD",
    "asthma",
    "pneumonia",
    "urinary tract infection",
    "major depressive disorder",
    "hyperlipidemia",
    "osteoarthritis of the knee",
    "migraine",
    "gastroesophageal reflux disease",
    "coronary artery disease",
    "acute kidney injury",
    "cellulitis of the left leg",
    "anemia",
    "hypothyroidism",
    "obstructive sleep apnea",
]
_SYMPTOMS = [
    "chest pain",
    "shortness of breath",
    "nausea",
    "vomiting",
    "headache",
    "dizziness",
    "fatigue",
    "cough",
    "fever",
    "abdominal pain",
    "back pain",
    "swelling of both legs",
    "palpitations",
    "loss of appetite",
    "burning on urination",
]
_MEDS = [
    ("lisinopril", "10 mg", "daily"),
    ("metformin", "500 mg", "twice daily"),
    ("atorvastatin", "40 mg", "at bedtime"),
    ("aspirin", "81 mg", "daily"),
    ("furosemide", "20 mg", "every morning"),
    ("metoprolol", "25 mg", "BID"),
    ("levothyroxine", "75 mcg", "daily"),
    ("albuterol", "2 puffs", "every 4 hours as needed"),
    ("amoxicillin", "500 mg", "three times daily for 10 days"),
    ("warfarin", "5 mg", "daily"),
    ("omeprazole", "20 mg", "daily"),
    ("insulin glargine", "20 units", "at bedtime"),
]
_TESTS = [
    ("Hemoglobin", "11.2 g/dL"),
    ("Creatinine", "1.4 mg/dL"),
    ("Potassium", "4.1 mmol/L"),
    ("Sodium", "138 mmol/L"),
    ("WBC", "12.3 K/uL"),
    ("Glucose", "182 mg/dL"),
    ("BP", "142/88 mmHg"),
    ("HR", "96 bpm"),
    ("Temperature", "38.2 C"),
    ("A1c", "8.1 %"),
]


def synthetic_note(rng: random.Random, size: int) -> str:
    """A deterministic synthetic clinical note of about ``size`` characters."""
    parts: list[str] = []
    while sum(len(p) for p in parts) < size:
        name = rng.choice(_NAMES)
        cond = rng.sample(_CONDITIONS, 4)
        sym = rng.sample(_SYMPTOMS, 4)
        meds = rng.sample(_MEDS, 3)
        tests = rng.sample(_TESTS, 4)
        day = rng.randint(1, 28)
        parts.append(
            f"Chief Complaint: {sym[0]} for {rng.randint(2, 9)} days.\n\n"
            f"History of Present Illness: {name} is a {rng.randint(30, 88)} year old patient "
            f"seen on {rng.randint(1, 12)}/{day}/2024 who complains of {sym[0]} and {sym[1]}. "
            f"She denies {sym[2]} or {sym[3]}. No evidence of {cond[3]}.\n\n"
            f"Past Medical History: {cond[0]}, {cond[1]}. Family history of {cond[2]} "
            f"in her mother.\n\n"
            f"Medications: {meds[0][0]} {meds[0][1]} by mouth {meds[0][2]}; "
            f"{meds[1][0]} {meds[1][1]} {meds[1][2]}. She stopped taking {meds[2][0]}.\n\n"
            f"Labs: {tests[0][0]} {tests[0][1]}, {tests[1][0]} {tests[1][1]}, "
            f"{tests[2][0]} {tests[2][1]}. {tests[3][0]} was {tests[3][1]}.\n\n"
            f"Assessment and Plan: {cond[0]}, possible {cond[3]}. Continue {meds[0][0]}. "
            f"Chest x-ray today. If {sym[1]} worsens she should return. "
            f"Call Dr. {name.split()[1]} at "
            f"555-{rng.randint(100, 999)}-{rng.randint(1000, 9999)}.\n"
        )
    return "".join(parts)


def document(text: str, doc_id: str, *, patient: str | None = None) -> dict[str, Any]:
    """A DocumentReference holding ``text`` inline (base64 ``text/plain; charset=utf-8``)."""
    return {
        "resourceType": "DocumentReference",
        "id": doc_id,
        "status": "current",
        "subject": {"reference": f"Patient/{patient or 'bench-' + doc_id[-2:]}"},
        "content": [
            {
                "attachment": {
                    "contentType": "text/plain; charset=utf-8",
                    "data": base64.b64encode(text.encode("utf-8")).decode("ascii"),
                }
            }
        ],
    }


def sample_notes(samples: Path = SAMPLES) -> list[tuple[dict[str, Any], str, NlpResult | None]]:
    """``(document, text, recorded result or None)`` of every sample that has text."""
    from enrich.text import extract_text

    found: list[tuple[dict[str, Any], str, NlpResult | None]] = []
    for path in sorted(samples.glob("*.json")):
        doc = json.loads(path.read_text(encoding="utf-8"))
        extracted = extract_text(doc)
        if extracted is None or not extracted.text:
            continue
        recorded = samples / "nlp" / path.name
        result = (
            NlpResult.model_validate_json(recorded.read_bytes()) if recorded.is_file() else None
        )
        found.append((doc, extracted.text, result))
    return found


class RecordedEngine:
    """Answers each known text with its recorded result, held in memory: no NLP cost, no I/O
    (the figures are then enrichment and store write alone).

    Args:
        results: ``{text: NlpResult}``.
        version: the engine version recorded in the documents (default ``bench``).
    """

    name = "replay"

    def __init__(self, results: dict[str, NlpResult], *, version: str = "bench") -> None:
        self.results = results
        self.version = version

    def analyze(self, text: str) -> NlpResult:
        """The recorded result of ``text`` (``KeyError`` for an unknown text)."""
        return self.results[text]


def write_ndjson(path: Path, docs: Iterable[dict[str, Any]]) -> Path:
    """One compact JSON document per line."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as out:
        for doc in docs:
            out.write(json.dumps(doc, separators=(",", ":")) + "\n")
    return path
