"""Replay engine: answers with recorded NlpResult JSON files instead of running a model."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import pydantic

from nlp.base import EngineConfigError, PermanentEngineError
from nlp.schema import NlpResult

_KEY = re.compile(r"[0-9a-f]{64}")


def text_key(text: str) -> str:
    """The replay file stem for ``text``: SHA-256 hex of its UTF-8 encoding.

    >>> text_key("")
    'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'
    """
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def write_replay(directory: Path, text: str, result: NlpResult) -> Path:
    """Record ``result`` for ``text`` as ``<directory>/<text_key(text)>.json``."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{text_key(text)}.json"
    payload = json.dumps(result.to_aws(), indent=2, ensure_ascii=False) + "\n"
    path.write_text(payload, encoding="utf-8")
    return path


def _load(path: Path) -> NlpResult:
    try:
        return NlpResult.model_validate_json(path.read_bytes())
    except (OSError, pydantic.ValidationError) as exc:
        raise EngineConfigError(
            f"replay file {path} is not an NlpResult: {type(exc).__name__}", code="NLP134"
        ) from exc


class ReplayEngine:
    """The ``NlpEngine`` that replays recorded results (tests, demos, re-runs without AWS).

    ``path`` is either one NlpResult JSON file, returned for any text, or a directory of
    ``<sha256 hex of the UTF-8 text>.json`` files (see ``text_key`` and ``write_replay``); other
    files in the directory are ignored. ``version`` is ``replay/`` plus a hash of the files'
    names and contents, so re-recording makes documents re-process.

    Config keys:
        path: The file or directory (required).
    """

    name = "replay"

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        digest = hashlib.sha256()
        self._single: NlpResult | None = None
        if self.path.is_file():
            digest.update(self.path.read_bytes())
            self._single = _load(self.path)
        elif self.path.is_dir():
            for file in sorted(self.path.glob("*.json")):
                if _KEY.fullmatch(file.stem):
                    digest.update(file.name.encode() + b"\0" + file.read_bytes() + b"\0")
        else:
            raise EngineConfigError(f"replay path does not exist: {self.path}", code="NLP133")
        self.version = f"replay/{digest.hexdigest()[:16]}"

    def analyze(self, text: str) -> NlpResult:
        """The recorded result for ``text``.

        Raises:
            PermanentEngineError: No file for this text in the directory (``NLP141``; the
                message names the expected file, never the text).
            EngineConfigError: The file is not a valid NlpResult (``NLP134``).
        """
        if self._single is not None:
            return self._single.model_copy(deep=True)
        expected = self.path / f"{text_key(text)}.json"
        if not expected.is_file():
            raise PermanentEngineError(
                f"no replay file {expected.name} in {self.path}", code="NLP141"
            )
        return _load(expected)
