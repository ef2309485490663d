"""Compiled or source modules: the guard that keeps stale compiled code from running.

``pip install -e .`` (``make install``) compiles the hot-path modules named in ``GROUPS`` with
mypyc (``setup.py``), one mypyc group per package (the local engine ``nlp/local``, the
enrichment ``enrich``): each ``<package>/<module>.py`` gets a ``<module>.cpython-*.so`` beside
it, which Python imports instead of the ``.py``. The build writes ``_compiled.json`` in the
package with the SHA-256 of the sources it compiled. If a source has changed since (an edit, a
``git merge``), the compiled code no longer says what the source says: then every compiled
module of that package is imported from its source instead (all together: compiled modules call
each other natively), with one warning, until ``make install`` compiles them again.
``DOCREF_NLP_PURE=1`` always imports the sources. A package's ``__init__`` calls
:func:`choose_group` before it imports any of its modules (``enrich/native.py`` loads this
guard without importing ``nlp.local``). Compiling one more module is one name in ``GROUPS``.

Compiling is optional: when ``setup.py`` cannot (``DOCREF_NLP_COMPILE=0``, no C compiler, no
Python headers, no mypy, a compiler failure) it removes any compiled modules and records why in
the manifest; ``make install`` prints that reason once (``python nlp/local/native.py``) and the
sources run, with the same output.

This module is imported first by ``nlp.local`` and ``enrich`` and is never compiled itself.
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
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
PACKAGE = "nlp.local"
MANIFEST = HERE / "_compiled.json"
PURE_ENV = "DOCREF_NLP_PURE"
COMPILE_ENV = "DOCREF_NLP_COMPILE"


@dataclass(frozen=True)
class Group:
    """The modules of one package compiled together (one mypyc group, one manifest)."""

    package: str  # dotted, e.g. ``nlp.local``
    name: str  # mypyc's group name: its shared library ``<name>__mypyc`` is at the top
    label: str  # what the messages call it
    # the modules compiled (names inside the package); None: every module of the folder but
    # those of ``skip``
    modules: tuple[str, ...] | None = None
    skip: tuple[str, ...] = ("__init__",)

    @property
    def library(self) -> str:
        return f"{self.name}__mypyc"

    def folder(self, root: Path | None = None) -> Path:
        return (ROOT if root is None else root).joinpath(*self.package.split("."))

    def sources(self, root: Path | None = None) -> list[str]:
        """The modules this group compiles (those whose source exists), sorted."""
        folder = self.folder(root)
        if self.modules is None:
            return sorted(p.stem for p in folder.glob("*.py") if p.stem not in self.skip)
        return sorted(m for m in self.modules if (folder / f"{m}.py").is_file())


# What `make install` compiles: one line per package (a module more: one name more). Not
# compiled: package entries, this guard, modules whose classes other code introspects (spaCy's
# pipeline factories, pydantic models) or pickles (lexicon, linkers), modules whose functions
# tests monkeypatch (a compiled function cannot be patched), and modules that read resources
# a store hands out: compiled code reads a ``dict`` (typed so) through dict's own C functions,
# past the methods of a subclass (``api.store.codec.LazyResource`` parses its JSON in them),
# which is why ``enrich``'s readers and builders of FHIR dicts (extensions, core, resources)
# stay Python: only the writers of the NLP models' text and JSON are compiled.
GROUPS: tuple[Group, ...] = (
    Group("nlp.local", "docref_nlp_local", "local engine",
          skip=("__init__", "native", "pipeline", "lexicon", "linker")),
    Group("enrich", "docref_nlp_enrich", "enrichment", ("rawresponse",)),
    Group("api.store", "docref_nlp_store", "store's search values", ("extract", "terms")),
)  # fmt: skip
# mypyc's shared library of the local engine's group, at the top of the tree
GROUP_LIBRARY = GROUPS[0].library

log = logging.getLogger(__name__)


def group_of(package: str) -> Group | None:
    """The compiled group of a package (``GROUPS``), or None."""
    return next((g for g in GROUPS if g.package == package), None)


def _library(package: str) -> str:
    found = group_of(package)
    return GROUP_LIBRARY if found is None or package == PACKAGE else found.library


def _label(package: str) -> str:
    found = group_of(package)
    return found.label if found is not None else package


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


def record_uncompiled(reason: str, folder: Path = HERE, package: str = PACKAGE) -> list[Path]:
    """An uncompiled install (called by ``setup.py``): the compiled modules of ``folder`` (the
    folder of ``package``) and the group's shared library at the top of the tree are removed,
    and ``reason`` is recorded in the manifest. Returns the removed files."""
    removed: list[Path] = []
    top = folder.parents[package.count(".")]
    for suffix in importlib.machinery.EXTENSION_SUFFIXES:
        doomed = [folder / f"{n}{suffix}" for n in compiled_modules(folder)]
        doomed += sorted(top.glob(f"{_library(package)}{suffix}"))
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


def stale_reason(
    folder: Path = HERE, *, pure_env: bool = True, package: str = PACKAGE
) -> str | None:
    """Why the compiled modules of ``folder`` (the folder of ``package``) must not be used, or
    None when they may (``pure_env=False``: whatever ``DOCREF_NLP_PURE`` says)."""
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
    library = _library(package)
    if importlib.util.find_spec(library) is None:  # e.g. compiled after an editable
        return f"{library} is not importable"  # install that had no compiled modules
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
    reason = stale_reason(folder, package=package)
    if reason is None:
        return "compiled" if compiled_modules(folder) else "source"
    if not any(isinstance(f, SourceFirst) and f.folder == folder for f in sys.meta_path):
        sys.meta_path.insert(0, SourceFirst(package, folder, compiled_modules(folder)))
        if reason != f"{PURE_ENV}=1":
            log.warning(
                "%s: compiled modules not used (%s); running the sources, "
                "slower: `make install` compiles them again",
                _label(package),
                reason,
            )
    return f"source: {reason}"


def choose_group(package: str) -> str:
    """:func:`choose` for a package of ``GROUPS`` (called first by its ``__init__``)."""
    found = group_of(package)
    if found is None:
        raise KeyError(package)
    return choose(package, found.folder())


# imported as ``nlp.local.native`` (by ``nlp.local``, or ``enrich/native.py``): the local
# engine's modules are chosen now; ``setup.py`` loads this file alone to write the manifests,
# and chooses nothing
MODE = choose() if __name__ == f"{PACKAGE}.native" else "not chosen"


def install_status(folder: Path = HERE, package: str = PACKAGE) -> tuple[int, str | None]:
    """What ``make install`` does next: (1, why) rebuild (``setup.py build_ext``), (0, note)
    nothing (the note, when any, says the package runs uncompiled and why)."""
    label = _label(package)
    why = stale_reason(folder, pure_env=False, package=package)
    if why is None and compiled_modules(folder) and os.environ.get(COMPILE_ENV) == "0":
        why = f"{COMPILE_ENV}=0"
    found = group_of(package)
    if (  # a module added to (or taken from) GROUPS since the build
        why is None
        and found is not None
        and found.folder() == folder
        and compiled_modules(folder)
        and found.sources() != compiled_modules(folder)
    ):
        why = "the modules to compile changed"
    if why is not None:
        return 1, f"{label}: compiled modules stale ({why}), building again"
    if not (folder / MANIFEST.name).is_file() and os.environ.get(COMPILE_ENV) != "0":
        return 1, f"{label}: not built yet, building"  # e.g. a group added to GROUPS
    reason = uncompiled_reason(folder)
    if reason is None:
        return 0, None
    if os.environ.get(COMPILE_ENV) == "1":
        return (
            1,
            f"{label} installed uncompiled ({reason}): compiling, as {COMPILE_ENV}=1 asks",
        )
    return 0, (
        f"{label} installed uncompiled ({reason}): same output, slower "
        f"(with a C compiler and python3.11-dev: `{COMPILE_ENV}=1 make install`)"
    )


def install_statuses(root: Path | None = None) -> tuple[int, list[str]]:
    """:func:`install_status` of every group: (1 when any must be rebuilt, the notes)."""
    code, notes = 0, []
    for found in GROUPS:
        if not found.sources(root):  # not in this tree
            continue
        one, message = install_status(found.folder(root), found.package)
        code = max(code, one)
        if message is not None:
            notes.append(message)
    return code, notes


if __name__ == "__main__":  # `make install`: exit 1 when compiled modules must be rebuilt
    code, messages = install_statuses()
    for message in messages:
        sys.stderr.write(message + "\n")
    sys.exit(code)
