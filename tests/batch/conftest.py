"""Fixtures of the batch tests: the fake engine spec, NDJSON inputs, an S3 server (moto)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from api.batch.checkpoint import Checkpoint
from api.batch.pool import SerialExecutor
from api.batch.work import DocProcessor
from tests.batch.fake_engine import SPEC
from tests.batch.synth import documents, write_ndjson

NOW = "2026-01-02T03:04:05+00:00"


@pytest.fixture
def processor() -> DocProcessor:
    return DocProcessor(SPEC, {}, NOW)


@pytest.fixture
def serial(processor: DocProcessor) -> SerialExecutor:
    return SerialExecutor(processor)


@pytest.fixture
def ndjson_input(tmp_path: Path) -> Path:
    """Forty documents in a bulk-export-like folder (plus a Patient file that is ignored)."""
    folder = tmp_path / "export"
    write_ndjson(folder / "DocumentReference-0.ndjson", documents(40))
    (folder / "Patient-0.ndjson").write_text('{"resourceType":"Patient","id":"p-1"}\n')
    return folder


def make_checkpoint(tmp_path: Path, source: str, engine: str = "fake-keyword@1.0") -> Checkpoint:
    return Checkpoint(tmp_path / "ck.sqlite", source=source, engine=engine)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """A moto S3 server on a free loopback port (real HTTP, boto3 talks to it)."""
    from moto.server import ThreadedMotoServer

    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


@pytest.fixture
def s3_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fake credentials so boto3 signs requests for the moto server (never real AWS)."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.delenv("AWS_PROFILE", raising=False)


@pytest.fixture
def s3(s3_endpoint: str, s3_env: None) -> Any:
    from api.batch.storage import make_s3_client

    return make_s3_client(s3_endpoint, "us-east-1")
