"""Synthetic DocumentReferences (made-up text, no PHI) for batch tests and the batch benchmark."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

SENTENCES = (
    "Patient reports a headache since Monday.",
    "History of hypertension, controlled on current therapy.",
    "Chest film shows no pneumonia.",
    "Continue aspirin 81 mg daily.",
    "Started metformin 500 mg twice daily.",
    "Follow up in two weeks.",
    "Denies fever or chills.",
)


def note(i: int, sentences: int = 4) -> str:
    """A short made-up note; the choice of sentences varies with ``i``."""
    picked = [SENTENCES[(i + k * 3) % len(SENTENCES)] for k in range(sentences)]
    return f"Visit note {i}.\n" + " ".join(picked)


def document(i: int, text: str | None = None, *, prefix: str = "doc") -> dict[str, Any]:
    """A DocumentReference with the note inline as base64 text/plain."""
    body = note(i) if text is None else text
    return {
        "resourceType": "DocumentReference",
        "id": f"{prefix}-{i:06d}",
        "status": "current",
        "subject": {"reference": f"Patient/p-{i % 50}"},
        "content": [
            {
                "attachment": {
                    "contentType": "text/plain; charset=utf-8",
                    "data": base64.b64encode(body.encode("utf-8")).decode("ascii"),
                }
            }
        ],
    }


def sample_texts(samples: Path) -> list[str]:
    """Texts of the repository's samples (for sample-derived benchmark notes), if any."""
    from enrich.text import extract_text

    texts: list[str] = []
    for path in sorted(samples.glob("*.json")):
        extracted = extract_text(json.loads(path.read_text(encoding="utf-8")))
        if extracted is not None and extracted.text:
            texts.append(extracted.text)
    return texts


def documents(count: int, texts: list[str] | None = None) -> Iterator[dict[str, Any]]:
    """``count`` documents; with ``texts``, note i is text i mod n with a numbered header."""
    for i in range(count):
        if texts:
            yield document(i, f"Note {i}.\n{texts[i % len(texts)]}")
        else:
            yield document(i)


def write_ndjson(path: Path, docs: Iterator[dict[str, Any]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as f:
        for doc in docs:
            f.write(json.dumps(doc, separators=(",", ":")) + "\n")
    return path
