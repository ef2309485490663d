"""Build of docref-nlp: metadata in pyproject.toml; here the local engine's compiled modules.

``pip install -e .`` (``make install``) compiles the hot path of the local engine
(``nlp/local``: tokens, matching, rules, ConText, PHI, response building) with mypyc, from the
same sources mypy checks; ``nlp/local/native.py`` falls back to the sources when they change
after a build. Not compiled: the package entry, the spaCy pipeline factories (spaCy reads their
annotations), the lexicon and the linkers (their pickled assets name their classes) and the
guard itself.

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
NOT_COMPILED = {"__init__", "native", "pipeline", "lexicon", "linker"}
MODULES = sorted(p.stem for p in LOCAL.glob("*.py") if p.stem not in NOT_COMPILED)
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


def uncompiled(reason: str, dest: Path = LOCAL) -> None:
    """Install without compiled modules: stale ones removed, the reason in the manifest."""
    guard().record_uncompiled(reason, dest)


class BuildExt(build_ext):
    """build_ext, then the manifest of what was compiled (read by ``nlp/local/native.py``); a
    compiler failure leaves the package uncompiled instead of failing the install."""

    def run(self) -> None:
        if not self.extensions:
            return
        dest = Path(self.get_ext_fullpath(f"nlp.local.{MODULES[0]}")).parent
        if self.editable_mode:  # setuptools builds in build_lib, then copies into the sources
            dest = LOCAL
        try:
            super().run()
        except (CCompilerError, BaseError, OSError) as exc:
            uncompiled(f"the C compiler failed ({type(exc).__name__})", dest)
            return
        guard().write_manifest(MODULES, dest, sources=LOCAL)


def extensions() -> list[object]:
    reason = why_not_compiled()
    if reason is not None:
        uncompiled(reason)
        return []
    from mypyc.build import mypycify

    return list(
        mypycify(
            [str((LOCAL / f"{m}.py").relative_to(ROOT)) for m in MODULES],
            opt_level="3",
            group_name="docref_nlp_local",
        )
    )


setup(ext_modules=extensions(), cmdclass={"build_ext": BuildExt})
