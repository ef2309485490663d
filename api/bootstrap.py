"""The composition root: engine, policy, clock, store and upstream, built from the settings.

Every entry point builds what it needs here and nowhere else: the app's lifespan
(``api.app``), the webhook workers (``api.intake.workers``), the batch command
(``cli.reprocess_cmd``) and the benchmarks (``cli.bench``). Nothing is built at import.

>>> build_policy(Settings(profile="healthlake")).profile
'healthlake'
"""

from __future__ import annotations

import gc
import importlib
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from api.clock import Clock, utc_now
from api.observability import CountingTransport, Metrics, TimedEngine
from api.service import DocumentService, Limits
from api.settings import Settings
from api.store.base import Database, FhirStore, NlpIndex, ServiceStore, StoreError
from api.store.factory import OpenStore, open_store
from api.store.http import HttpFhirStore
from enrich.policy import EnrichmentPolicy
from nlp.base import NlpEngine
from nlp.schema import NlpResult

log = logging.getLogger(__name__)

#: Engine specs of any importable factory: ``python:module:factory[:ARG]`` (tests, benchmarks).
PYTHON_SPEC = "python:"


class SerializedEngine:
    """Wraps an engine whose ``analyze`` must not run concurrently (spaCy pipelines)."""

    def __init__(self, engine: NlpEngine) -> None:
        self.inner = engine
        self.name = engine.name
        self.version = engine.version
        self._lock = threading.Lock()

    def analyze(self, text: str) -> NlpResult:
        """``inner.analyze`` under a lock."""
        with self._lock:
            return self.inner.analyze(text)


class DelayedEngine:
    """Test-only wrapper that sleeps before each analysis (crash tests need a slow engine)."""

    def __init__(self, engine: NlpEngine, delay_s: float) -> None:
        self._engine = engine
        self.name = engine.name
        self.version = engine.version
        self.delay_s = delay_s

    def analyze(self, text: str) -> NlpResult:
        """Sleep ``delay_s``, then delegate."""
        time.sleep(self.delay_s)
        return self._engine.analyze(text)


def engine_from_spec(spec: str, *, region: str | None = None) -> NlpEngine:
    """An engine from a spec: ``local[:ASSETS]`` | ``comprehend`` | ``replay:PATH``
    (``nlp.factory``), or ``python:module:factory[:ARG]`` (any importable factory).

    Raises:
        nlp.base.EngineConfigError: the engine cannot be built (``[NLP13x]``, ``[NLP140]``).
    """
    if spec.startswith(PYTHON_SPEC):
        module_name, _, rest = spec[len(PYTHON_SPEC) :].partition(":")
        attr, _, arg = rest.partition(":")
        factory: Callable[..., NlpEngine] = getattr(importlib.import_module(module_name), attr)
        return factory(arg) if arg else factory()
    from nlp.factory import make_engine

    if spec == "comprehend":
        return make_engine(spec, region=region)
    return make_engine(spec)


#: Net new container objects before the cyclic collector's youngest generation is examined
#: (CPython's default: 700). One enriched note keeps ~3,000 (its result, aws-cm tree, rows and
#: resources) until its write ends and frees them: at 700 the collector walked them several
#: times per note (~0.5 ms of CPU); past them it almost never runs (cycles are still found).
YOUNG_GC_THRESHOLD = 10_000


def settle_heap() -> None:
    """Move what start-up built (an engine's tables: some 400,000 objects) out of the cyclic
    garbage collector's generations, for a process that keeps it to the end, and let the
    youngest generation hold one note's objects (``YOUNG_GC_THRESHOLD``).

    Otherwise every full collection walks it again: about 6 ms of CPU per enriched
    document on average, and the p99 of enrich-on-write (docs/performance.md).
    """
    gc.collect()
    gc.freeze()
    young, older, oldest = gc.get_threshold()
    gc.set_threshold(max(YOUNG_GC_THRESHOLD, young), older, oldest)


def build_engine(settings: Settings) -> NlpEngine:
    """The service's engine: Comprehend as is (thread-safe), others serialised; the heap is
    settled once it is built (the process keeps it, ``settle_heap``)."""
    started = time.perf_counter()
    engine = engine_from_spec(settings.engine, region=settings.aws_region)
    settle_heap()
    if settings.engine != "comprehend":
        engine = SerializedEngine(engine)
    log.info(
        "engine %s %s ready in %.2f s", engine.name, engine.version, time.perf_counter() - started
    )
    return engine


def policy_fields(settings: Settings) -> dict[str, Any]:
    """The policy settings as plain data (batch workers rebuild the policy from them)."""
    fields: dict[str, Any] = {"profile": settings.profile}
    if settings.min_score is not None:
        fields["min_score"] = settings.min_score
    return fields


def build_policy(settings: Settings) -> EnrichmentPolicy:
    """The enrichment policy of the configured profile."""
    return EnrichmentPolicy.model_validate(policy_fields(settings))


def build_limits(settings: Settings) -> Limits:
    """What one document may cost (``max_note_chars``, ``max_generated_resources``,
    ``max_index_rows``)."""
    return Limits(
        max_note_chars=settings.max_note_chars,
        max_generated_resources=settings.max_generated_resources,
        max_index_rows=settings.max_index_rows,
    )


def open_service_store(settings: Settings, *, clock: Clock = utc_now) -> OpenStore:
    """``(db, store, index)``: the SQLite file, or PostgreSQL for a ``postgresql://`` URL (D10)."""
    return open_store(
        settings.db_path,
        clock=clock,
        generated_history=settings.store_generated_history,
        page_size=settings.sqlite_page_size,
        secure_delete=settings.sqlite_secure_delete,
    )


