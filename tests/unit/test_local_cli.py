"""``docref-nlp analyze`` input handling and the deterministic notes of ``docref-nlp bench``."""

from __future__ import annotations

import random

import pytest
import typer

from cli.analyze_cmd import _jsonl_rows
from cli.bench.notes import synthetic_note


def test_jsonl_rows() -> None:
    text = '{"id": 1, "text": "No fever."}\n\n{"id": "b", "text": "Cough."}\n'
    assert list(_jsonl_rows(text)) == [(1, "No fever."), ("b", "Cough.")]


def test_jsonl_rows_reports_the_bad_line_with_a_code() -> None:
    with pytest.raises(typer.BadParameter, match=r"\[NLP256\] line 2"):
        list(_jsonl_rows('{"id": 1, "text": "a"}\n{"text": "no id"}\n'))


def test_synthetic_notes_are_deterministic_and_sized() -> None:
    a = synthetic_note(random.Random(7), 2000)
    b = synthetic_note(random.Random(7), 2000)
    assert a == b
    assert len(a) >= 2000
    assert "Medications:" in a
    assert synthetic_note(random.Random(8), 2000) != a
