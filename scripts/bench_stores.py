"""Benchmark of the service stores: documents/s through ``process_document``, SQLite vs PostgreSQL.

Prints figures; it is not a test. The notes are the repository samples that have a recorded NLP
result (cycled to ``--count`` documents, each its own id, written once); the engine replays
those results (no NLP cost), so the figures are enrichment + store write. PostgreSQL is a
throwaway server started here (``initdb`` in a temp dir, unix socket) unless ``--pg-url`` names
one; ``--processes N`` also runs N writer processes at once on each backend.

    PYTHONPATH=. .venv/bin/python scripts/bench_stores.py --count 400 --processes 2
"""

# ruff: noqa: T201 - a benchmark prints its figures
from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from api.store.factory import open_store

ROOT = Path(__file__).resolve().parent.parent


def corpus() -> tuple[list[dict[str, Any]], dict[str, dict[str, Any]]]:
    """Sample DocumentReferences with a recorded result, and ``{text: result}``."""
    from enrich.text import extract_text

    docs: list[dict[str, Any]] = []
    results: dict[str, dict[str, Any]] = {}
    for path in sorted((ROOT / "samples").glob("*.json")):
        recorded = ROOT / "samples" / "nlp" / path.name
        doc = json.loads(path.read_text(encoding="utf-8"))
        extracted = extract_text(doc)
        if not recorded.is_file() or extracted is None or not extracted.text:
            continue
        docs.append(doc)
        results[extracted.text] = json.loads(recorded.read_text(encoding="utf-8"))
    if not docs:
        raise SystemExit("no sample with a recorded result under samples/ and samples/nlp/")
    return docs, results


def write_documents(url: str, prefix: str, count: int) -> tuple[int, int, float, float]:
    """Write ``count`` documents through ``process_document``: (docs, generated, seconds)."""
    from datetime import UTC, datetime

    from api.service import process_document
    from enrich.policy import EnrichmentPolicy
    from tests.fakes import FakeEngine

    templates, results = corpus()
    engine = FakeEngine(results, name="replay", version="bench")
    policy = EnrichmentPolicy(profile="clinical")
    db, store, index = open_store(url)
    generated = 0

    def clock() -> datetime:
        return datetime.now(UTC)

    started, cpu = time.perf_counter(), time.process_time()
    for n in range(count):
        doc = dict(templates[n % len(templates)], id=f"{prefix}-{n}")
        outcome = process_document(
            doc, engine=engine, store=store, index=index, policy=policy, clock=clock
        )
        generated += len(outcome.generated)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    db.close()
    return count, generated, seconds, cpu


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
    from datetime import UTC, datetime

    from api.service import process_document
    from enrich.policy import EnrichmentPolicy
    from tests.fakes import FakeEngine

    templates, results = corpus()
    engine = FakeEngine(results, name="replay", version="bench")
    db, store, index = open_store(":memory:")
    capture = _Capture(store)
    for n in range(count):
        doc = dict(templates[n % len(templates)], id=f"apply-{n}")
        process_document(
            doc,
            engine=engine,
            store=capture,  # type: ignore[arg-type]
            index=index,
            policy=EnrichmentPolicy(profile="clinical"),
            clock=lambda: datetime.now(UTC),
        )
    db.close()
    return capture.writes


def apply_only(url: str, writes: list[Any]) -> tuple[int, int, float, float]:
    """The store alone: ``store.apply`` of pre-computed enrichments."""
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

    templates, results = corpus()
    subject = str(templates[0].get("subject", {}).get("reference", "Patient/none"))
    code = next(
        e["ICD10CMConcepts"][0]["Code"]
        for r in results.values()
        for e in (r.get("InferICD10CM") or {}).get("Entities", [])
        if e.get("ICD10CMConcepts")
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


def parallel(url: str, prefix: str, count: int, processes: int) -> tuple[int, int, float, float]:
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


def report(label: str, run: Callable[[], tuple[int, int, float, float]]) -> None:
    docs, generated, seconds, cpu = run()
    print(
        f"{label:<62} {docs / seconds:7.1f} docs/s  {seconds * 1000 / docs:6.2f} ms/doc  "
        f"client CPU {cpu * 1000 / docs:5.2f} ms/doc  ({generated / docs:.1f} generated each)",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=400, help="documents per run (default 400)")
    parser.add_argument("--processes", type=int, default=2, help="writers of the parallel run")
    parser.add_argument("--pg-url", help="an existing PostgreSQL database (default: temp server)")
    args = parser.parse_args()

    from tests.pg.server import TempServer

    servers: list[TempServer] = []
    targets: list[tuple[str, str]] = []
    with tempfile.TemporaryDirectory(prefix="bench-stores-") as tmp:
        targets.append(("SQLite (WAL, synchronous=NORMAL)", str(Path(tmp) / "bench.sqlite")))
        if args.pg_url:
            targets.append(("PostgreSQL (--pg-url)", args.pg_url))
        else:
            for label, commit in (
                ("synchronous_commit=on", "on"),
                ("synchronous_commit=off", "off"),
            ):
                server = TempServer(durable=True, settings={"synchronous_commit": commit}).start()
                servers.append(server)
                targets.append((f"PostgreSQL 15 (fsync, {label})", server.url()))
        try:
            templates, _ = corpus()
            print(
                f"{len(templates)} sample notes with recorded results, replay engine, "
                f"{args.count} documents per run, load average {os.getloadavg()[0]:.1f} "
                f"on {os.cpu_count()} CPUs",
                flush=True,
            )
            writes = enrichment_writes(args.count)
            for label, url in targets:
                write_documents(url, "warm", 20)
                report(f"{label}, store.apply only", lambda u=url: apply_only(u, writes))
                report(f"{label}, 1 writer", lambda u=url: write_documents(u, "one", args.count))
                if args.processes > 1:
                    report(
                        f"{label}, {args.processes} processes",
                        lambda u=url: parallel(u, "par", args.count, args.processes),
                    )
                for name, ms, total in search_times(url):
                    print(f"    search {name:<34} {ms:8.2f} ms  ({total} matches)", flush=True)
        finally:
            for server in servers:
                server.stop()


if __name__ == "__main__":
    main()
