"""create_app(settings=None) -> FastAPI: the FHIR service; its lifespan runs the composition root.

The lifespan builds everything with ``api.bootstrap.build_services``, starts the webhook intake
(``api.intake.workers.start``), loads the samples when asked, and closes all at shutdown. Every
router is included here, in matching order (the FHIR catch-all routes last).
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from api import errors, openapi, ui
from api.bootstrap import Services, build_services
from api.clock import Clock
from api.intake import workers
from api.jsonbody import ensure_recursion_limit
from api.routes import fhir, health, metadata, operations, status, webhook
from api.service import DocumentService
from api.settings import Settings
from nlp.base import NlpEngine

log = logging.getLogger(__name__)


def expose(state: Any, services: Services) -> None:
    """Put the services on ``app.state``, where the route dependencies (``api.deps``) read
    them: settings, db, store, index, engine, policy, clock, upstream, metrics, documents."""
    state.services = services
    state.settings = services.settings
    state.db = services.db
    state.store = services.store
    state.index = services.index
    state.engine = services.engine
    state.policy = services.policy
    state.clock = services.clock
    state.upstream = services.upstream
    state.metrics = services.metrics
    state.documents = services.documents()


def load_samples(documents: DocumentService, directory: Path) -> tuple[int, int]:
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
            if _already_loaded(documents, doc):
                skipped += 1
                continue
            documents.process(doc, skip_unchanged=False)
            loaded += 1
    log.info("samples: %d loaded, %d skipped", loaded, skipped)
    return loaded, skipped


def _already_loaded(documents: DocumentService, doc: dict[str, Any]) -> bool:
    doc_id = doc.get("id")
    if not isinstance(doc_id, str) or documents.store.read("DocumentReference", doc_id) is None:
        return False
    nlp = documents.index.state(doc_id)
    prepared = documents.prepare(doc, validate=False)
    engine = documents.engine
    return bool(
        nlp is not None
        and nlp.text_hash == prepared.text_hash
        and nlp.engine_name == engine.name
        and nlp.engine_version == engine.version
    )


def create_app(
    settings: Settings | None = None,
    *,
    engine: NlpEngine | None = None,
    clock: Clock | None = None,
) -> FastAPI:
    """The FHIR service. Nothing heavy happens here: the lifespan builds engine and store.

    Args:
        settings: configuration (default: ``Settings.from_env()``, read now).
        engine: an engine to use instead of the configured one (tests).
        clock: UTC ``now`` (tests: ``tests.fakes.FixedClock``).
    """
    config = settings if settings is not None else Settings.from_env()
    ensure_recursion_limit(config.max_json_depth)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        services = build_services(config, engine=engine, clock=clock)
        expose(app.state, services)
        intake = workers.start(services.settings, services.db, services.intake_documents())
        app.state.intake, app.state.workers = intake.queue, intake.pool
        services.metrics.watch_queue(intake.queue.status)
        try:
            if config.load_samples:
                load_samples(app.state.documents, Path(config.samples_dir))
            yield
        finally:
            intake.pool.stop()
            services.close()

    app = FastAPI(
        title="docref-nlp",
        summary="FHIR R4 DocumentReference clinical NLP enrichment (HealthLake-compatible)",
        lifespan=lifespan,
    )
    app.state.settings = config
    errors.install(app)
    app.include_router(health.router)
    app.include_router(metadata.router)
    app.include_router(webhook.router)
    app.include_router(status.router)
    app.include_router(operations.router)
    ui.install(app)  # the viewer under /ui/ (its router and error pages)
    app.include_router(fhir.router)  # catch-all /{resource_type} routes: last
    openapi.install(app)  # the FHIR operations per type, with their bodies and parameters
    return app
