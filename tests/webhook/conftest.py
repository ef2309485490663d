"""Fakes for the webhook tests: a replaying engine, an in-memory upstream FHIR server, a clock."""

from __future__ import annotations

import base64
import copy
import json
import threading
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from api.store.http import UpstreamError
from nlp.base import TransientEngineError
from nlp.schema import NlpResult

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "comprehend"
NOTE = (FIXTURES / "infer-icd10cm.abdominal-pain.input.txt").read_text(encoding="utf-8")


def replay_result() -> dict[str, Any]:
    """An NlpResult JSON (one ICD-10-CM entity: abdominal pain) for ``NOTE``."""
    icd = json.loads((FIXTURES / "infer-icd10cm.abdominal-pain.json").read_text(encoding="utf-8"))
    return {"InferICD10CM": icd}


def crash_env(tmp_path: Path, delay_s: float, **upstream: str) -> tuple[Path, dict[str, str]]:
    """``(db_path, environment)`` of a service in a subprocess for the crash tests: a SQLite
    file, the replay engine (``replay_result``) slowed by ``delay_s``, one intake worker, and
    the ``DOCREF_NLP_*`` upstream settings given (``UPSTREAM="fhir"``, ``UPSTREAM_URL=...``)."""
    replay = tmp_path / "replay.json"
    replay.write_text(json.dumps(replay_result()), encoding="utf-8")
    db_path = tmp_path / "svc.sqlite"
    env = {
        "DOCREF_NLP_DB_PATH": str(db_path),
        "DOCREF_NLP_ENGINE": f"replay:{replay}",
        "DOCREF_NLP_INTAKE_WORKERS": "1",
        "DOCREF_NLP_TEST_ENGINE_DELAY_S": str(delay_s),
        **{f"DOCREF_NLP_{name}": value for name, value in upstream.items()},
    }
    return db_path, env


def document(doc_id: str = "doc-1", text: str = NOTE, version: str | None = "1") -> dict[str, Any]:
    doc: dict[str, Any] = {
        "resourceType": "DocumentReference",
        "id": doc_id,
        "status": "current",
        "subject": {"reference": "Patient/p1"},
        "content": [
            {
                "attachment": {
                    "contentType": "text/plain; charset=utf-8",
                    "data": base64.b64encode(text.encode()).decode(),
                }
            }
        ],
    }
    if version:
        doc["meta"] = {"versionId": version, "lastUpdated": "2026-01-01T00:00:00Z"}
    return doc


class FakeEngine:
    """Replays one recorded result; can fail transiently a given number of times."""

    name = "replay"
    version = "test-1"

    def __init__(self, fail_times: int = 0) -> None:
        self.calls = 0
        self.fail_times = fail_times
        self._lock = threading.Lock()

    def analyze(self, text: str) -> NlpResult:
        with self._lock:
            self.calls += 1
            if self.calls <= self.fail_times:
                raise TransientEngineError("throttled (test)")
        return NlpResult.model_validate(replay_result())


class FakeUpstream:
    """An in-memory FHIR server (FhirStore): versioned resources, counted writes."""

    def __init__(self) -> None:
        self.resources: dict[str, dict[str, Any]] = {}
        self.versions: dict[str, int] = {}
        self.transactions = 0
        self.lock = threading.Lock()
        self.deleted: set[str] = set()

    def delete(self, key: str) -> None:
        """Delete ``Type/id`` as a FHIR server does: reads then answer 410 Gone."""
        self.resources.pop(key, None)
        self.deleted.add(key)

    def request(self, method: str, url: str) -> SimpleNamespace:
        """The status a GET of ``Type/id`` answers (200, 404, or 410 once deleted)."""
        if url in self.resources:
            return SimpleNamespace(status_code=200)
        return SimpleNamespace(status_code=410 if url in self.deleted else 404)

    def put(self, resource: dict[str, Any]) -> dict[str, Any]:
        key = f"{resource['resourceType']}/{resource['id']}"
        with self.lock:
            v = self.versions.get(key, 0) + 1
            self.versions[key] = v
            stored = copy.deepcopy(resource)
            stored["meta"] = {**(resource.get("meta") or {}), "versionId": str(v)}
            self.resources[key] = stored
            return copy.deepcopy(stored)

    def read(self, resource_type: str, resource_id: str) -> dict[str, Any] | None:
        r = self.resources.get(f"{resource_type}/{resource_id}")
        return copy.deepcopy(r) if r else None

    def save_all(
        self, resources: Sequence[dict[str, Any]], *, delete: Sequence[str] = ()
    ) -> list[dict[str, Any]]:
        for r in resources:  # If-Match, as HttpFhirStore sends it for versioned resources
            sent = (r.get("meta") or {}).get("versionId")
            current = self.versions.get(f"{r['resourceType']}/{r['id']}")
            if sent is not None and current is not None and sent != str(current):
                raise UpstreamError("precondition failed (test)", code="NLP501", status=412)
        self.transactions += 1
        out = [self.put(r) for r in resources]
        for ref in delete:
            self.resources.pop(ref, None)
        return out

    def search(self, resource_type: str, params: Sequence[tuple[str, str]]) -> dict[str, Any]:
        entries = [
            {"resource": r} for k, r in self.resources.items() if k.startswith(resource_type + "/")
        ]
        return {
            "resourceType": "Bundle",
            "type": "searchset",
            "total": len(entries),
            "entry": entries,
        }

    def of_type(self, resource_type: str) -> list[str]:
        return sorted(k for k in self.resources if k.startswith(resource_type + "/"))


def fixed_clock() -> datetime:
    return datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def new_id() -> str:
    return str(uuid.uuid4())
