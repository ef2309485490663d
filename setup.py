"""Build of docref-nlp: metadata in pyproject.toml; here the compiled hot-path modules.

``pip install -e .`` (``make install``) compiles, with mypyc and from the same sources mypy
checks, one group of modules per package listed in ``nlp/local/native.py``'s ``GROUPS``: the
hot path of the local engine (``nlp/local``: tokens, matching, rules, ConText, PHI, response
building), of the enrichment (``enrich``: the aws-cm tree, the generated resources, the
raw-response text and the JSON of the NLP result) and of the store's search values
(``api/store``: ``extract``, ``terms``); ``nlp/local/native.py`` falls back to a package's
sources when they change after a build. ``GROUPS`` says what is and is not compiled, and why.

Compiling is an optimisation, never a requirement: with ``DOCREF_NLP_COMPILE=0``, without a C
compiler or Python's C headers, without mypy, or when the compiler fails, the package installs
uncompiled (same output, slower) and the reason is recorded in the build manifest, which
``nlp/local/native.py`` (run by ``make install``) prints as one line.
"""

from __future__ import annotations

import os
import shlex
import shutil
import sys
import sysconfig
from pathlib import Path
from types import ModuleType

from setuptools import setup
from setuptools.command.build_ext import build_ext
from setuptools.errors import BaseError, CCompilerError

ROOT = Path(__file__).resolve().parent
LOCAL = ROOT / "nlp" / "local"
COMPILE_ENV = "DOCREF_NLP_COMPILE"


def guard() -> ModuleType:
    """``nlp/local/native.py`` alone (not the package: its dependencies may not be installed)."""
    sys.path.insert(0, str(LOCAL))
    try:
        import native
    finally:
        sys.path.pop(0)
    return native


def why_not_compiled() -> str | None:
    """Why this build cannot compile (checked before mypyc's minute of work), or None."""
    if os.environ.get(COMPILE_ENV, "1") == "0":
        return f"{COMPILE_ENV}=0"
    try:
        import mypyc.build  # noqa: F401
    except ImportError:
        return "mypy (mypyc) is not installed"
    # the compiler distutils will call: $CC, else the one Python was built with
    words = shlex.split(os.environ.get("CC") or str(sysconfig.get_config_var("CC") or "cc"))
    if not words or shutil.which(words[0]) is None:
        return f"no C compiler ({words[0] if words else 'CC is empty'} not found)"
    if not (Path(sysconfig.get_paths()["include"]) / "Python.h").is_file():
        return "Python's C headers (Python.h, package python3.11-dev) are missing"
    return None


def groups() -> list[tuple[str, Path, list[str], str]]:
    """(package, folder, modules, mypyc group name) of each group of ``GROUPS`` that has
    modules to compile in this tree."""
    found = [(g.package, g.folder(ROOT), g.sources(ROOT), g.name) for g in guard().GROUPS]
    return [group for group in found if group[2]]


def uncompiled(reason: str, dest: Path | None = None) -> None:
    """Install without compiled modules: stale ones removed, the reason in each manifest
    (``dest``: where the build put the compiled modules, when not beside the sources)."""
    for package, folder, _, _ in groups():
        where = folder if dest is None else dest.joinpath(*package.split("."))
        guard().record_uncompiled(reason, where, package)


class BuildExt(build_ext):
    """build_ext, then the manifest of what was compiled in each group (read by
    ``nlp/local/native.py``); a compiler failure leaves the packages uncompiled instead of
    failing the install."""

    def run(self) -> None:
        if not self.extensions:
            return
        package, _, names, _ = groups()[0]
        top = Path(self.get_ext_fullpath(f"{package}.{names[0]}")).parents[package.count(".") + 1]
        if self.editable_mode:  # setuptools builds in build_lib, then copies into the sources
            top = ROOT
        try:
            super().run()
        except (CCompilerError, BaseError, OSError) as exc:
            uncompiled(f"the C compiler failed ({type(exc).__name__})", top)
            return
        for package, folder, names, _ in groups():
            guard().write_manifest(names, top.joinpath(*package.split(".")), sources=folder)


def extensions() -> list[object]:
    reason = why_not_compiled()
    if reason is not None:
        uncompiled(reason)
        return []
    from mypyc.build import mypycify

    built: list[object] = []
    for _, folder, names, name in groups():
        built += mypycify(
            [str((folder / f"{m}.py").relative_to(ROOT)) for m in names],
            opt_level="3",
            group_name=name,
        )
    return built


setup(ext_modules=extensions(), cmdclass={"build_ext": BuildExt})
