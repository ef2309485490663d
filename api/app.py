"""create_app(settings=None) -> FastAPI: the composition root; the lifespan builds everything."""

from __future__ import annotations

import importlib
import json
import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from api import errors
from api.service import SerializedEngine, process_document
from api.settings import Settings
from api.store.factory import open_store
from api.store.sqlite_index import utc_now
from enrich.policy import EnrichmentPolicy
from enrich.text import content_hash
from nlp.base import NlpEngine

log = logging.getLogger(__name__)

#: Routers of other modules, included when present (each exposes ``router``).
OPTIONAL_ROUTERS = ("api.routes.webhook", "api.routes.status")


def build_engine(settings: Settings) -> NlpEngine:
    """``nlp.factory.make_engine``; engines that are not thread-safe are serialised."""
    from nlp.factory import make_engine

    spec = settings.engine
    if spec == "comprehend":
        return make_engine(spec, region=settings.aws_region)
    return SerializedEngine(make_engine(spec))


def build_policy(settings: Settings) -> EnrichmentPolicy:
    """The enrichment policy of the configured profile."""
    if settings.min_score is None:
        return EnrichmentPolicy(profile=settings.profile)
    return EnrichmentPolicy(profile=settings.profile, min_score=settings.min_score)


def build_state(
    state: Any,
    settings: Settings,
    *,
    engine: NlpEngine | None = None,
    clock: Callable[[], datetime] | None = None,
) -> None:
    """Fill ``app.state``: settings, db, store, index, engine, policy, clock (api/README.md)."""
    state.settings = settings
    state.clock = clock or utc_now
    # D10: the SQLite file, or PostgreSQL when db_path is a postgresql:// URL
    state.db, state.store, state.index = open_store(settings.db_path, clock=state.clock)
    state.policy = build_policy(settings)
    started = time.perf_counter()
    state.engine = engine if engine is not None else build_engine(settings)
    log.info(
        "engine %s %s ready in %.2f s",
        state.engine.name,
        state.engine.version,
        time.perf_counter() - started,
    )


def load_samples(state: Any, directory: Path) -> tuple[int, int]:
    """Load ``directory/*.json`` DocumentReferences through the write path, idempotently.

    A sample whose stored copy was processed from the same text by the same engine is skipped.
    Returns ``(loaded, skipped)``.
    """
    loaded = skipped = 0
    for path in sorted(directory.glob("*.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError):
            log.warning("sample %s is not readable JSON: skipped", path.name)
            skipped += 1
            continue
        docs = [data]
        if isinstance(data, dict) and data.get("resourceType") == "Bundle":
            docs = [e.get("resource") for e in data.get("entry") or [] if isinstance(e, dict)]
        for doc in docs:
            if not isinstance(doc, dict) or doc.get("resourceType") != "DocumentReference":
                skipped += 1
                continue
            if _already_loaded(state, doc):
                skipped += 1
                continue
            process_document(
                doc,
                engine=state.engine,
                store=state.store,
                index=state.index,
                policy=state.policy,
                clock=state.clock,
                skip_unchanged=False,
            )
            loaded += 1
    log.info("samples: %d loaded, %d skipped", loaded, skipped)
    return loaded, skipped


def _already_loaded(state: Any, doc: dict[str, Any]) -> bool:
    from api.service import read_text

    doc_id = doc.get("id")
    if not isinstance(doc_id, str) or state.store.read("DocumentReference", doc_id) is None:
        return False
    nlp = state.index.state(doc_id)
    text = read_text(doc, state.store)
    return bool(
        nlp is not None
        and nlp.text_hash == (content_hash(text) if text is not None else None)
        and nlp.engine_name == state.engine.name
        and nlp.engine_version == state.engine.version
    )


def _start_workers(state: Any) -> Callable[[], None] | None:
    try:
        workers = importlib.import_module("api.workers")
    except ModuleNotFoundError:
        return None
    start = getattr(workers, "start", None)
    if start is None:
        return None
    stop: Callable[[], None] = start(state)
    return stop


def create_app(
    settings: Settings | None = None,
    *,
    engine: NlpEngine | None = None,
    clock: Callable[[], datetime] | None = None,
) -> FastAPI:
    """The FHIR service. Nothing heavy happens here: the lifespan builds engine and store.

    Args:
        settings: configuration (default: ``Settings.from_env()``, read now).
        engine: an engine to use instead of ``make_engine(settings.engine)`` (tests).
        clock: UTC ``now`` (tests: ``tests.fakes.FixedClock``).
    """
    config = settings if settings is not None else Settings.from_env()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        build_state(app.state, config, engine=engine, clock=clock)
        stop = _start_workers(app.state)
        try:
            if config.load_samples:
                load_samples(app.state, Path(config.samples_dir))
            yield
        finally:
            if stop is not None:
                stop()
            app.state.db.close()

    app = FastAPI(
        title="docref-nlp",
        summary="FHIR R4 DocumentReference clinical NLP enrichment (HealthLake-compatible)",
        lifespan=lifespan,
    )
    app.state.settings = config
    errors.install(app)
    from api import ui
    from api.routes import fhir, metadata, operations

    app.include_router(metadata.router)
    for module_name in OPTIONAL_ROUTERS:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name != module_name:
                raise
            continue
        app.include_router(module.router)
    app.include_router(operations.router)
    ui.install(app)  # before the FHIR router, whose /{resource_type} would match /ui
    app.include_router(fhir.router)
    return app
