"""Subprocess helpers: the Medplum upstream (node) and our service (uvicorn), both on loopback."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
NODE_DIR = ROOT / "tests" / "node"
MEDPLUM_SERVER = NODE_DIR / "medplum-server.mjs"


def require_node() -> str:
    """The node binary, or skip (with the reason) when node or the npm packages are missing."""
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    if not (NODE_DIR / "node_modules" / "@medplum" / "fhir-router").is_dir():
        pytest.skip("tests/node/node_modules missing: run `make node` (npm ci in tests/node)")
    return node


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(
    predicate: Callable[[], Any], timeout_s: float, what: str, step_s: float = 0.05
) -> Any:
    deadline = time.monotonic() + timeout_s
    last: Any = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(step_s)
    raise AssertionError(f"timed out after {timeout_s} s waiting for {what} (last: {last!r})")


class Medplum:
    """The upstream FHIR server process (Medplum FhirRouter + MemoryRepository)."""

    def __init__(self) -> None:
        node = require_node()
        self.proc = subprocess.Popen(
            [node, str(MEDPLUM_SERVER)], cwd=NODE_DIR, stdout=subprocess.PIPE, text=True
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().strip()
        if not line.startswith("LISTENING "):
            self.stop()
            raise RuntimeError(f"medplum server did not start: {line!r}")
        self.base = line.split()[1]  # http://127.0.0.1:PORT/fhir/
        self.root = self.base.removesuffix("fhir/")
        self.http = httpx.Client(timeout=10)

    def subscribe(
        self, endpoint: str, payload: str, repeat: int = 1, headers: dict[str, str] | None = None
    ) -> str:
        self.http.post(self.root + "$test/reset")
        r = self.http.post(
            self.root + "$test/subscribe",
            json={
                "endpoint": endpoint,
                "payload": payload,
                "repeat": repeat,
                "headers": headers or {},
            },
        )
        r.raise_for_status()
        return str(r.json()["id"])

    def deliveries(self) -> list[dict[str, Any]]:
        return list(self.http.get(self.root + "$test/notifications").json()["deliveries"])

    def create(self, resource: dict[str, Any]) -> dict[str, Any]:
        r = self.http.post(self.base + resource["resourceType"], json=resource)
        r.raise_for_status()
        return dict(r.json())

    def read(self, resource_type: str, resource_id: str) -> dict[str, Any]:
        return dict(self.http.get(f"{self.base}{resource_type}/{resource_id}").json())

    def versions(self, resource_type: str, resource_id: str) -> int:
        history = self.http.get(f"{self.base}{resource_type}/{resource_id}/_history").json()
        return len(history.get("entry") or [])

    def derived_from(self, doc_id: str) -> list[str]:
        """``Type/id`` of every stored resource (not the document) that mentions the document."""
        refs = []
        for rtype in ("Condition", "Observation", "MedicationStatement", "Linkage", "Provenance"):
            bundle = self.http.get(f"{self.base}{rtype}", params={"_count": "1000"}).json()
            for entry in bundle.get("entry") or []:
                res = entry["resource"]
                if f"DocumentReference/{doc_id}" in json.dumps(res):
                    refs.append(f"{rtype}/{res['id']}")
        return sorted(refs)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


SERVE = (
    "import uvicorn\n"
    "from api.app import create_app\n"
    "from api.settings import Settings\n"
    "s = Settings.from_env()\n"
    "uvicorn.run(create_app(s), host=s.host, port=s.port, log_level='warning')\n"
)


class Service:
    """Our service (uvicorn, loopback) in a subprocess, so that it can be SIGKILLed."""

    def __init__(
        self, env: dict[str, str], port: int | None = None, log: Path | None = None
    ) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self.env = {
            **os.environ,
            **env,
            "DOCREF_NLP_HOST": "127.0.0.1",
            "DOCREF_NLP_PORT": str(self.port),
        }
        self.log = log
        self.http = httpx.Client(timeout=10)
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Service:
        out = self.log.open("ab") if self.log else subprocess.DEVNULL
        self.proc = subprocess.Popen(
            [sys.executable, "-c", SERVE], cwd=ROOT, env=self.env, stdout=out, stderr=out
        )

        def up() -> bool:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise RuntimeError(f"service exited with {self.proc.returncode}; see {self.log}")
            try:
                return self.http.get(self.url + "status").status_code == 200
            except httpx.TransportError:
                return False

        wait_for(up, 60, "the service to answer /status", step_s=0.1)
        return self

    def status(self) -> dict[str, Any]:
        return dict(self.http.get(self.url + "status").json())

    def idle(self) -> bool:
        q = self.status()["queue"]
        return bool(q["pending"] == 0 and q["processing"] == 0)

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
