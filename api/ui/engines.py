"""Engines the playground and the compare view offer, built once and cached.

Choices (validated against this list; a browser never names a path):

* ``running``: the service's own engine (``app.state.engine``);
* ``local``: the offline engine (``nlp.factory.make_engine("local")``) when the running one is
  another; building it costs about 1-2 s and a few hundred MB, so it is built on first use and
  kept (at most ``max_cached`` extra engines live at once, least recently used dropped);
* ``replay:samples``: the recorded (hand-made, Comprehend-shaped) results of the repository's
  samples, answering for the exact text of a sample;
* ``stored`` (compare only): the result stored for the document (``$nlp``), i.e. the engine
  version that processed it; compared with a fresh run it shows what an upgrade changes.
"""

from __future__ import annotations

import json
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from api.ui.render import UiError
from enrich.text import extract_text
from nlp.base import NlpEngine, PermanentEngineError
from nlp.replay import text_key
from nlp.schema import NlpResult

log = logging.getLogger(__name__)

RUNNING = "running"
LOCAL = "local"
SAMPLES = "replay:samples"
STORED = "stored"


@dataclass(frozen=True)
class EngineChoice:
    key: str
    label: str


class UnknownEngineError(UiError):
    """An engine key that is not offered (400, ``[NLP802]``)."""

    def __init__(self, key: str) -> None:
        super().__init__(400, "NLP802", f"unknown engine choice {key[:40]!r}")


class SampleRecordings:
    """``NlpEngine`` replaying ``samples/nlp/<name>.json`` for the text of ``samples/<name>.json``.

    Config keys:
        samples_dir: the folder of the sample DocumentReferences (with ``nlp/`` beside them).
    """

    name = "replay"

    def __init__(self, samples_dir: Path) -> None:
        self._results: dict[str, Path] = {}
        for path in sorted((samples_dir / "nlp").glob("*.json")):
            try:
                doc = json.loads((samples_dir / path.name).read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue
            extracted = extract_text(doc) if isinstance(doc, dict) else None
            if extracted is not None and extracted.text is not None:
                self._results[text_key(extracted.text)] = path
        self.version = f"replay/samples-{len(self._results)}"

    def __len__(self) -> int:
        return len(self._results)

    def analyze(self, text: str) -> NlpResult:
        """The recording for exactly this text.

        Raises:
            PermanentEngineError: ``[NLP141]`` no sample has this text.
        """
        path = self._results.get(text_key(text))
        if path is None:
            raise PermanentEngineError(
                "no sample recording for this text (replay:samples answers only for the "
                "exact text of a repository sample)",
                code="NLP141",
            )
        return NlpResult.model_validate_json(path.read_bytes())


Factory = Callable[[str], NlpEngine]


class EngineRegistry:
    """The engine choices of the viewer and the cache of the extra engines.

    Args:
        running_spec: the service's engine setting (``local``, ``replay:PATH``, ...).
        samples_dir: where the samples and their recordings are.
        factory: builds an engine from a spec (default ``nlp.factory.make_engine``, wrapped in
            ``api.bootstrap.SerializedEngine`` since spaCy pipelines are not thread-safe).
        max_cached: extra engines kept built (default 2).
    """

    def __init__(
        self,
        running_spec: str,
        samples_dir: Path,
        *,
        factory: Factory | None = None,
        max_cached: int = 2,
    ) -> None:
        self.running_spec = running_spec
        self.samples_dir = samples_dir
        self._factory = factory or _default_factory
        self._max = max_cached
        self._cache: OrderedDict[str, NlpEngine] = OrderedDict()
        self._lock = threading.Lock()
        self._samples: SampleRecordings | None = None

    def choices(self, running: NlpEngine, *, stored: bool = False) -> list[EngineChoice]:
        """What the engine selects offer (``stored`` first when a stored result exists)."""
        out = [EngineChoice(STORED, "stored result ($nlp)")] if stored else []
        out.append(EngineChoice(RUNNING, f"running engine: {running.name} {running.version}"))
        if not self.running_spec.startswith(LOCAL):
            out.append(EngineChoice(LOCAL, "local (offline engine, built on first use)"))
        if (self.samples_dir / "nlp").is_dir():
            out.append(EngineChoice(SAMPLES, "replay:samples (recorded results of the samples)"))
        return out

    def keys(self, running: NlpEngine, *, stored: bool = False) -> set[str]:
        return {c.key for c in self.choices(running, stored=stored)}

    def get(self, key: str, running: NlpEngine) -> NlpEngine:
        """The engine for ``key`` (not ``stored``), built and cached on first use.

        Raises:
            UnknownEngineError: ``[NLP802]`` a key that is not offered.
            nlp.base.EngineError: the engine cannot be built.
        """
        if key not in self.keys(running) or key == STORED:
            raise UnknownEngineError(key)
        if key == RUNNING:
            return running
        with self._lock:
            if key == SAMPLES:
                if self._samples is None:
                    self._samples = SampleRecordings(self.samples_dir)
                return self._samples
            engine = self._cache.get(key)
            if engine is None:
                log.info("viewer: building engine %s", key)
                engine = self._factory(key)
                self._cache[key] = engine
                while len(self._cache) > self._max:
                    self._cache.popitem(last=False)
            self._cache.move_to_end(key)
            return engine


def _default_factory(spec: str) -> NlpEngine:
    from api.bootstrap import SerializedEngine, engine_from_spec

    return SerializedEngine(engine_from_spec(spec))