def build_upstream(
    settings: Settings,
    *,
    url: str | None = None,
    token: str | None = None,
    required: bool = False,
    timeout: Any = None,
    metrics: Metrics | None = None,
) -> HttpFhirStore | None:
    """The upstream FHIR server (read and write-back target), or ``None`` when there is none.

    Args:
        settings: ``upstream`` (``none`` | ``fhir`` | ``healthlake``), ``upstream_url``,
            ``upstream_token``, the ``smart_*`` settings, ``healthlake_datastore_id``,
            ``aws_region``.
        url: a FHIR base URL that overrides the settings (``reprocess --from URL``).
        token: a bearer token that overrides the settings' token and SMART.
        required: an upstream is wanted even when ``upstream = "none"`` (``reprocess --from
            upstream``): ``upstream_url`` then names it.
        timeout: ``httpx`` timeout (default 30 s, connect 5 s).
        metrics: count the upstream's 429/5xx answers and connection failures there.

    Raises:
        StoreError: ``[NLP520]`` when the settings do not name a server completely.
    """
    import httpx

    from api.store.http import BearerAuth

    kind = "fhir" if url else settings.upstream
    if kind == "none" and not required:
        return None
    if kind == "healthlake":
        from api.store.healthlake import healthlake_store

        if not settings.healthlake_datastore_id or not settings.aws_region:
            raise StoreError(
                "upstream=healthlake needs healthlake_datastore_id and aws_region", code="NLP520"
            )
        return healthlake_store(settings.healthlake_datastore_id, settings.aws_region)
    base = url or settings.upstream_url
    if not base:
        raise StoreError("no upstream FHIR URL: set DOCREF_NLP_UPSTREAM_URL", code="NLP520")
    transport = CountingTransport(metrics) if metrics is not None else None
    client = httpx.Client(timeout=timeout or httpx.Timeout(30.0, connect=5.0), transport=transport)
    auth: httpx.Auth | None = None
    if token:
        auth = BearerAuth(token)
    elif settings.smart_private_key_path:
        from api.store.smart import SmartBackendAuth, discover_token_url

        token_url = settings.smart_token_url or discover_token_url(client, base)
        auth = SmartBackendAuth(
            token_url,
            settings.smart_client_id or "",
            Path(settings.smart_private_key_path).read_bytes(),
            alg=settings.smart_alg,
            kid=settings.smart_kid,
            scope=settings.smart_scope,
        )
    elif settings.upstream_token:
        auth = BearerAuth(settings.upstream_token)
    return HttpFhirStore(base, client, auth)


@dataclass
class Services:
    """Everything the service runs on, built once from the settings.

    Attributes:
        settings: the configuration.
        engine: the NLP engine (serialised unless thread-safe).
        policy: generation profile and rules.
        clock: UTC now.
        db: the service database (intake queue, store and NLP index live there).
        store: the service's FHIR store.
        index: the NLP index.
        upstream: the write-back server of the webhook path (``None``: the service store).
        metrics: the Prometheus metrics (``GET /metrics``).
    """

    settings: Settings
    engine: NlpEngine
    policy: EnrichmentPolicy
    clock: Clock
    db: Database
    store: ServiceStore
    index: NlpIndex
    upstream: HttpFhirStore | None = None
    metrics: Metrics = field(default_factory=Metrics)

    def documents(
        self, *, store: FhirStore | None = None, engine: NlpEngine | None = None
    ) -> DocumentService:
        """The application service writing to ``store`` (default: the service store)."""
        return DocumentService(
            engine=engine or self.engine,
            policy=self.policy,
            clock=self.clock,
            store=store or self.store,
            index=self.index,
            limits=build_limits(self.settings),
            observe=self.metrics.observe_document,
        )

    def write_back(self) -> FhirStore:
        """Where the webhook path writes: the upstream server, else the service store."""
        return self.upstream if self.upstream is not None else self.store

    def intake_documents(self) -> DocumentService:
        """The application service of the webhook workers: it writes back (``write_back``);
        ``test_engine_delay_s`` (tests only) slows its engine."""
        engine = self.engine
        if self.settings.test_engine_delay_s > 0:
            engine = DelayedEngine(engine, self.settings.test_engine_delay_s)
        return self.documents(store=self.write_back(), engine=engine)

    def close(self) -> None:
        """Close the upstream client and the database."""
        if self.upstream is not None:
            self.upstream.close()
        self.db.close()


def build_services(
    settings: Settings, *, engine: NlpEngine | None = None, clock: Clock | None = None
) -> Services:
    """Store, index, policy, engine and upstream from ``settings``.

    Args:
        settings: the configuration.
        engine: an engine to use instead of the configured one (tests, benchmarks).
        clock: UTC now (default: the system clock; tests: ``tests.fakes.FixedClock``).

    Raises:
        nlp.base.EngineConfigError: the engine cannot be built.
        StoreError: the database cannot be opened, or the upstream settings are incomplete.
    """
    now = clock or utc_now
    metrics = Metrics()
    db, store, index = open_service_store(settings, clock=now)
    try:
        built = engine if engine is not None else build_engine(settings)
        return Services(
            settings=settings,
            engine=TimedEngine(built, metrics),
            policy=build_policy(settings),
            clock=now,
            db=db,
            store=store,
            index=index,
            upstream=build_upstream(settings, metrics=metrics),
            metrics=metrics,
        )
    except BaseException:
        db.close()
        raise
