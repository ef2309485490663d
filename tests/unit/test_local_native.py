"""The guard of the compiled local engine (nlp/local/native.py): a compiled module whose source
changed after the build is never run; its source is imported instead."""

from __future__ import annotations

import importlib
import importlib.machinery
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from nlp.local import native

SUFFIX = importlib.machinery.EXTENSION_SUFFIXES[0]


@contextmanager
def fake_package(tmp_path: Path, name: str) -> Iterator[Path]:
    """Package ``name`` under ``tmp_path`` (importable while open): modules ``alpha`` and
    ``beta`` with (fake, unloadable) compiled files beside them; afterwards the import system
    is as it was."""
    folder = tmp_path / name
    folder.mkdir()
    (folder / "__init__.py").write_text("", encoding="utf-8")
    for module in ("alpha", "beta"):
        (folder / f"{module}.py").write_text(f"WHO = 'source {module}'\n", encoding="utf-8")
        (folder / f"{module}{SUFFIX}").write_bytes(b"not an extension")
    sys.path.insert(0, str(tmp_path))
    before = list(sys.meta_path)
    try:
        yield folder
    finally:
        sys.meta_path[:] = before
        sys.path.remove(str(tmp_path))
        for mod in [m for m in sys.modules if m.startswith(name)]:
            del sys.modules[mod]


@pytest.fixture
def package(tmp_path: Path) -> Iterator[Path]:
    """``pkgnative_t``: two modules with (fake, unloadable) compiled files beside them."""
    with fake_package(tmp_path, "pkgnative_t") as folder:
        (folder / "plain.py").write_text("WHO = 'plain'\n", encoding="utf-8")
        (tmp_path / f"{native.GROUP_LIBRARY}{SUFFIX}").write_bytes(b"")  # mypyc's library
        yield folder


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
    native.write_manifest(["alpha", "beta"], package)
    monkeypatch.setattr(native, "GROUP_LIBRARY", "no_such_library_t")
    assert native.stale_reason(package) == "no_such_library_t is not importable"


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


