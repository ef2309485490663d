"""Synthetic DocumentReferences (made-up text, no PHI) for the batch tests."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from cli.bench.notes import document as bench_document
from cli.bench.notes import write_ndjson as write_ndjson

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
    """A DocumentReference with the note inline as base64 text/plain (as the benchmarks make)."""
    return bench_document(
        note(i) if text is None else text, f"{prefix}-{i:06d}", patient=f"p-{i % 50}"
    )


def documents(count: int, texts: list[str] | None = None) -> Iterator[dict[str, Any]]:
    """``count`` documents; with ``texts``, note i is text i mod n with a numbered header."""
    for i in range(count):
        if texts:
            yield document(i, f"Note {i}.\n{texts[i % len(texts)]}")
        else:
            yield document(i)
