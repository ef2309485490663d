"""The throwaway server helper: a clear reason when PostgreSQL is not installed."""

from __future__ import annotations

import pytest

from cli.bench import pgserver as server


def test_missing_binaries_give_a_clear_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DOCREF_NLP_PG_BIN", raising=False)
    monkeypatch.setenv("PATH", "/nonexistent")
    monkeypatch.setattr(server, "_debian_bin_dirs", list)
    with pytest.raises(server.ServerUnavailable, match=r"ensure-postgres\.sh"):
        server.find_bin_dir()


def test_configured_binaries_win(monkeypatch: pytest.MonkeyPatch) -> None:
    found = server._debian_bin_dirs()
    if not found:
        pytest.skip("PostgreSQL not installed")
    monkeypatch.setenv("DOCREF_NLP_PG_BIN", found[-1])
    assert str(server.find_bin_dir()) == found[-1]
