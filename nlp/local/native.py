"""Compiled or source modules: the guard that keeps a stale compiled engine from running.

``pip install -e .`` (``make install``) compiles the local engine's hot-path modules with mypyc
(``setup.py``): each ``nlp/local/<module>.py`` gets a ``<module>.cpython-*.so`` beside it,
which Python imports instead of the ``.py``. The build writes ``_compiled.json`` with the
SHA-256 of the sources it compiled. If a source has changed since (an edit, a ``git merge``),
the compiled code no longer says what the source says: then every compiled module of the engine
is imported from its source instead (all together: compiled modules call each other natively),
with one warning, until ``make install`` compiles them again. ``DOCREF_NLP_PURE=1`` always
imports the sources.

Compiling is optional: when ``setup.py`` cannot (``DOCREF_NLP_COMPILE=0``, no C compiler, no
Python headers, no mypy, a compiler failure) it removes any compiled modules and records why in
the manifest; ``make install`` prints that reason once (``python nlp/local/native.py``) and the
sources run, with the same output.

This module is imported first by ``nlp.local`` and is never compiled itself.
"""

from __future__ import annotations

import hashlib
import importlib.abc
import importlib.machinery
import importlib.util
import json
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

HERE = Path(__file__).resolve().parent
PACKAGE = "nlp.local"
MANIFEST = HERE / "_compiled.json"
PURE_ENV = "DOCREF_NLP_PURE"
COMPILE_ENV = "DOCREF_NLP_COMPILE"
# mypyc's shared library of the compiled group (setup.py's group_name), at the top of the tree
GROUP_LIBRARY = "docref_nlp_local__mypyc"

log = logging.getLogger(__name__)


def compiled_modules(folder: Path = HERE) -> list[str]:
    """Names of the modules of ``folder`` that have a compiled extension beside their source."""
    names = set()
    for suffix in importlib.machinery.EXTENSION_SUFFIXES:
        for so in folder.glob(f"*{suffix}"):
            name = so.name[: -len(suffix)]
            if (folder / f"{name}.py").is_file():
                names.add(name)
    return sorted(names)


def sources_digest(names: Sequence[str], folder: Path = HERE) -> str:
    """SHA-256 over the named modules' sources (name and bytes, in name order)."""
    h = hashlib.sha256()
    for name in sorted(names):
        h.update(name.encode())
        h.update(b"\0")
        h.update((folder / f"{name}.py").read_bytes())
        h.update(b"\0")
    return h.hexdigest()


def write_manifest(
    names: Sequence[str], folder: Path = HERE, *, sources: Path | None = None
) -> None:
    """Record which sources were compiled (called by ``setup.py`` after a build): the manifest
    goes to ``folder`` (where the compiled modules are), the digest is of ``sources``."""
    data = {"modules": sorted(names), "sha256": sources_digest(names, sources or folder)}
    (folder / MANIFEST.name).write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")


def record_uncompiled(reason: str, folder: Path = HERE) -> list[Path]:
    """An uncompiled install (called by ``setup.py``): the compiled modules of ``folder`` and
    the group's shared library two levels up are removed, and ``reason`` is recorded in the
    manifest. Returns the removed files."""
    removed: list[Path] = []
    for suffix in importlib.machinery.EXTENSION_SUFFIXES:
        doomed = [folder / f"{n}{suffix}" for n in compiled_modules(folder)]
        doomed += sorted(folder.parents[1].glob(f"{GROUP_LIBRARY}{suffix}"))
        for path in doomed:
            if path.is_file():
                path.unlink()
                removed.append(path)
    data = {"modules": [], "sha256": sources_digest([], folder), "uncompiled": reason}
    (folder / MANIFEST.name).write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    return removed


