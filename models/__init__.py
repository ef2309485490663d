"""Builders of the local engine's assets (``docref-nlp models build``); nothing here runs at
analysis time. Where assets live is :mod:`nlp.local.assets`.
"""

from __future__ import annotations

from pathlib import Path

from nlp.local.assets import ENV_VAR, asset_path, assets_dir

__all__ = ["ENV_VAR", "asset_path", "assets_dir", "package_dir"]


def package_dir(module: str) -> Path:
    """Directory of an installed package, found without importing it (imports can be slow).

    Raises:
        FileNotFoundError: the package is not installed.
    """
    import importlib.util

    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(f"[NLP173] package {module!r} is not installed")
    return Path(next(iter(spec.submodule_search_locations)))