def test_uncompiled_install_removes_compiled_modules_and_says_why(
    package: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(native.COMPILE_ENV, raising=False)
    library = package.parents[1] / f"{native.GROUP_LIBRARY}{SUFFIX}"
    library.write_bytes(b"")
    removed = native.record_uncompiled("no C compiler (cc not found)", package)
    assert sorted(p.name for p in removed) == sorted(
        [f"alpha{SUFFIX}", f"beta{SUFFIX}", library.name]
    )
    assert not library.exists()
    assert native.compiled_modules(package) == []
    assert native.stale_reason(package) is None
    assert native.uncompiled_reason(package) == "no C compiler (cc not found)"
    monkeypatch.setenv(native.COMPILE_ENV, "1")  # asked to try again
    assert native.install_status(package)[0] == 1
    monkeypatch.delenv(native.COMPILE_ENV)
    code, message = native.install_status(package)
    assert code == 0
    assert message is not None
    assert "installed uncompiled (no C compiler (cc not found))" in message
    assert "same output" in message
    # a later compiled build replaces the record
    (package / f"alpha{SUFFIX}").write_bytes(b"")
    native.write_manifest(["alpha"], package)
    assert native.uncompiled_reason(package) is None
    assert native.install_status(package) == (0, None)


def test_install_rebuilds_stale_or_unwanted_compiled_modules_only(
    package: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(native.COMPILE_ENV, raising=False)
    native.write_manifest(["alpha", "beta"], package)
    monkeypatch.setenv(native.PURE_ENV, "1")  # running the sources is no reason to rebuild
    assert native.install_status(package) == (0, None)
    monkeypatch.setenv(native.COMPILE_ENV, "0")  # compiled modules no longer wanted
    assert native.install_status(package)[0] == 1
    monkeypatch.delenv(native.COMPILE_ENV)
    (package / "beta.py").write_text("WHO = 'edited'\n", encoding="utf-8")
    code, message = native.install_status(package)
    assert code == 1
    assert message is not None
    assert "sources changed" in message


# setup.py in a copy of the tree (nlp/local with the guard and two small modules)
SETUP_TREE_MODULES = {
    "alpha": "WHO: str = 'alpha'\n",
    "beta": "def twice(x: int) -> int:\n    return 2 * x\n",
}


@pytest.fixture
def setup_tree(tmp_path: Path) -> Path:
    root = Path(native.__file__).resolve().parents[2]
    (tmp_path / "setup.py").write_bytes((root / "setup.py").read_bytes())
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "t"\nversion = "0"\n\n[tool.setuptools.packages.find]\n'
        'include = ["nlp*", "enrich*"]\n',
        encoding="utf-8",
    )
    local = tmp_path / "nlp" / "local"
    local.mkdir(parents=True)
    (tmp_path / "nlp" / "__init__.py").write_text("", encoding="utf-8")
    (local / "__init__.py").write_text("", encoding="utf-8")
    (local / "native.py").write_bytes(Path(native.__file__).read_bytes())
    for name, text in SETUP_TREE_MODULES.items():
        (local / f"{name}.py").write_text(text, encoding="utf-8")
        (local / f"{name}{SUFFIX}").write_bytes(b"an old build")  # to be removed
    (tmp_path / f"{native.GROUP_LIBRARY}{SUFFIX}").write_bytes(b"an old build")
    # a second group (a top-level package): enrich with its compiled module
    top = tmp_path / "enrich"
    top.mkdir()
    (top / "__init__.py").write_text("", encoding="utf-8")
    (top / "rawresponse.py").write_text("WHO: str = 'rawresponse'\n", encoding="utf-8")
    (top / f"rawresponse{SUFFIX}").write_bytes(b"an old build")
    (tmp_path / f"docref_nlp_enrich__mypyc{SUFFIX}").write_bytes(b"an old build")
    return tmp_path


def build_in_place(tree: Path, **env: str) -> subprocess.CompletedProcess[str]:
    bare = {k: v for k, v in os.environ.items() if k not in ("CC", native.COMPILE_ENV)}
    return subprocess.run(
        [sys.executable, "setup.py", "--quiet", "build_ext", "--inplace"],
        cwd=tree,
        env={**bare, **env},
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )


@pytest.mark.parametrize(
    ("env", "reason"),
    [
        ({native.COMPILE_ENV: "0"}, "DOCREF_NLP_COMPILE=0"),
        ({"CC": "/nonexistent/cc"}, "no C compiler (/nonexistent/cc not found)"),
        # no compiler on PATH: the one Python was built with (gcc) is not found either
        ({"PATH": str(Path(sys.executable).parent)}, "no C compiler ("),
        # a compiler that fails (after mypyc generated the C): the install goes on uncompiled
        ({"CC": "false"}, "the C compiler failed (CompileError)"),
    ],
    ids=["compile-0", "cc-missing", "path-without-gcc", "compiler-fails"],
)
def test_setup_without_a_working_compiler_installs_uncompiled(
    setup_tree: Path, env: dict[str, str], reason: str
) -> None:
    run = build_in_place(setup_tree, **env)
    assert run.returncode == 0, run.stderr[-2000:]
    local = setup_tree / "nlp" / "local"
    for folder in (local, setup_tree / "enrich"):  # every group of the tree
        assert native.compiled_modules(folder) == []
        got = native.uncompiled_reason(folder)
        assert got is not None
        assert got.startswith(reason)
    assert not list(setup_tree.glob("docref_nlp_*"))
    status = subprocess.run(
        [sys.executable, str(local / "native.py")],
        env={k: v for k, v in os.environ.items() if k != native.COMPILE_ENV},
        capture_output=True,
        text=True,
        check=False,
    )
    assert status.returncode == 0
    assert status.stderr.count("\n") == 2  # one line per group
    assert f"local engine installed uncompiled ({reason}" in status.stderr
    assert f"enrichment installed uncompiled ({reason}" in status.stderr
