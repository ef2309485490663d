"""Operations (issue 9): `reprocess` and `serve` refuse typos and unusable paths with coded
messages and a non-zero exit, never a traceback; `--dry-run` writes nothing."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from api.settings import SettingsError, check_db_path
from api.store.factory import open_store
from cli.main import app
from tests.batch.fake_engine import SPEC
from tests.batch.synth import documents, write_ndjson


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every default path (service database, checkpoints) under ``tmp_path``."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    for name in ("DB_PATH", "CONFIG", "LOG_LEVEL", "HOST", "WEBHOOK_SECRET", "API_TOKENS"):
        monkeypatch.delenv(f"DOCREF_NLP_{name}", raising=False)
    return tmp_path


def _documents(store: Any) -> list[dict[str, Any]]:
    bundle = store[1].search("DocumentReference", [("_count", "100")])
    return [e["resource"] for e in bundle.get("entry", [])]


def files_under(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def run(*args: str) -> Any:
    return CliRunner().invoke(app, list(args))


def test_reprocess_db_in_a_missing_folder_fails_without_creating_it(home: Path) -> None:
    result = run("reprocess", "--from", "store", "--db", str(home / "typo" / "x.sqlite"),
                 "--engine", SPEC, "--no-progress")  # fmt: skip
    assert result.exit_code == 2
    assert "[NLP903]" in result.output
    assert "Traceback" not in result.output
    assert not (home / "typo").exists()


def test_reprocess_from_a_store_that_does_not_exist_fails(home: Path) -> None:
    result = run("reprocess", "--from", "store", "--db", str(home / "absent.sqlite"),
                 "--engine", SPEC, "--no-progress")  # fmt: skip
    assert result.exit_code == 2
    assert "[NLP903] there is no database" in result.output
    assert not (home / "absent.sqlite").exists()


def test_reprocess_from_a_missing_path_fails(home: Path) -> None:
    result = run("reprocess", "--from", str(home / "nonexistent"), "--to", str(home / "out"),
                 "--engine", SPEC, "--no-progress")  # fmt: skip
    assert result.exit_code != 0
    assert "[NLP673]" in result.output
    assert not (home / "out").exists()


def test_dry_run_writes_nothing(home: Path) -> None:
    src = write_ndjson(home / "in" / "DocumentReference.ndjson", documents(5))
    before = files_under(home)
    result = run("reprocess", "--from", str(src.parent), "--to", str(home / "out"),
                 "--engine", SPEC, "--dry-run", "--no-progress")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert files_under(home) == before  # no checkpoint, no output, no database


def test_dry_run_over_the_store_writes_nothing_either(home: Path) -> None:
    src = write_ndjson(home / "in" / "DocumentReference.ndjson", documents(3))
    db = home / "svc.sqlite"
    checkpoint = str(home / "ck.sqlite")
    loaded = run("reprocess", "--from", str(src), "--to", "store", "--db", str(db),
                 "--engine", SPEC, "--no-progress", "--checkpoint", checkpoint)  # fmt: skip
    assert loaded.exit_code == 0, loaded.output
    store = open_store(str(db))
    versions = {r["id"]: r["meta"]["versionId"] for r in _documents(store)}
    store[0].close()
    before = set(files_under(home))
    result = run("reprocess", "--from", "store", "--db", str(db), "--engine", SPEC,
                 "--dry-run", "--no-progress", "--force")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "dry-run" in result.output
    assert not (home / "xdg" / "docref-nlp" / "reprocess").exists()  # no default checkpoint
    new = set(files_under(home)) - before
    assert new <= {"svc.sqlite-wal", "svc.sqlite-shm"}  # SQLite's own files of a reader
    store = open_store(str(db))
    assert {r["id"]: r["meta"]["versionId"] for r in _documents(store)} == versions
    store[0].close()


def test_serve_with_a_bogus_log_level_is_a_coded_error(home: Path) -> None:
    result = run("serve", "--log-level", "bogus", "--db", ":memory:")
    assert result.exit_code == 2
    assert result.output.startswith("[NLP900] log_level must be one of")
    assert "Traceback" not in result.output


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes anywhere: permissions cannot fail")
def test_serve_with_an_unwritable_db_is_a_coded_error(home: Path) -> None:
    locked = home / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        result = run("serve", "--db", str(locked / "x.sqlite"))
    finally:
        locked.chmod(0o700)
    assert result.exit_code == 2
    assert "[NLP903]" in result.output


def test_serve_with_a_db_path_that_cannot_be_a_file_is_a_coded_error(home: Path) -> None:
    folder = home / "a-folder.sqlite"
    folder.mkdir()
    blocker = home / "blocker"
    blocker.write_text("x")
    for db in (folder, blocker / "db.sqlite"):  # a folder; a folder that is a file
        result = run("serve", "--db", str(db))
        assert result.exit_code == 2, db
        assert result.output.startswith("[NLP903]")
        assert "Traceback" not in result.output


def test_check_db_path_rules(home: Path) -> None:
    check_db_path(":memory:")
    check_db_path("postgresql://u@h/db")
    check_db_path(str(home / "new" / "folder" / "db.sqlite"))  # serve: the folder is created
    assert (home / "new" / "folder").is_dir()
    with pytest.raises(SettingsError, match="does not exist"):
        check_db_path(str(home / "other" / "db.sqlite"), create=False)
    with pytest.raises(SettingsError, match="no database"):
        check_db_path(str(home / "new" / "folder" / "db.sqlite"), must_exist=True)
