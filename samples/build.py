"""Builds ``samples/*.json`` (DocumentReferences) from the notes in ``samples/notes/``.

The sample notes are data: one file per clinical situation (plain text, HTML, or bytes) and
``notes/index.json`` (id, patient, date, contentType, encounter, description, the attachment's
encoding). The recorded NLP results in ``samples/nlp/`` are data too (offsets into the decoded,
HTML-reduced text). ``--check`` writes nothing: it verifies that the built documents are the
committed ones, byte for byte, and that every recorded offset still points at its text.

    PYTHONPATH=. .venv/bin/python samples/build.py           # (re)write samples/*.json
    PYTHONPATH=. .venv/bin/python samples/build.py --check   # what tests/api/test_samples.py runs
"""

from __future__ import annotations

import base64
import json
import sys
from pathlib import Path
from typing import Any

from enrich.text import extract_text

HERE = Path(__file__).resolve().parent
NOTES = HERE / "notes"

Json = dict[str, Any]
_CATEGORY = "http://hl7.org/fhir/us/core/CodeSystem/us-core-documentreference-category"


def index() -> list[Json]:
    """The samples, in the order of ``notes/index.json``."""
    rows: list[Json] = json.loads((NOTES / "index.json").read_text(encoding="utf-8"))
    return rows


def attachment_bytes(row: Json) -> bytes:
    """The note as the attachment holds it (text encoded with ``encoding``, or the raw file)."""
    raw = (NOTES / row["note"]).read_bytes()
    if row.get("binary"):
        return raw
    return raw.decode("utf-8").encode(row.get("encoding", "utf-8"))


def document(row: Json) -> Json:
    """The DocumentReference of one sample (inline base64 attachment)."""
    doc: Json = {
        "resourceType": "DocumentReference",
        "id": row["id"],
        "status": "current",
        "type": {"coding": [{"system": "http://loinc.org", "code": "34109-9", "display": "Note"}]},
        "category": [
            {"coding": [{"system": _CATEGORY, "code": "clinical-note", "display": "Clinical Note"}]}
        ],
        "subject": {"reference": f"Patient/{row['patient']}"},
        "date": row["date"],
    }
    if row.get("description"):
        doc["description"] = row["description"]
    data = base64.b64encode(attachment_bytes(row)).decode("ascii")
    doc["content"] = [{"attachment": {"contentType": row["contentType"], "data": data}}]
    if row.get("encounter"):
        doc["context"] = {"encounter": [{"reference": f"Encounter/{row['encounter']}"}]}
    return doc


def dumped(data: Json) -> str:
    """The committed form: two-space indent, non-ASCII as is, final newline."""
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def offset_errors(name: str, doc: Json) -> list[str]:
    """Recorded entities (and attributes) of ``nlp/<name>.json`` whose offsets miss their text."""
    recorded = HERE / "nlp" / f"{name}.json"
    if not recorded.is_file():
        return []
    extracted = extract_text(doc)
    text = extracted.text if extracted is not None else None
    if text is None:
        return [f"{name}: a recorded result for a sample without text"]
    errors: list[str] = []
    for operation, response in json.loads(recorded.read_text(encoding="utf-8")).items():
        for entity in response.get("Entities", []):
            for item in [entity, *entity.get("Attributes", [])]:
                begin, end = item["BeginOffset"], item["EndOffset"]
                if text[begin:end] != item["Text"]:
                    errors.append(f"{name}: {operation} Id {item['Id']} at {begin}-{end}")
    return errors


def check() -> list[str]:
    """Every difference between the notes and the committed samples (empty: all agree)."""
    problems: list[str] = []
    for row in index():
        doc = document(row)
        committed = HERE / f"{row['name']}.json"
        if not committed.is_file() or committed.read_text(encoding="utf-8") != dumped(doc):
            problems.append(f"{row['name']}.json differs from its note: rebuild it")
        problems += offset_errors(row["name"], doc)
    return problems


def main(argv: list[str]) -> int:
    """Write the samples (or only check them with ``--check``); 1 when something is off."""
    if "--check" not in argv:
        for row in index():
            (HERE / f"{row['name']}.json").write_text(dumped(document(row)), encoding="utf-8")
    problems = check()
    sys.stderr.write("".join(f"{problem}\n" for problem in problems))
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
