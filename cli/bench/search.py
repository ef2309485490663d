"""``docref-nlp bench-search``: search latency over a store of sample-derived notes.

Prints figures; it is not a test. The notes are the repository samples that have a recorded NLP
result (cycled to ``--count`` documents, each its own id and one of 500 patients), written
through the application service with those results replayed (no NLP cost), into a new SQLite
file (or a throwaway PostgreSQL with ``--pg``). Each query runs ``--repeat`` times after one
warm-up run; the median is printed with the number of matches: the store's answer (``store``:
wall and CPU time) and the same search through the FHIR API in process (``http``: the ASGI
app as a server calls it, the response's JSON bytes included), so that nothing won in the
store is lost in the response.
"""

from __future__ import annotations

import json
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import typer

from cli.bench.e2e import write_through
from cli.bench.services import open_services
from cli.bench.stores import corpus

#: (label, resource type, parameters): ``{code}`` is an ICD-10-CM code of the samples' results
#: (``{text}``: the first word of its entity), ``{doc}`` a document that generated Conditions
QUERIES: list[tuple[str, str, list[tuple[str, str]]]] = [
    (
        "guide's NLP query (as printed)",
        "DocumentReference",
        [
            ("_lastUpdated", "le2021-12-19"),
            ("infer-icd10cm-entity-text-concept-score;", "streptococcal|0.6"),
            ("infer-rxnorm-entity-text-concept-score", "Amoxicillin|0.8"),
        ],
    ),
    (
        "guide's NLP query, no _lastUpdated",
        "DocumentReference",
        [
            ("infer-icd10cm-entity-text-concept-score", "streptococcal|0.6"),
            ("infer-rxnorm-entity-text-concept-score", "Amoxicillin|0.8"),
        ],
    ),
    ("concept-code lookup", "DocumentReference", [("infer-icd10cm-entity-concept-code", "{code}")]),
    ("entity text prefix", "DocumentReference", [("detectEntities-entity-text", "pain")]),
    ("composite text|code", "DocumentReference",
     [("infer-icd10cm-entity-text-concept-code", "{text}|{code}")]),
    ("score only (every row)", "DocumentReference", [("infer-icd10cm-entity-score", "ge0.9")]),
    ("status + _count=0", "DocumentReference",
     [("cm-decoration-status", "SUCCESS"), ("_count", "0")]),
    ("Condition code", "Condition", [("code", "http://hl7.org/fhir/sid/icd-10-cm|{code}")]),
    ("Condition patient, newest 10", "Condition",
     [("patient", "p-7"), ("_sort", "-_lastUpdated"), ("_count", "10")]),
    ("_id + _include nlp-generated", "DocumentReference",
     [("_id", "{doc}"), ("_include", "DocumentReference:nlp-generated")]),
    ("Condition derived-from", "Condition", [("derived-from", "DocumentReference/{doc}")]),
]  # fmt: skip


def build(url: str, count: int) -> float:
    """Write ``count`` sample-derived documents; documents per second of wall time."""
    templates, engine = corpus()
    services = open_services(url, engine=engine)
    docs = (
        dict(
            templates[n % len(templates)],
            id=f"search-{n}",
            subject={"reference": f"Patient/p-{n % 500}"},
        )
        for n in range(count)
    )
    started = time.perf_counter()
    try:
        write_through(services.documents(), docs)
    finally:
        services.close()
    return count / (time.perf_counter() - started)


def icd_code() -> tuple[str, str]:
    """The first ICD-10-CM code of the samples' recorded results, and the first word of its
    entity's text."""
    _, engine = corpus()
    return next(
        ((entity.text or "").split()[0].lower(), concepts[0].code)
        for result in engine.results.values()
        for entity in result.icd10cm_entities
        if (concepts := entity.concepts) and concepts[0].code and entity.text
    )


def _median_ms(run: Callable[[], Any], repeat: int) -> tuple[float, float, Any]:
    """Median wall and CPU milliseconds of ``repeat`` runs (after one warm-up), and the last
    run's answer."""
    answer = run()
    walls, cpus = [], []
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        answer = run()
        cpus.append(time.process_time() - cpu)
        walls.append(time.perf_counter() - wall)
    return statistics.median(walls) * 1000, statistics.median(cpus) * 1000, answer


