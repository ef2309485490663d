"""Where local engine assets live: built from offline sources, never committed, never downloaded.

``assets_dir()`` is ``$DOCREF_NLP_ASSETS`` if set, else ``$XDG_DATA_HOME/docref-nlp/assets``
(``~/.local/share/docref-nlp/assets``), like scispacy's ``CACHE_ROOT``.
"""

from __future__ import annotations

import os
from pathlib import Path

ENV_VAR = "DOCREF_NLP_ASSETS"


def assets_dir() -> Path:
    """The directory holding built assets (not created here)."""
    explicit = os.environ.get(ENV_VAR)
    if explicit:
        return Path(explicit).expanduser()
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "docref-nlp" / "assets"


def asset_path(name: str) -> Path:
    """Path of one named asset inside ``assets_dir()``."""
    return assets_dir() / name
