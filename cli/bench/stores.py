"""``docref-nlp bench-stores``: documents/s through the write path, SQLite vs PostgreSQL.

Prints figures; it is not a test. The notes are the repository samples that have a recorded NLP
result (cycled to ``--count`` documents, each its own id, written once); the engine replays
those results from memory (no NLP cost), so the figures are enrichment + store write.
PostgreSQL is a throwaway server started here (``initdb`` in a temp dir, unix socket) unless
``--pg-url`` names one; ``--processes N`` also runs N writer processes at once on each backend.
"""

from __future__ import annotations

import multiprocessing
import os
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import typer

from cli.bench.e2e import write_through
from cli.bench.notes import RecordedEngine, sample_notes
from cli.bench.services import open_services

Figures = tuple[int, int, float, float]  # documents, generated, seconds, client CPU seconds


def corpus() -> tuple[list[dict[str, Any]], RecordedEngine]:
    """Sample DocumentReferences with a recorded result, and the engine replaying them."""
    samples = [(doc, text, result) for doc, text, result in sample_notes() if result]
    if not samples:
        raise typer.BadParameter("no sample with a recorded result under samples/nlp/")
    results = {text: result for _, text, result in samples if result is not None}
    return [doc for doc, _, _ in samples], RecordedEngine(results)


def write_documents(url: str, prefix: str, count: int) -> Figures:
    """Write ``count`` documents through the application service on ``url``."""
    templates, engine = corpus()
    services = open_services(url, engine=engine)
    docs = (dict(templates[n % len(templates)], id=f"{prefix}-{n}") for n in range(count))
    try:
        timings = write_through(services.documents(), docs)
    finally:
        services.close()
    return count, timings.generated, timings.wall_s, timings.cpu_s


