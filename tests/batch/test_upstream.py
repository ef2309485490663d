"""Upstream FHIR server (Medplum's FhirRouter on loopback) as source and sink of a batch run."""

from __future__ import annotations

import base64
import shutil
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest

from api.batch.checkpoint import Checkpoint
from api.batch.model import ENRICHED, UNCHANGED
from api.batch.pool import SerialExecutor
from api.batch.runner import BatchRun, RunOptions
from api.batch.sinks import UpstreamSink
from api.batch.sources import SearchSource
from tests.batch.synth import document
from tests.conftest import ROOT

NODE_DIR = ROOT / "tests" / "node"
pytestmark = pytest.mark.node


@pytest.fixture(scope="module")
def upstream_url() -> Iterator[str]:
    """``node tests/node/medplum-server.mjs --port 0``; skipped without node or its packages."""
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed (needed for the Medplum upstream server)")
    if not (NODE_DIR / "node_modules" / "@medplum" / "fhir-router").is_dir():
        pytest.skip("tests/node packages are not installed (make node)")
    proc = subprocess.Popen(
        [node, "medplum-server.mjs", "--port", "0"], cwd=NODE_DIR,
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().strip()
        if not line.startswith("LISTENING "):
            pytest.fail(f"medplum server did not start: {line!r}")
        yield line.split(" ", 1)[1]
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture
def upstream(upstream_url: str) -> Iterator[Any]:
    import httpx

    from api.store.http import HttpFhirStore

    client = httpx.Client(timeout=30.0)
    yield HttpFhirStore(upstream_url, client)
    client.close()


def _run(store: Any, serial: SerialExecutor, query: str) -> Any:
    source = SearchSource(store, query, name="upstream", page_size=7)
    ck = Checkpoint(":memory:", source=source.key, engine="fake-keyword@1.0")
    sink = UpstreamSink(store, name="medplum")
    return BatchRun(source, sink, ck, serial.identity(), RunOptions(part_size=5)).run(serial)


def test_upstream_search_to_transaction_write_back(upstream: Any, serial: SerialExecutor) -> None:
    docs = [document(i, prefix="up") for i in range(17)] + [
        document(17, "hypertension", prefix="up")
    ]
    for doc in docs:
        doc["subject"] = {"reference": "Patient/batch-up"}
    upstream.save_all(docs)
    query = "subject=Patient/batch-up"

    report = _run(upstream, serial, query)
    assert report.outcomes == {ENRICHED: 18}  # three pages of 7, all followed
    stored = upstream.read("DocumentReference", "up-000017")
    urls = {e["url"] for e in stored["extension"]}
    assert "https://docref-nlp.dev/fhir/StructureDefinition/nlp-processing" in urls
    conditions = upstream.search("Condition", [("subject", "Patient/batch-up"), ("_count", "100")])
    condition_ids = [e["resource"]["id"] for e in conditions.get("entry", [])]
    assert len(condition_ids) >= 1

    assert _run(upstream, serial, query).outcomes == {UNCHANGED: 18}

    # The note loses its diagnosis: the Condition generated from it is deleted upstream.
    stored["content"][0]["attachment"]["data"] = base64.b64encode(b"follow up only").decode()
    upstream.save_all([stored])
    again = _run(upstream, serial, query)
    assert again.outcomes == {ENRICHED: 1, UNCHANGED: 17}
    assert again.retired["Condition"] >= 1
    gone = [cid for cid in condition_ids if upstream.read("Condition", cid) is None]
    assert len(gone) == again.retired["Condition"]
