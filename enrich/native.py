"""The guard of compiled modules (``nlp/local/native.py``) for ``enrich``, without importing
``nlp.local`` (the local engine and spaCy): imported first by ``enrich/__init__.py``, it
chooses the compiled modules of ``enrich`` or their sources (``MODE``). Never compiled.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

NAME = "nlp.local.native"
SOURCE = Path(__file__).resolve().parents[1] / "nlp" / "local" / "native.py"


def guard() -> ModuleType:
    """``nlp.local.native`` as imported, else loaded from its file (and registered, so that
    ``nlp.local`` imports the same module later)."""
    module = sys.modules.get(NAME)
    if module is None:
        spec = importlib.util.spec_from_file_location(NAME, SOURCE)
        if spec is None or spec.loader is None:  # pragma: no cover - the file is in the tree
            raise ImportError(f"{NAME} not found at {SOURCE}")
        module = importlib.util.module_from_spec(spec)
        sys.modules[NAME] = module
        try:
            spec.loader.exec_module(module)
        except BaseException:
            del sys.modules[NAME]
            raise
    return module


MODE: str = guard().choose_group("enrich")
