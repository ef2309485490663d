"""Metrics (Prometheus, ``GET /metrics``), PHI-safe log formatting (text or JSON lines).

``Metrics`` holds one ``prometheus_client`` registry per service (several apps in one test
process do not collide): HTTP requests and latency per route *template* (never the concrete
path or query: they may carry PHI), the intake queue (read at scrape time), documents enriched
per status, engine time, upstream failures. Labels carry no identifiers.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from nlp.base import NlpEngine
from nlp.schema import NlpResult

#: Seconds: a FHIR read takes milliseconds, a long note's enrichment several seconds.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
ENGINE_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class QueueCollector(Collector):
    """The intake queue's depth per state and the age of its oldest waiting job, read from the
    database at scrape time (``status()`` of ``api.intake.queue.IntakeQueue``)."""

    def __init__(self, status: Callable[[], dict[str, Any]]) -> None:
        self._status = status

    def collect(self) -> Iterator[Metric]:
        queue = self._status()["queue"]
        depth = GaugeMetricFamily(
            "docref_nlp_intake_jobs", "Intake jobs per state", labels=["state"]
        )
        for state in ("pending", "processing", "done", "dead", "gone", "retrying"):
            depth.add_metric([state], float(queue.get(state, 0)))
        yield depth
        yield GaugeMetricFamily(
            "docref_nlp_intake_queue_depth",
            "Intake jobs waiting or in progress",
            value=float(queue.get("depth", 0)),
        )
        yield GaugeMetricFamily(
            "docref_nlp_intake_oldest_pending_age_seconds",
            "Age of the oldest waiting or in-progress intake job",
            value=float(queue.get("oldest_pending_age_s", 0.0)),
        )


class Metrics:
    """The service's Prometheus metrics (one registry per service)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "docref_nlp_http_requests",
            "HTTP requests per method, route template and status",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "docref_nlp_http_request_duration_seconds",
            "HTTP request latency per method and route template",
            ["method", "route"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.documents = Counter(
            "docref_nlp_documents",
            "Documents processed per NLP status (unchanged: the loop guard wrote nothing)",
            ["status"],
            registry=self.registry,
        )
        self.engine_seconds = Histogram(
            "docref_nlp_engine_seconds",
            "Time in the NLP engine per analysed note",
            ["engine"],
            buckets=ENGINE_BUCKETS,
            registry=self.registry,
        )
        self.engine_errors = Counter(
            "docref_nlp_engine_errors",
            "Engine failures per error code",
            ["code"],
            registry=self.registry,
        )
        self.upstream_errors = Counter(
            "docref_nlp_upstream_errors",
            "Failed calls to the upstream FHIR server: HTTP status (429, 5xx) or exception",
            ["kind"],
            registry=self.registry,
        )
        self._queue: QueueCollector | None = None

    def watch_queue(self, status: Callable[[], dict[str, Any]]) -> None:
        """Report the intake queue (``IntakeQueue.status``) at each scrape."""
        if self._queue is not None:
            self.registry.unregister(self._queue)
        self._queue = QueueCollector(status)
        self.registry.register(self._queue)

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        """One HTTP request (``route``: the matched template, ``?`` when none matched)."""
        self.requests.labels(method, route, str(status)).inc()
        self.latency.labels(method, route).observe(seconds)

    def observe_document(self, status: str | None) -> None:
        """One document processed (``None``: unchanged, nothing written)."""
        self.documents.labels(status or "unchanged").inc()

    def render(self) -> bytes:
        """The exposition text (``CONTENT_TYPE``)."""
        return generate_latest(self.registry)


class TimedEngine:
    """An engine whose ``analyze`` time (and failures, by code) go to ``Metrics``."""

    def __init__(self, engine: NlpEngine, metrics: Metrics) -> None:
        self.inner = engine
        self.name = engine.name
        self.version = engine.version
        self._metrics = metrics

    def analyze(self, text: str) -> NlpResult:
        """``inner.analyze``, timed."""
        started = time.perf_counter()
        try:
            return self.inner.analyze(text)
        except Exception as exc:
            self._metrics.engine_errors.labels(str(getattr(exc, "code", "other"))).inc()
            raise
        finally:
            self._metrics.engine_seconds.labels(self.name).observe(time.perf_counter() - started)


class CountingTransport(httpx.BaseTransport):
    """An ``httpx`` transport that counts upstream failures (429 and 5xx answers, connection
    errors and timeouts) in ``Metrics.upstream_errors``; retries count once per attempt."""

    def __init__(self, metrics: Metrics, inner: httpx.BaseTransport | None = None) -> None:
        self._inner = inner or httpx.HTTPTransport()
        self._metrics = metrics

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        try:
            response = self._inner.handle_request(request)
        except httpx.TransportError as exc:
            self._metrics.upstream_errors.labels(type(exc).__name__).inc()
            raise
        if response.status_code == 429 or response.status_code >= 500:
            self._metrics.upstream_errors.labels(str(response.status_code)).inc()
        return response

    def close(self) -> None:
        self._inner.close()


# --------------------------------------------------------------------------- logging

#: ``LogRecord`` attributes that are not extras.
_STANDARD = frozenset([*vars(logging.LogRecord("", 0, "", 0, "", (), None)), "message", "asctime"])


def _exception_summary(record: logging.LogRecord) -> str | None:
    """The exception's class and innermost frame: never its message (it may quote input)."""
    if not record.exc_info or record.exc_info[1] is None:
        return None
    exc = record.exc_info[1]
    tb = exc.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    where = f" at {tb.tb_frame.f_code.co_filename}:{tb.tb_lineno}" if tb else ""
    return f"{type(exc).__name__}{where}"


class TextFormatter(logging.Formatter):
    """``time level logger: message``; an exception as its class and frame, no traceback."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        summary = _exception_summary(record)
        saved = record.exc_info, record.exc_text
        record.exc_info, record.exc_text = None, None
        try:
            line = super().format(record)
        finally:
            record.exc_info, record.exc_text = saved
        return f"{line} [{summary}]" if summary else line


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ``time`` (UTC, ISO 8601), ``level``, ``logger``, ``message``,
    ``exception`` (class and frame), and the record's extras."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        summary = _exception_summary(record)
        if summary:
            entry["exception"] = summary
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = value if isinstance(value, str | int | float | bool) else str(value)
        return json.dumps(entry, ensure_ascii=False)


#: Libraries that log request bodies, URLs with queries or headers at DEBUG/INFO (botocore logs
#: Comprehend's ``Text``; httpx the search URLs): kept at WARNING whatever the service's level.
QUIET_LOGGERS = (
    "botocore", "boto3", "s3transfer", "urllib3", "httpx", "httpcore", "psycopg",
    "hpack", "multipart", "python_multipart", "asyncio",
)  # fmt: skip


def configure_logging(level: str, fmt: str = "text") -> None:
    """Root logging at ``level`` in ``text`` or ``json`` lines on stderr (the service's and
    uvicorn's loggers alike); ``QUIET_LOGGERS`` stay at WARNING (no PHI at DEBUG either)."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error"):
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