async def asgi_get(app: Any, path: str, items: list[tuple[str, str]]) -> bytes:
    """``GET path?items`` through the ASGI app as a server calls it (routing, middleware, the
    route in its thread pool, the response's bytes): the body of a 200 answer. A client
    (``TestClient``, httpx) adds its own ~3 ms of reading to a 4.8 MB answer: not the app's."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": urlencode(items).encode(),
        "root_path": "",
        "headers": [(b"host", b"bench")],
        "client": ("127.0.0.1", 1),
        "server": ("bench", 80),
    }
    chunks: list[bytes] = []
    status: list[int] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            status.append(message["status"])
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, send)
    if status != [200]:
        raise RuntimeError(f"GET {path} answered {status}")
    return b"".join(chunks)


def timings(url: str, repeat: int) -> list[dict[str, Any]]:
    """Median milliseconds of each query of ``QUERIES``, in the store and over HTTP."""
    from fastapi.testclient import TestClient

    from api.app import create_app
    from api.search import parse_search
    from api.settings import Settings
    from api.store.factory import open_store

    text, code = icd_code()
    db, store, _ = open_store(url)
    app = create_app(Settings(db_path=url, intake_workers=0), engine=corpus()[1])
    rows: list[dict[str, Any]] = []
    try:
        doc = next(
            f"search-{n}"
            for n in range(100)
            if any(r.startswith("Condition/") for r in store.generated_from(f"search-{n}"))
        )
        values = {"code": code, "text": text, "doc": doc}
        with TestClient(app) as client:  # the app's lifespan: its services
            portal = client.portal
            if portal is None:
                raise RuntimeError("the test client did not start the app")
            for label, resource_type, params in QUERIES:
                items = [(k, v.format(**values)) for k, v in params]
                query = parse_search(resource_type, items)
                wall, cpu, result = _median_ms(partial(store.execute, query), repeat)

                get = partial(portal.call, asgi_get, app, f"/{resource_type}", items)
                http_wall, http_cpu, body = _median_ms(get, repeat)
                if json.loads(body)["total"] != result.total:  # the same search both ways
                    raise RuntimeError(f"{label}: the API and the store disagree")
                rows.append(
                    {
                        "query": label,
                        "ms": round(wall, 2),
                        "cpu_ms": round(cpu, 2),
                        "http_ms": round(http_wall, 2),
                        "http_cpu_ms": round(http_cpu, 2),
                        "http_bytes": len(body),
                        "total": result.total,
                        "included": len(result.included),
                    }
                )
        runs = []
        for n in range(repeat * 20):
            started = time.perf_counter()
            store.read("DocumentReference", f"search-{n * 37 % 1000}")
            runs.append(time.perf_counter() - started)
        rows.append({"query": "read a document by id", "ms": statistics.median(runs) * 1000})
    finally:
        db.close()
    return rows


def bench_search(
    count: int = typer.Option(5000, "--count", min=10, help="Documents in the store."),
    repeat: int = typer.Option(7, "--repeat", min=1, help="Runs of each query (median)."),
    pg: bool = typer.Option(False, "--pg", help="On a throwaway PostgreSQL instead of SQLite."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """Search latency over ``--count`` sample-derived notes (SQLite, or PostgreSQL)."""
    from cli.bench.pgserver import TempServer

    server = TempServer().start() if pg else None
    with tempfile.TemporaryDirectory(prefix="bench-search-") as tmp:
        url = server.url() if server is not None else str(Path(tmp) / "search.sqlite")
        try:
            rate = build(url, count)
            rows = timings(url, repeat)
        finally:
            if server is not None:
                server.stop()
    report = {
        "store": "postgresql" if pg else "sqlite",
        "documents": count,
        "write_docs_per_s": round(rate, 1),
        "load_avg_1m": os.getloadavg()[0],
        "queries": rows,
    }
    if as_json:
        typer.echo(json.dumps(report, indent=2))
        return
    typer.echo(
        f"{count} sample-derived notes on {report['store']} (written at {rate:.1f} docs/s), "
        f"median of {repeat} runs, load average {report['load_avg_1m']:.1f}"
    )
    typer.echo(f"    {'':<38} {'store ms':>8} {'cpu':>8} {'http ms':>8} {'cpu':>8} {'KB':>8}")
    for row in rows:
        total = f"({row['total']} matches" if "total" in row else ""
        if total:
            total += f", {row['included']} included)" if row["included"] else ")"
        http = (
            f"{row['cpu_ms']:8.2f} {row['http_ms']:8.2f} {row['http_cpu_ms']:8.2f} "
            f"{row['http_bytes'] / 1024:8.1f}"
            if "http_ms" in row
            else f"{'':8} {'':8} {'':8} {'':8}"
        )
        typer.echo(f"    {row['query']:<38} {row['ms']:8.2f} {http}  {total}")
