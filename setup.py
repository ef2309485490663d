"""Build of docref-nlp: metadata in pyproject.toml; here the local engine's compiled modules.

``pip install -e .`` (``make install``) compiles the hot path of the local engine
(``nlp/local``: tokens, matching, rules, ConText, PHI, response building) with mypyc, from the
same sources mypy checks; ``nlp/local/native.py`` falls back to the sources when they change
after a build. ``DOCREF_NLP_COMPILE=0`` installs without compiling. Not compiled: the package
entry, the spaCy pipeline factories (spaCy reads their annotations), the lexicon and the
linkers (their pickled assets name their classes) and the guard itself.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from setuptools import setup
from setuptools.command.build_ext import build_ext

ROOT = Path(__file__).resolve().parent
LOCAL = ROOT / "nlp" / "local"
NOT_COMPILED = {"__init__", "native", "pipeline", "lexicon", "linker"}
MODULES = sorted(p.stem for p in LOCAL.glob("*.py") if p.stem not in NOT_COMPILED)


class BuildExt(build_ext):
    """build_ext, then the manifest of what was compiled (read by ``nlp/local/native.py``)."""

    def run(self) -> None:
        super().run()
        if not self.extensions:
            return
        sys.path.insert(0, str(LOCAL))
        try:
            from native import write_manifest  # the guard module alone, not the package
        finally:
            sys.path.pop(0)
        write_manifest(MODULES, LOCAL)


def extensions() -> list[object]:
    if os.environ.get("DOCREF_NLP_COMPILE", "1") == "0":
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
