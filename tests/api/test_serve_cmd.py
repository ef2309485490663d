"""``docref-nlp serve``: options and environment reach the settings; unsafe binding is refused."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from cli.main import app


@pytest.fixture
def captured(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    import uvicorn

    seen: dict[str, Any] = {}

    def fake_run(asgi: Any, **kwargs: Any) -> None:
        seen["app"] = asgi
        seen.update(kwargs)

    monkeypatch.setattr(uvicorn, "run", fake_run)
    for name in ("HOST", "PORT", "DB_PATH", "ENGINE", "PROFILE", "LOAD_SAMPLES", "CONFIG"):
        monkeypatch.delenv(f"DOCREF_NLP_{name}", raising=False)
    return seen


def test_options_and_environment(
    captured: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DOCREF_NLP_PROFILE", "healthlake")
    monkeypatch.setenv("DOCREF_NLP_LOAD_SAMPLES", "true")
    db = tmp_path / "var" / "db.sqlite"
    result = CliRunner().invoke(
        app, ["serve", "--port", "9123", "--db", str(db), "--engine", "replay:/x"]
    )
    assert result.exit_code == 0, result.output
    assert captured["host"] == "127.0.0.1"
    assert captured["port"] == 9123
    assert captured["access_log"] is False
    settings = captured["app"].state.settings
    assert settings.db_path == str(db)
    assert settings.engine == "replay:/x"
    assert settings.profile == "healthlake"
    assert settings.load_samples is True


def test_binding_beyond_loopback_needs_tokens(
    captured: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    result = CliRunner().invoke(app, ["serve", "--host", "0.0.0.0"])
    assert result.exit_code == 2
    assert "[NLP901]" in result.output
    assert "app" not in captured
    monkeypatch.setenv("DOCREF_NLP_API_TOKENS", "token-one-0123456789")
    monkeypatch.setenv("DOCREF_NLP_WEBHOOK_SECRET", "secret-one-0123456789")
    result = CliRunner().invoke(app, ["serve", "--host", "0.0.0.0"])
    assert result.exit_code == 0, result.output
    assert captured["host"] == "0.0.0.0"
