"""Exposure (issue 9): only positively-loopback hosts run open; secrets are long, compared in
constant time; `serve` refuses the rest with coded messages."""

from __future__ import annotations

import hmac
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from api import deps
from api.app import create_app
from api.deps import secret_matches
from api.settings import MIN_SECRET_CHARS, Settings, SettingsError, is_loopback_host
from cli.main import app as cli
from tests.api.conftest import make_settings
from tests.fakes import FakeEngine

TOKEN = "api-token-0123456789"
SECRET = "hook-secret-0123456789"


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.8.9.10", True),
        ("::1", True),
        ("[::1]", True),
        ("::ffff:127.0.0.1", True),
        ("localhost", True),
        ("", False),  # uvicorn binds every interface
        ("   ", False),
        ("0.0.0.0", False),
        ("::", False),
        ("[::]", False),
        ("10.1.2.3", False),
        ("::ffff:10.1.2.3", False),
        ("example.invalid", False),  # a name that does not resolve is not loopback
    ],
)
def test_only_positively_loopback_hosts_count_as_loopback(host: str, loopback: bool) -> None:
    assert is_loopback_host(host) is loopback
    assert Settings(host=host).is_loopback is loopback


@pytest.mark.parametrize("host", ["", "0.0.0.0", "::", "192.0.2.7"])
def test_every_interface_needs_tokens_and_a_secret(host: str) -> None:
    with pytest.raises(SettingsError, match=r"^\[NLP901\].*API_TOKENS and .*WEBHOOK_SECRET"):
        Settings(host=host).check_exposure()
    Settings(host=host, api_tokens=[TOKEN], webhook_secret=SECRET).check_exposure()


def test_empty_host_from_the_environment_is_refused() -> None:
    settings = Settings.from_env({"DOCREF_NLP_HOST": ""})
    with pytest.raises(SettingsError, match=r"every interface \(empty host\)"):
        settings.check_exposure()


@pytest.mark.parametrize(
    "overrides",
    [
        {"webhook_secret": " " * 20},  # whitespace only
        {"webhook_secret": "short"},
        {"webhook_secret": "sixteen chars!!x" + " "},  # trailing space: a copy-paste slip
        {"api_tokens": ["t"]},
        {"api_tokens": f"{TOKEN},x"},  # one short token among good ones
        {"api_tokens": "with space 0123456789"},
    ],
)
def test_short_or_blank_secrets_are_refused(overrides: dict[str, Any]) -> None:
    with pytest.raises(SettingsError, match=r"^\[NLP902\] .* at least 16 characters") as caught:
        Settings.from_env({}, **overrides)
    for value in overrides.values():  # never the secret itself in the message
        for part in [value] if isinstance(value, str) else value:
            if len(part.strip()) >= 4:
                assert part.strip() not in str(caught.value)


def test_empty_secret_from_the_environment_means_none() -> None:
    settings = Settings.from_env({"DOCREF_NLP_WEBHOOK_SECRET": ""})
    assert settings.webhook_secret is None
    assert MIN_SECRET_CHARS == 16


def test_secret_matches_any_known_secret_exactly() -> None:
    known = [TOKEN, SECRET]
    assert secret_matches(TOKEN, known)
    assert secret_matches(SECRET, known)
    assert not secret_matches(TOKEN[:-1], known)  # a prefix is not the token
    assert not secret_matches(TOKEN + "x", known)
    assert not secret_matches("", known)
    assert not secret_matches(TOKEN, [])


def test_secret_comparison_checks_every_token_whatever_matches(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[tuple[int, int]] = []
    real = hmac.compare_digest

    def counting(a: bytes, b: bytes) -> bool:
        calls.append((len(a), len(b)))
        return real(a, b)

    monkeypatch.setattr(deps.hmac, "compare_digest", counting)
    known = [TOKEN, SECRET, "third-token-0123456789"]
    assert secret_matches(TOKEN, known)  # the first one matches: still three comparisons
    assert not secret_matches("wrong-0123456789abcdef", known)
    # constant time: digests of equal length, every known secret compared each time
    assert calls == [(32, 32)] * 6


def test_api_and_webhook_use_the_constant_time_check(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[str] = []
    real = deps.secret_matches

    def spy(given: str, known: Any) -> bool:
        seen.append("call")
        return real(given, known)

    monkeypatch.setattr(deps, "secret_matches", spy)
    monkeypatch.setattr("api.routes.webhook.secret_matches", spy)
    settings = make_settings(api_tokens=[TOKEN], webhook_secret=SECRET)
    with TestClient(create_app(settings, engine=FakeEngine()), raise_server_exceptions=False) as c:
        auth = {"Authorization": f"Bearer {TOKEN}"}
        assert c.get("/DocumentReference", headers=auth).status_code == 200
        assert c.get("/DocumentReference", headers={"Authorization": "Bearer x"}).status_code == 401
        hook = c.post("/webhook", content=b"", headers={"X-Webhook-Secret": SECRET})
        assert hook.status_code == 200
        assert c.post("/webhook", content=b"", headers={"X-Webhook-Secret": "x"}).status_code == 401
    assert len(seen) == 4


@pytest.fixture
def no_uvicorn(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    import uvicorn

    seen: dict[str, Any] = {}
    monkeypatch.setattr(uvicorn, "run", lambda asgi, **kw: seen.update(kw, app=asgi))
    for name in ("HOST", "API_TOKENS", "WEBHOOK_SECRET", "DB_PATH", "CONFIG", "LOG_LEVEL"):
        monkeypatch.delenv(f"DOCREF_NLP_{name}", raising=False)
    return seen


def test_serve_refuses_an_empty_host(no_uvicorn: dict[str, Any], monkeypatch: Any) -> None:
    result = CliRunner().invoke(cli, ["serve", "--host", ""])
    assert result.exit_code == 2
    assert "[NLP901]" in result.output
    monkeypatch.setenv("DOCREF_NLP_HOST", "")
    result = CliRunner().invoke(cli, ["serve"])
    assert result.exit_code == 2
    assert "[NLP901]" in result.output
    assert "app" not in no_uvicorn  # never bound


def test_serve_refuses_a_blank_secret(no_uvicorn: dict[str, Any], monkeypatch: Any) -> None:
    monkeypatch.setenv("DOCREF_NLP_WEBHOOK_SECRET", "   ")
    result = CliRunner().invoke(cli, ["serve"])
    assert result.exit_code == 2
    assert result.output.startswith("[NLP902]")
    assert "Traceback" not in result.output