def uncompiled_reason(folder: Path = HERE) -> str | None:
    """Why the last build installed the engine uncompiled (from its manifest), or None."""
    try:
        data = json.loads((folder / MANIFEST.name).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    reason = data.get("uncompiled") if isinstance(data, dict) else None
    return str(reason) if reason and not compiled_modules(folder) else None


def stale_reason(folder: Path = HERE, *, pure_env: bool = True) -> str | None:
    """Why the compiled modules of ``folder`` must not be used, or None when they may
    (``pure_env=False``: whatever ``DOCREF_NLP_PURE`` says)."""
    names = compiled_modules(folder)
    if not names:
        return None
    if pure_env and os.environ.get(PURE_ENV) == "1":
        return f"{PURE_ENV}=1"
    try:
        data = json.loads((folder / MANIFEST.name).read_text(encoding="utf-8"))
        recorded = sorted(str(n) for n in data["modules"])
        digest = str(data["sha256"])
    except (OSError, ValueError, KeyError, TypeError):
        return "no readable build manifest"
    if recorded != names:
        return "the compiled modules are not those of the last build"
    if digest != sources_digest(names, folder):
        return "their sources changed since they were compiled"
    if importlib.util.find_spec(GROUP_LIBRARY) is None:  # e.g. compiled after an editable
        return f"{GROUP_LIBRARY} is not importable"  # install that had no compiled modules
    return None


class SourceFirst(importlib.abc.MetaPathFinder):
    """Imports the named modules of a package from their ``.py`` files, never a compiled one."""

    def __init__(self, package: str, folder: Path, names: Sequence[str]) -> None:
        self.folder = folder
        self.names = {f"{package}.{n}": n for n in names}

    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None = None,  # noqa: ARG002
        target: ModuleType | None = None,  # noqa: ARG002
    ) -> importlib.machinery.ModuleSpec | None:
        name = self.names.get(fullname)
        if name is None:
            return None
        return importlib.util.spec_from_file_location(fullname, self.folder / f"{name}.py")


def choose(package: str = PACKAGE, folder: Path = HERE) -> str:
    """``compiled``, ``source`` (nothing compiled) or ``source: <why>`` (stale compiled code,
    imported from the sources from now on)."""
    reason = stale_reason(folder)
    if reason is None:
        return "compiled" if compiled_modules(folder) else "source"
    if not any(isinstance(f, SourceFirst) and f.folder == folder for f in sys.meta_path):
        sys.meta_path.insert(0, SourceFirst(package, folder, compiled_modules(folder)))
        if reason != f"{PURE_ENV}=1":
            log.warning(
                "local engine: compiled modules not used (%s); running the sources, "
                "slower: `make install` compiles them again",
                reason,
            )
    return f"source: {reason}"


# imported as ``nlp.local.native`` (by ``nlp.local``, first): choose now; ``setup.py`` loads this
# file alone to write the manifest, and chooses nothing
MODE = choose() if __name__ == f"{PACKAGE}.native" else "not chosen"


def install_status(folder: Path = HERE) -> tuple[int, str | None]:
    """What ``make install`` does next: (1, why) rebuild (``setup.py build_ext``), (0, note)
    nothing (the note, when any, says the engine runs uncompiled and why)."""
    why = stale_reason(folder, pure_env=False)
    if why is None and compiled_modules(folder) and os.environ.get(COMPILE_ENV) == "0":
        why = f"{COMPILE_ENV}=0"
    if why is not None:
        return 1, f"local engine: compiled modules stale ({why}), building again"
    reason = uncompiled_reason(folder)
    if reason is None:
        return 0, None
    if os.environ.get(COMPILE_ENV) == "1":
        return (
            1,
            f"local engine installed uncompiled ({reason}): compiling, as {COMPILE_ENV}=1 asks",
        )
    return 0, (
        f"local engine installed uncompiled ({reason}): same output, slower "
        f"(with a C compiler and python3.11-dev: `{COMPILE_ENV}=1 make install`)"
    )


if __name__ == "__main__":  # `make install`: exit 1 when the compiled modules must be rebuilt
    code, message = install_status()
    if message is not None:
        sys.stderr.write(message + "\n")
    sys.exit(code)
