"""Fixtures of the viewer tests: the samples loaded through a replaying engine, a hostile note."""

from __future__ import annotations

import base64
import copy
import json
from typing import Any

from fastapi import FastAPI

from api.app import create_app
from enrich.text import extract_text
from tests.api.conftest import make_settings
from tests.conftest import SAMPLES
from tests.fakes import FakeEngine, FixedClock

XSS_ID = "xss-0001"
XSS_TEXT = (
    "Chest pain since Monday. <script>alert(1)</script> Patient denies fever.\n"
    "<img src=x onerror=alert(2)> Takes aspirin 81 mg daily."
)
#: The sample whose stored result (by the test engine) differs from its recording.
CHANGED_SAMPLE = "negation-family-hypothetical"
CHANGED_ID = "progress-0001"


def span(text: str, needle: str) -> tuple[int, int]:
    begin = text.index(needle)
    return begin, begin + len(needle)


def _entity(
    i: int, text: str, needle: str, category: str, kind: str, traits: tuple[str, ...] = ()
) -> dict[str, Any]:
    begin, end = span(text, needle)
    return {
        "Id": i,
        "BeginOffset": begin,
        "EndOffset": end,
        "Score": 0.9,
        "Text": needle,
        "Category": category,
        "Type": kind,
        "Traits": [{"Name": t, "Score": 0.8} for t in traits],
    }


def xss_result() -> dict[str, Any]:
    """Entities of ``XSS_TEXT``: a symptom, a negated one, a medication with a dose, and a
    mention whose text is markup itself."""
    t = XSS_TEXT
    aspirin = _entity(3, t, "aspirin", "MEDICATION", "GENERIC_NAME")
    dose_begin, dose_end = span(t, "81 mg")
    aspirin["Attributes"] = [
        {
            "Type": "DOSAGE",
            "Score": 0.9,
            "RelationshipScore": 0.95,
            "Id": 4,
            "BeginOffset": dose_begin,
            "EndOffset": dose_end,
            "Text": "81 mg",
            "Category": "MEDICATION",
            "Traits": [],
        }
    ]
    pain = _entity(0, t, "Chest pain", "MEDICAL_CONDITION", "DX_NAME", ("SYMPTOM",))
    fever = _entity(1, t, "fever", "MEDICAL_CONDITION", "DX_NAME", ("NEGATION", "SYMPTOM"))
    markup = _entity(2, t, "<img src=x onerror=alert(2)>", "PROTECTED_HEALTH_INFORMATION", "URL")
    chest_pain = {"Code": "R07.9", "Description": "Chest pain, unspecified", "Score": 0.8}
    icd = dict(pain, ICD10CMConcepts=[chest_pain])
    rx = dict(aspirin, RxNormConcepts=[{"Code": "1191", "Description": "aspirin", "Score": 0.9}])
    return {
        "DetectEntitiesV2": {"Entities": [pain, fever, markup, aspirin], "ModelVersion": "t"},
        "InferICD10CM": {"Entities": [icd], "ModelVersion": "t"},
        "InferRxNorm": {"Entities": [rx], "ModelVersion": "t"},
    }


def text_document(doc_id: str, text: str, patient: str = "p-ui") -> dict[str, Any]:
    data = base64.b64encode(text.encode("utf-8")).decode("ascii")
    return {
        "resourceType": "DocumentReference",
        "id": doc_id,
        "status": "current",
        "date": "2024-03-01T10:00:00Z",
        "subject": {"reference": f"Patient/{patient}"},
        "content": [{"attachment": {"contentType": "text/plain; charset=utf-8", "data": data}}],
    }


def sample_text(name: str) -> str:
    doc = json.loads((SAMPLES / f"{name}.json").read_text(encoding="utf-8"))
    extracted = extract_text(doc)
    if extracted is None or extracted.text is None:
        raise ValueError(name)
    return extracted.text


def recorded(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((SAMPLES / "nlp" / f"{name}.json").read_text("utf-8"))
    return data


def changed_result() -> dict[str, Any]:
    """``CHANGED_SAMPLE``'s recording with its first entity dropped, a trait added to the
    second, and one entity more: the compare view finds 1 added, 1 changed, 1 removed."""
    result = copy.deepcopy(recorded(CHANGED_SAMPLE))
    entities = result["DetectEntitiesV2"]["Entities"]
    first = entities.pop(0)
    entities[0].setdefault("Traits", []).append({"Name": "PAST_HISTORY", "Score": 0.7})
    text = sample_text(CHANGED_SAMPLE)
    extra_begin, extra_end = span(text, "mother")
    entities.append(
        {
            "Id": 99,
            "BeginOffset": extra_begin,
            "EndOffset": extra_end,
            "Score": 0.5,
            "Text": text[extra_begin:extra_end],
            "Category": "PROTECTED_HEALTH_INFORMATION",
            "Type": "NAME",
            "Traits": [],
        }
    )
    for op in ("InferICD10CM", "InferRxNorm"):
        result[op]["Entities"] = [
            e
            for e in result[op]["Entities"]
            if (e["BeginOffset"], e["EndOffset"]) != (first["BeginOffset"], first["EndOffset"])
        ]
    return result


def viewer_engine() -> FakeEngine:
    """Replays every sample's recording (one changed) and the hostile note's result."""
    results: dict[str, Any] = {}
    for path in sorted((SAMPLES / "nlp").glob("*.json")):
        results[sample_text(path.stem)] = recorded(path.stem)
    results[sample_text(CHANGED_SAMPLE)] = changed_result()
    results[XSS_TEXT] = xss_result()
    return FakeEngine(results, name="fake", version="2")


def viewer_app(**settings: Any) -> FastAPI:
    """The service on ``:memory:`` with the samples loaded (``xss_document`` is PUT by tests)."""
    config = make_settings(load_samples=True, samples_dir=str(SAMPLES), **settings)
    return create_app(config, engine=viewer_engine(), clock=FixedClock())
