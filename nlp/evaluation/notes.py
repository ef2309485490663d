"""Nursing-note gold (``data/notes-gold.json``): mentions with assertion labels in deid notes.

The gold file holds offsets and labels only; the text comes from ``deid/id.text`` of the shared
data (GPL, never vendored). Header keys read here:

* ``categories`` / ``labels``: what the gold annotates by default;
* ``notes``: ``{id, split, batch}`` (``id`` = ``patient-note``), optionally with their own
  ``categories`` / ``labels``; ``batches`` (optional) maps a batch name to ``categories`` /
  ``labels``. The most specific one wins (note, then batch, then header);
* ``mentions``: ``{note, begin, end, category, <label>: bool, ...}``.

A label is scored for a mention only when its note's batch annotates it and the mention carries
the key; a category is scored only in notes that annotate it (predictions of other categories
are neither credited nor penalised there). Gold mentions have no Comprehend type, so the corpus
is scored per category (``LoadedCorpus.untyped``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from importlib import resources
from pathlib import Path
from typing import Any

from nlp.evaluation.deid import parse_records
from nlp.evaluation.types import LABEL_TRAITS, EvalDocument, GoldMention, Scope

SPLITS = ("dev", "test", "all")
GOLD_FILE = "notes-gold.json"


class NotesFormatError(ValueError):
    """The gold file does not fit the notes it points into."""


def gold_path() -> Path:
    """The gold file shipped with the package."""
    return Path(str(resources.files("nlp.evaluation") / "data" / GOLD_FILE))


def _strings(value: Any) -> list[str] | None:
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise NotesFormatError("[NLP714] categories and labels must be lists of strings")
    return list(value)


def _annotated(gold: Mapping[str, Any], note: Mapping[str, Any], key: str) -> frozenset[str]:
    """What ``note`` annotates under ``key`` (note, then its batch, then the header)."""
    batches: Mapping[str, Any] = gold.get("batches") or {}
    batch = batches.get(str(note.get("batch", ""))) or {}
    for source in (note, batch, gold):
        found = _strings(source.get(key))
        if found is not None:
            return frozenset(found)
    return frozenset()


def build_documents(
    gold: Mapping[str, Any], records: Mapping[tuple[int, int], str], split: str
) -> tuple[list[EvalDocument], Scope]:
    """Documents of ``split`` with their gold, and the union of their categories as the scope.

    Raises:
        NotesFormatError: a mention outside its note, of an unlisted note or of a category its
            note does not annotate; an unknown label; a note missing from the text file.
    """
    if split not in SPLITS:
        raise NotesFormatError(f"[NLP715] unknown split {split!r}; choose from {SPLITS}")
    by_note: dict[str, list[Mapping[str, Any]]] = {}
    for m in gold.get("mentions", []):
        by_note.setdefault(str(m["note"]), []).append(m)
    listed = {str(n["id"]) for n in gold.get("notes", [])}
    stray = set(by_note) - listed
    if stray:
        raise NotesFormatError(f"[NLP714] {len(stray)} notes have mentions but are not listed")
    docs: list[EvalDocument] = []
    categories: set[str] = set()
    for note in gold.get("notes", []):
        if split != "all" and note.get("split") != split:
            continue
        note_id = str(note["id"])
        patient, _, number = note_id.partition("-")
        body = records.get((int(patient), int(number)))
        if body is None:
            raise NotesFormatError("[NLP712] a gold note is missing from the text file")
        cats = _annotated(gold, note, "categories")
        labels = _annotated(gold, note, "labels")
        unknown = labels - set(LABEL_TRAITS)
        if unknown:
            raise NotesFormatError(f"[NLP714] unknown labels {sorted(unknown)}")
        mentions = by_note.get(note_id, [])
        docs.append(
            EvalDocument(note_id, body, _gold(mentions, body, cats, labels), scope=Scope(cats))
        )
        categories |= cats
    return docs, Scope(frozenset(categories))


def _gold(
    mentions: Sequence[Mapping[str, Any]],
    body: str,
    categories: frozenset[str],
    labels: frozenset[str],
) -> list[GoldMention]:
    out: list[GoldMention] = []
    for m in mentions:
        begin, end, category = int(m["begin"]), int(m["end"]), str(m["category"])
        if not 0 <= begin < end <= len(body):
            raise NotesFormatError("[NLP713] a gold mention lies outside its note")
        if category not in categories:
            raise NotesFormatError(f"[NLP714] {category} is not annotated in its note's batch")
        scored = [label for label in sorted(labels) if label in m]
        traits = frozenset(LABEL_TRAITS[label] for label in scored if m[label])
        scope = frozenset(LABEL_TRAITS[label] for label in scored)
        out.append(GoldMention(begin, end, category, "", traits=traits, trait_scope=scope))
    out.sort(key=lambda g: (g.begin, g.end))
    return out


def read_notes(
    data_dir: Path, split: str, path: Path | None = None
) -> tuple[list[EvalDocument], Scope, dict[str, Any]]:
    """Read the gold (default: the packaged file) and the deid note bodies it points into.

    Returns:
        The documents of ``split``, their scope, and the gold header (without the mentions).
    """
    gold: dict[str, Any] = json.loads((path or gold_path()).read_text(encoding="utf-8"))
    records = parse_records((data_dir / "deid" / "id.text").read_text(encoding="utf-8"))
    docs, scope = build_documents(gold, records, split)
    header = {k: v for k, v in gold.items() if k not in ("mentions", "notes", "patient_split")}
    return docs, scope, header