class _Capture:
    """An atomic store that records each ``EnrichmentWrite`` (then applies it to ``inner``)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.writes: list[Any] = []

    def read(self, resource_type: str, resource_id: str) -> Any:
        return self.inner.read(resource_type, resource_id)

    def save_all(self, resources: Any, *, delete: Any = ()) -> Any:
        return self.inner.save_all(resources, delete=delete)

    def search(self, resource_type: str, params: Any) -> Any:
        return self.inner.search(resource_type, params)

    def apply(self, write: Any) -> Any:
        self.writes.append(write)
        return self.inner.apply(write)


def enrichment_writes(count: int) -> list[Any]:
    """The ``EnrichmentWrite`` of ``count`` documents (enriched once, on an in-memory SQLite)."""
    templates, engine = corpus()
    services = open_services(":memory:", engine=engine)
    capture = _Capture(services.store)
    docs = (dict(templates[n % len(templates)], id=f"apply-{n}") for n in range(count))
    try:
        write_through(services.documents(store=capture), docs)
    finally:
        services.close()
    return capture.writes


def apply_only(url: str, writes: list[Any]) -> Figures:
    """The store alone: ``store.apply`` of pre-computed enrichments."""
    from api.store.factory import open_store

    db, store, _ = open_store(url)
    started, cpu = time.perf_counter(), time.process_time()
    for write in writes:
        store.apply(write)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    db.close()
    return len(writes), sum(len(w.generated) for w in writes), seconds, cpu


SEARCHES: list[tuple[str, list[tuple[str, str]]]] = [
    ("ICD-10-CM code", [("infer-icd10cm-entity-concept-code", "{code}")]),
    (
        "seed query (text|score, 2 ops)",
        [
            ("infer-icd10cm-entity-text-concept-score", "streptococcal|0.6"),
            ("infer-rxnorm-entity-text-concept-score", "Amoxicillin|0.8"),
        ],
    ),
    ("text prefix, page of 50", [("detectEntities-entity-text", "pain")]),
    ("subject + date sort, 10", [("subject", "{subject}"), ("_sort", "-date"), ("_count", "10")]),
]


def search_times(url: str, repeat: int = 5) -> list[tuple[str, float, int]]:
    """Median ms of each ``SEARCHES`` query on what the runs wrote: (label, ms, total)."""
    from api.search import parse_search
    from api.store.factory import open_store

    templates, engine = corpus()
    subject = str(templates[0].get("subject", {}).get("reference", "Patient/none"))
    code = next(
        concepts[0].code
        for result in engine.results.values()
        for entity in result.icd10cm_entities
        if (concepts := entity.concepts)
    )
    db, store, _ = open_store(url)
    timings = []
    for label, params in SEARCHES:
        query = parse_search(
            "DocumentReference", [(k, v.format(code=code, subject=subject)) for k, v in params]
        )
        runs = []
        for _ in range(repeat):
            started = time.perf_counter()
            total = store.execute(query).total
            runs.append(time.perf_counter() - started)
        timings.append((label, sorted(runs)[repeat // 2] * 1000, total))
    db.close()
    return timings


def _child(url: str, prefix: str, count: int, queue: Any) -> None:
    queue.put(write_documents(url, prefix, count))


def parallel(url: str, prefix: str, count: int, processes: int) -> Figures:
    """``processes`` writers at once (fork), each ``count // processes`` documents."""
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    each = max(1, count // processes)
    children = [
        context.Process(target=_child, args=(url, f"{prefix}-p{i}", each, queue))
        for i in range(processes)
    ]
    started = time.perf_counter()
    for child in children:
        child.start()
    done = [queue.get(timeout=600) for _ in children]
    for child in children:
        child.join(60)
    seconds = time.perf_counter() - started
    return sum(d[0] for d in done), sum(d[1] for d in done), seconds, sum(d[3] for d in done)


def wal_bytes(url: str, run: Callable[[], Figures]) -> tuple[Figures, float | None]:
    """``run()`` and the WAL bytes per document it made: PostgreSQL's WAL position before
    and after (the throwaway server has no other writer); ``None`` for SQLite (see
    ``bench-e2e``: its WAL pass)."""
    from api.store.dsn import is_postgres_url

    if not is_postgres_url(url):
        return run(), None
    import psycopg

    def position() -> str:
        with psycopg.connect(url, autocommit=True) as conn:
            row = conn.execute("SELECT pg_current_wal_insert_lsn()::text").fetchone()
            return str(row[0]) if row else "0/0"

    before = position()
    figures = run()
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute("SELECT pg_wal_lsn_diff(%s, %s)", (position(), before)).fetchone()
    return figures, float(row[0]) / figures[0] if row else None


def report(label: str, run: Callable[[], Figures], url: str | None = None) -> None:
    """One line of figures of ``run()`` (with the WAL bytes per document on PostgreSQL)."""
    (docs, generated, seconds, cpu), wal = wal_bytes(url, run) if url else (run(), None)
    per_doc = f"  WAL {wal / 1024:7.1f} KB/doc" if wal is not None else ""
    typer.echo(
        f"{label:<62} {docs / seconds:7.1f} docs/s  {seconds * 1000 / docs:6.2f} ms/doc  "
        f"client CPU {cpu * 1000 / docs:5.2f} ms/doc  ({generated / docs:.1f} generated each)"
        f"{per_doc}"
    )


def bench_stores(
    count: int = typer.Option(400, "--count", min=1, help="Documents per run."),
    processes: int = typer.Option(2, "--processes", min=1, help="Writers of the parallel run."),
    pg_url: str | None = typer.Option(
        None, "--pg-url", help="An existing PostgreSQL database (default: a throwaway server)."
    ),
) -> None:
    """Documents/s through the write path on SQLite and PostgreSQL, and search latencies."""
    from cli.bench.pgserver import TempServer

    servers: list[TempServer] = []
    targets: list[tuple[str, str]] = []
    with tempfile.TemporaryDirectory(prefix="bench-stores-") as tmp:
        targets.append(("SQLite (WAL, synchronous=NORMAL)", str(Path(tmp) / "bench.sqlite")))
        if pg_url:
            targets.append(("PostgreSQL (--pg-url)", pg_url))
        else:
            for label, commit in (
                ("synchronous_commit=on", "on"),
                ("synchronous_commit=off", "off"),
            ):
                server = TempServer(durable=True, settings={"synchronous_commit": commit}).start()
                servers.append(server)
                targets.append((f"PostgreSQL (fsync, {label})", server.url()))
        try:
            templates, _ = corpus()
            typer.echo(
                f"{len(templates)} sample notes with recorded results, replay engine, "
                f"{count} documents per run, load average {os.getloadavg()[0]:.1f} "
                f"on {os.cpu_count()} CPUs"
            )
            writes = enrichment_writes(count)
            for label, url in targets:
                write_documents(url, "warm", 20)
                report(f"{label}, store.apply only", partial(apply_only, url, writes))
                # the same writes again: a re-enrichment that changes nothing (rows found
                # under their document, bodies compared, no new version)
                report(f"{label}, store.apply again, unchanged", partial(apply_only, url, writes))
                run_one = partial(write_documents, url, "one", count)
                report(f"{label}, 1 writer", run_one, url)
                if processes > 1:
                    run = partial(parallel, url, "par", count, processes)
                    report(f"{label}, {processes} processes", run)
                for name, ms, total in search_times(url):
                    typer.echo(f"    search {name:<34} {ms:8.2f} ms  ({total} matches)")
        finally:
            for server in servers:
                server.stop()
