"""The local offline engine: a fast spaCy pipeline answering in Comprehend Medical's shape."""

from __future__ import annotations

# isort: off
from nlp.local import native  # first: compiled modules, or their sources when stale

# isort: on
import hashlib
import json
import logging
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from nlp.base import EngineConfigError
from nlp.local.matcher import TermLike
from nlp.local.pipeline import annotate_text, annotator_of, build_pipeline, mentions_of
from nlp.local.response import Icd10LinkerLike, Linking, RxNormLinkerLike, build_result
from nlp.schema import NlpResult

__all__ = ["ENGINE_VERSION", "LocalEngine"]

ENGINE_VERSION = "0.4.0"
log = logging.getLogger(__name__)


class LocalEngine:
    """Offline clinical NLP: dictionary + rules + FastContext + linkers, no download.

    Args:
        terms: Lexicon terms (``nlp.local.lexicon.Term`` or the same fields).
        icd10: ICD-10-CM linker (``nlp.local.linker.Icd10Linker``) or None.
        rxnorm: RxNorm linker (``nlp.local.linker.RxNormLinker``) or None.
        build_id: Identifier of the asset build, recorded in ``version``/ModelVersion.
        matcher_cache: Optional file caching the compiled dictionary (``from_assets`` puts it
            in the assets directory, named after the asset build and the engine's rules).
    """

    name = "local"

    def __init__(
        self,
        terms: Iterable[TermLike],
        icd10: Icd10LinkerLike | None = None,
        rxnorm: RxNormLinkerLike | None = None,
        *,
        build_id: str = "none",
        matcher_cache: Path | None = None,
    ) -> None:
        self.nlp = build_pipeline(terms, matcher_cache)
        self._annotator = annotator_of(self.nlp)
        self.linking = Linking(icd10, rxnorm)
        self.build_id = build_id
        self.version = f"local-{ENGINE_VERSION}+{build_id}"

    @classmethod
    def from_assets(cls, path: Path | None = None) -> LocalEngine:
        """Load lexicon and linkers built by ``docref-nlp models build``.

        Args:
            path: Assets directory (default ``models.assets_dir()``).

        Raises:
            EngineConfigError: ``[NLP140]`` when the assets are missing or unreadable.
        """
        from nlp.local.assets import assets_dir

        base = path or assets_dir()
        started = time.perf_counter()
        try:
            from nlp.local.lexicon import AssetsMissingError, lexicon_path, load_lexicon
            from nlp.local.linker import Icd10Linker, RxNormLinker

            if not lexicon_path(base).exists():
                raise AssetsMissingError(f"[NLP142] lexicon not built in {base}")
            terms: Iterable[TermLike] = _LazyLexicon(base, load_lexicon)
            icd10 = Icd10Linker.from_assets(base)
            rxnorm = RxNormLinker.from_assets(base)
        except (OSError, RuntimeError, ImportError, ValueError) as exc:
            raise EngineConfigError(
                f"local engine assets unusable in {base}: {type(exc).__name__}: {exc}",
                code="NLP140",
            ) from exc
        build_id = _build_id(base)
        cache = base / f"local-matcher-{_rules_digest(build_id)}.pkl"
        engine = cls(terms, icd10, rxnorm, build_id=build_id, matcher_cache=cache)
        for stale in base.glob("local-matcher-*.pkl"):
            if stale != cache:
                stale.unlink(missing_ok=True)
        log.info(
            "local engine loaded: %d terms, %.2fs, %s modules",
            annotator_of(engine.nlp).matcher.size,
            time.perf_counter() - started,
            native.MODE,
        )
        return engine

    def analyze(self, text: str) -> NlpResult:
        """The three Comprehend Medical responses for ``text``."""
        mentions = annotate_text(self.nlp, self._annotator, text)
        result = build_result(text, mentions, self.linking, self.version)
        self._annotator.stopwatch.lap("response building")
        return result

    def analyze_many(self, texts: Iterable[str], batch_size: int = 32) -> Iterator[NlpResult]:
        """Results for many texts, in order (``nlp.pipe`` underneath)."""
        for doc in self.nlp.pipe(texts, batch_size=batch_size):
            yield build_result(doc.text, mentions_of(doc), self.linking, self.version)


class _LazyLexicon:
    """The lexicon, read only if the compiled dictionary cache cannot be used."""

    def __init__(self, base: Path, loader: Callable[[Path], Iterable[TermLike]]) -> None:
        self.base = base
        self.loader = loader

    def __iter__(self) -> Iterator[TermLike]:
        return iter(self.loader(self.base))


def _rules_digest(build_id: str) -> str:
    """Digest of what the compiled dictionary depends on: assets, rules and matcher code."""
    here = Path(__file__).parent
    h = hashlib.sha256(f"{ENGINE_VERSION}|{build_id}".encode())
    for path in sorted(
        [*here.glob("rules/*.json"), here / "text.py", here / "matcher.py", here / "annotate.py"]
    ):
        h.update(path.read_bytes())
    return h.hexdigest()[:16]


def _build_id(base: Path) -> str:
    """Short id of the asset build: the manifest's hash, else the lexicon file's stat."""
    manifest = base / "manifest.json"
    try:
        data = manifest.read_text(encoding="utf-8")
        parsed = json.loads(data)
        for key in ("build_id", "id", "created"):
            if isinstance(parsed, dict) and parsed.get(key):
                return str(parsed[key])[:16]
        return hashlib.sha256(data.encode("utf-8")).hexdigest()[:12]
    except (OSError, json.JSONDecodeError):
        lex = base / "lexicon.pkl"
        if lex.exists():
            st = lex.stat()
            return hashlib.sha256(f"{st.st_size}:{st.st_mtime_ns}".encode()).hexdigest()[:12]
        return "none"
