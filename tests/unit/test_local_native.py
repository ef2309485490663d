"""The guard of the compiled local engine (nlp/local/native.py): a compiled module whose source
changed after the build is never run; its source is imported instead."""

from __future__ import annotations

import importlib
import importlib.machinery
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from nlp.local import native

SUFFIX = importlib.machinery.EXTENSION_SUFFIXES[0]


@pytest.fixture
def package(tmp_path: Path) -> Iterator[Path]:
    """``pkgnative_t``: two modules with (fake, unloadable) compiled files beside them."""
    folder = tmp_path / "pkgnative_t"
    folder.mkdir()
    (folder / "__init__.py").write_text("", encoding="utf-8")
    for name in ("alpha", "beta"):
        (folder / f"{name}.py").write_text(f"WHO = 'source {name}'\n", encoding="utf-8")
        (folder / f"{name}{SUFFIX}").write_bytes(b"not an extension")
    (folder / "plain.py").write_text("WHO = 'plain'\n", encoding="utf-8")
    sys.path.insert(0, str(tmp_path))
    before = list(sys.meta_path)
    yield folder
    sys.meta_path[:] = before
    sys.path.remove(str(tmp_path))
    for mod in [m for m in sys.modules if m.startswith("pkgnative_t")]:
        del sys.modules[mod]


def test_compiled_modules_are_those_with_an_extension_beside_their_source(package: Path) -> None:
    (package / f"orphan{SUFFIX}").write_bytes(b"")
    assert native.compiled_modules(package) == ["alpha", "beta"]
    assert native.compiled_modules(package.parent) == []


def test_fresh_build_is_used_and_any_change_makes_it_stale(
    package: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(native.PURE_ENV, raising=False)
    assert native.stale_reason(package) == "no readable build manifest"
    native.write_manifest(["alpha", "beta"], package)
    assert native.stale_reason(package) is None
    monkeypatch.setenv(native.PURE_ENV, "1")
    assert native.stale_reason(package) == f"{native.PURE_ENV}=1"
    monkeypatch.delenv(native.PURE_ENV)
    (package / "beta.py").write_text("WHO = 'edited'\n", encoding="utf-8")
    assert native.stale_reason(package) == "their sources changed since they were compiled"
    native.write_manifest(["alpha"], package)
    assert native.stale_reason(package) == "the compiled modules are not those of the last build"


def test_stale_build_imports_every_compiled_module_from_its_source(
    package: Path, caplog: pytest.LogCaptureFixture
) -> None:
    native.write_manifest(["alpha", "beta"], package)
    (package / "alpha.py").write_text("WHO = 'edited alpha'\n", encoding="utf-8")
    with caplog.at_level("WARNING"):
        mode = native.choose("pkgnative_t", package)
    assert mode == "source: their sources changed since they were compiled"
    assert "make install" in caplog.text
    # the fake extensions would fail to load: both modules come from their sources
    assert importlib.import_module("pkgnative_t.alpha").WHO == "edited alpha"
    assert importlib.import_module("pkgnative_t.beta").WHO == "source beta"
    assert importlib.import_module("pkgnative_t.plain").WHO == "plain"
    native.choose("pkgnative_t", package)  # once only
    assert sum(isinstance(f, native.SourceFirst) for f in sys.meta_path) == 1


def test_nothing_compiled_means_sources_and_no_finder(tmp_path: Path) -> None:
    assert native.choose("nothing_here", tmp_path) == "source"
    assert not any(isinstance(f, native.SourceFirst) for f in sys.meta_path)


def test_the_engine_reports_how_it_runs_and_the_make_check_agrees() -> None:
    assert native.MODE == "compiled" or native.MODE.startswith("source")
    run = subprocess.run(
        [sys.executable, str(Path(native.__file__))], capture_output=True, text=True, check=False
    )
    assert run.returncode == (0 if native.MODE in ("compiled", "source") else 1)
