"""Observability (issue 9): GET /metrics (Prometheus), /livez, /readyz, JSON log lines."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from api.app import create_app
from api.observability import CountingTransport, JsonFormatter, Metrics, TextFormatter
from tests.api.conftest import make_settings, put
from tests.api.nlp_data import RESULTS, STREP_TEXT, document
from tests.fakes import FakeEngine

TOKEN = "metrics-token-0123456789"


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """``{(sample name, sorted labels): value}`` of an exposition text."""
    out = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return out


@pytest.fixture
def client() -> Iterator[TestClient]:
    app = create_app(make_settings(), engine=FakeEngine(RESULTS))
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


def test_metrics_count_requests_per_route_template_documents_and_engine_time(
    client: TestClient,
) -> None:
    put(client, document(STREP_TEXT, doc_id="sentinel-id-4711"))
    put(client, document(None, doc_id="pdf-4712"))
    client.get("/DocumentReference/sentinel-id-4711")
    client.get("/DocumentReference", params={"patient": "secret-patient-0815"})
    client.get("/DocumentReference/nope")
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    text = response.text
    found = samples(text)
    read = ("method", "GET"), ("route", "/{resource_type}/{resource_id}")
    assert found[("docref_nlp_http_requests_total", (*read, ("status", "200")))] == 1
    assert found[("docref_nlp_http_requests_total", (*read, ("status", "404")))] == 1
    assert found[("docref_nlp_http_request_duration_seconds_count", read)] == 2
    put_route = ("method", "PUT"), ("route", "/{resource_type}/{resource_id}"), ("status", "201")
    assert found[("docref_nlp_http_requests_total", put_route)] == 2
    assert found[("docref_nlp_documents_total", (("status", "SUCCESS"),))] == 1
    assert found[("docref_nlp_documents_total", (("status", "UNSUPPORTED_CONTENT"),))] == 1
    assert found[("docref_nlp_engine_seconds_count", (("engine", "fake"),))] == 1
    assert found[("docref_nlp_intake_queue_depth", ())] == 0
    assert ("docref_nlp_intake_oldest_pending_age_seconds", ()) in found
    # labels are templates: no id, no query value ever reaches the metrics
    for secret in ("sentinel-id-4711", "pdf-4712", "secret-patient-0815", "nope"):
        assert secret not in text


def test_queue_depth_and_age_come_from_the_intake(tmp_path: Any) -> None:
    settings = make_settings(db_path=str(tmp_path / "q.sqlite"))
    with TestClient(create_app(settings, engine=FakeEngine(RESULTS))) as c:
        for i in range(3):
            assert c.post("/webhook", json=document(STREP_TEXT, doc_id=f"q{i}")).status_code == 202
        found = samples(c.get("/metrics").text)
        assert found[("docref_nlp_intake_queue_depth", ())] == 3
        assert found[("docref_nlp_intake_jobs", (("state", "pending"),))] == 3
        c.app.state.workers.run_once()  # type: ignore[attr-defined]
        found = samples(c.get("/metrics").text)
        assert found[("docref_nlp_intake_queue_depth", ())] == 2
        assert found[("docref_nlp_intake_jobs", (("state", "done"),))] == 1


def test_metrics_need_the_token_when_tokens_are_configured() -> None:
    app = create_app(make_settings(api_tokens=[TOKEN]), engine=FakeEngine(RESULTS))
    with TestClient(app, raise_server_exceptions=False) as c:
        assert c.get("/metrics").status_code == 401
        assert c.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
        assert c.get("/livez").status_code == 200  # probes stay open: no data in them
        assert c.get("/readyz").status_code == 200


def test_liveness_and_readiness(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    assert client.get("/livez").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"started": True, "database": True, "workers": True}
    db = client.app.state.services.db  # type: ignore[attr-defined]

    def down() -> Any:
        raise OSError("database unreachable")

    monkeypatch.setattr(db, "read", down)
    not_ready = client.get("/readyz")
    assert not_ready.status_code == 503
    assert "[NLP503] not ready: database" in not_ready.text
    assert client.get("/livez").status_code == 200  # alive though not ready


def test_readiness_before_start_and_with_dead_workers() -> None:
    app = create_app(make_settings(), engine=FakeEngine(RESULTS))
    raw = TestClient(app, raise_server_exceptions=False)  # lifespan not run: not started
    assert raw.get("/readyz").status_code == 503
    settings = make_settings(intake_workers=1)
    with TestClient(create_app(settings, engine=FakeEngine(RESULTS))) as c:
        assert c.get("/readyz").status_code == 200
        c.app.state.workers.stop()  # type: ignore[attr-defined]
        response = c.get("/readyz")
        assert response.status_code == 503
        assert "workers" in response.text


def test_upstream_failures_are_counted() -> None:
    metrics = Metrics()
    answers = iter([429, 503, 200])

    def handler(request: httpx.Request) -> httpx.Response:
        status = next(answers, None)
        if status is None:
            raise httpx.ConnectError("refused", request=request)
        return httpx.Response(status)

    transport = CountingTransport(metrics, httpx.MockTransport(handler))
    with httpx.Client(transport=transport) as http:
        assert [http.get("http://upstream.test/x").status_code for _ in range(3)] == [429, 503, 200]
        with pytest.raises(httpx.ConnectError):
            http.get("http://upstream.test/x")
    found = samples(metrics.render().decode())
    for kind in ("429", "503", "ConnectError"):
        assert found[("docref_nlp_upstream_errors_total", (("kind", kind),))] == 1


def _record(message: str, *args: Any, exc: BaseException | None = None) -> logging.LogRecord:
    info = (type(exc), exc, exc.__traceback__) if exc is not None else None
    return logging.LogRecord("api.test", logging.WARNING, __file__, 1, message, args, info)


def test_json_log_lines() -> None:
    try:
        raise ValueError("input quoted here: do not log")
    except ValueError as caught:
        exc = caught
    line = JsonFormatter().format(_record("job %d failed", 7, exc=exc))
    entry = json.loads(line)
    assert entry["message"] == "job 7 failed"
    assert (entry["level"], entry["logger"]) == ("WARNING", "api.test")
    assert entry["time"].endswith("Z")
    assert entry["exception"].startswith("ValueError at ")
    assert "do not log" not in line  # the exception's message may quote input: never logged
    text = TextFormatter().format(_record("job %d failed", 8, exc=exc))
    assert text.endswith("]")
    assert "ValueError at" in text
    assert "do not log" not in text
    assert "Traceback" not in text


def test_serve_log_format_json_configures_the_root_logger(monkeypatch: pytest.MonkeyPatch) -> None:
    import uvicorn
    from typer.testing import CliRunner

    from cli.main import app as cli

    seen: dict[str, Any] = {}
    monkeypatch.setattr(uvicorn, "run", lambda asgi, **kw: seen.update(kw))
    root = logging.getLogger()
    saved = list(root.handlers), root.level
    try:
        result = CliRunner().invoke(
            cli, ["serve", "--db", ":memory:", "--log-format", "json", "--log-level", "debug"]
        )
        assert result.exit_code == 0, result.output
        assert seen["log_config"] is None  # uvicorn keeps our handlers
        (handler,) = [h for h in root.handlers if isinstance(h.formatter, JsonFormatter)]
        stream = io.StringIO()
        handler.stream = stream  # type: ignore[attr-defined]
        logging.getLogger("api.app").info("ready")
        assert json.loads(stream.getvalue())["message"] == "ready"
        assert logging.getLogger("botocore").level == logging.WARNING  # bodies never logged
    finally:
        for h in list(root.handlers):
            root.removeHandler(h)
        for h in saved[0]:
            root.addHandler(h)
        root.setLevel(saved[1])
