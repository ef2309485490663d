"""make_engine: the one place that turns an engine choice into an NlpEngine."""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, cast

from nlp.base import EngineConfigError, NlpEngine

if TYPE_CHECKING:
    from mypy_boto3_comprehendmedical import ComprehendMedicalClient

ENGINE_SPECS = ("comprehend", "replay:PATH", "local", "local:ASSETS_DIR")

_OPTIONS = {
    "comprehend": {
        "client",
        "endpoint_url",
        "requests_per_second",
        "characters_per_second",
        "burst_seconds",
        "max_attempts",
        "limits",
    },
    "replay": set(),
    "local": {"assets_dir"},
}


def _number(options: Mapping[str, object], key: str, default: float) -> float:
    value = options.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise EngineConfigError(f"option {key} must be a number, got {value!r}", code="NLP136")
    try:
        return float(value)
    except ValueError as exc:
        raise EngineConfigError(
            f"option {key} must be a number, got {value!r}", code="NLP136"
        ) from exc


def _comprehend(region: str | None, options: Mapping[str, object]) -> NlpEngine:
    from nlp.comprehend import DEFAULT_LIMITS, ComprehendMedicalEngine, make_comprehend_client
    from nlp.ratelimit import (
        DEFAULT_CHARACTERS_PER_SECOND,
        DEFAULT_REQUESTS_PER_SECOND,
        RateConfig,
        shared_rate_limiter,
    )

    try:
        limiter = shared_rate_limiter(
            RateConfig(
                _number(options, "requests_per_second", DEFAULT_REQUESTS_PER_SECOND),
                _number(options, "characters_per_second", DEFAULT_CHARACTERS_PER_SECOND),
                _number(options, "burst_seconds", 0.0),
            )
        )
    except ValueError as exc:
        raise EngineConfigError(str(exc), code="NLP136") from exc
    limits = options.get("limits", DEFAULT_LIMITS)
    if not isinstance(limits, Mapping):
        raise EngineConfigError(f"option limits must be a mapping, got {limits!r}", code="NLP136")
    client = options.get("client")
    if client is None:
        endpoint_url = options.get("endpoint_url")
        client = make_comprehend_client(
            region, endpoint_url=str(endpoint_url) if endpoint_url else None
        )
    return ComprehendMedicalEngine(
        cast("ComprehendMedicalClient", client),
        rate_limiter=limiter,
        max_attempts=int(_number(options, "max_attempts", 8)),
        limits={str(k): int(v) for k, v in limits.items()},
    )


def _local(argument: str, options: Mapping[str, object]) -> NlpEngine:
    from nlp.local.assets import assets_dir

    directory = Path(str(options.get("assets_dir") or argument or assets_dir()))
    try:
        module = importlib.import_module("nlp.local")
        engine_class = module.LocalEngine
    except (ImportError, AttributeError) as exc:
        raise EngineConfigError(
            f"the local engine is not available: {type(exc).__name__}: {exc}", code="NLP137"
        ) from exc
    return cast(NlpEngine, engine_class.from_assets(directory))


def make_engine(spec: str, *, region: str | None = None, **options: object) -> NlpEngine:
    """Build the engine named by ``spec``.

    Args:
        spec: ``comprehend`` (Amazon Comprehend Medical), ``replay:PATH`` (recorded results,
            a file or a directory, see ``nlp.replay``), ``local`` or ``local:ASSETS_DIR``
            (the offline engine; assets default to ``models.assets_dir()``).
        region: AWS region for ``comprehend`` (default: the boto3 session's).
        **options: Per engine. ``comprehend``: ``requests_per_second`` (40),
            ``characters_per_second`` (40,000), ``burst_seconds`` (0), ``max_attempts`` (8),
            ``limits`` (per-operation Text limit), ``endpoint_url``, ``client`` (a prebuilt
            boto3 client). ``local``: ``assets_dir``. ``replay``: none.

    Raises:
        EngineConfigError: Unknown spec (``NLP135``), unknown or bad option (``NLP136``), local
            engine unavailable (``NLP137``), bad replay path (``NLP133``/``NLP134``).
    """
    kind, _, argument = spec.strip().partition(":")
    kind = {"comprehend-medical": "comprehend"}.get(kind, kind)
    if kind not in _OPTIONS:
        raise EngineConfigError(
            f"unknown engine {spec!r}; expected one of {', '.join(ENGINE_SPECS)}", code="NLP135"
        )
    unknown = sorted(set(options) - _OPTIONS[kind])
    if unknown:
        raise EngineConfigError(f"unknown options for {kind}: {', '.join(unknown)}", code="NLP136")
    if kind == "comprehend":
        if argument:
            raise EngineConfigError(f"comprehend takes no argument: {spec!r}", code="NLP135")
        return _comprehend(region, options)
    if kind == "replay":
        if not argument:
            raise EngineConfigError("replay needs a path: replay:PATH", code="NLP133")
        from nlp.replay import ReplayEngine

        return ReplayEngine(argument)
    return _local(argument, options)
