"""``docref-nlp bench-api``: end-to-end write throughput and API enrich-on-write latency."""

from __future__ import annotations

import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import typer

from cli.bench.e2e import write_through
from cli.bench.notes import ROOT, AsJson, Seed, Size, document, synthetic_note
from cli.bench.services import open_services

_MINIMAL = {"Prefer": "return=minimal"}  # the enriched document is large; the client discards it


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


def _end_to_end(engine_spec: str, notes: list[str], db_path: Path) -> dict[str, float]:
    """The write path (decode -> NLP -> enrich -> SQLite write) on one core, in-process."""
    services = open_services(str(db_path), engine_spec=engine_spec)
    try:
        services.engine.analyze(notes[0])  # warm-up outside the timing
        docs = (document(text, f"e2e-{i:05d}") for i, text in enumerate(notes))
        started, cpu_started = time.perf_counter(), time.process_time()
        timings = write_through(services.documents(), docs)
        elapsed = time.perf_counter() - started
        cpu = time.process_time() - cpu_started
        nlp_started = time.perf_counter()
        for text in notes:
            services.engine.analyze(text)
        nlp_s = time.perf_counter() - nlp_started
    finally:
        services.close()
    return {
        "docs_per_s": len(notes) / elapsed,
        "docs_per_cpu_s": len(notes) / cpu,
        "median_ms": statistics.median(timings.walls) * 1000,
        "p99_ms": _percentile(timings.walls, 0.99) * 1000,
        "nlp_share": nlp_s / elapsed,
    }


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _api_latency(
    engine_spec: str, notes: list[str], rate: float, requests: int, db_path: Path
) -> dict[str, float]:
    """PUT /DocumentReference at ``rate`` req/s against ``docref-nlp serve`` in its own process."""
    import httpx

    port = _free_port()
    env = {**os.environ, "DOCREF_NLP_LOG_LEVEL": "WARNING", "DOCREF_NLP_INTAKE_WORKERS": "0"}
    executable = Path(sys.executable).with_name("docref-nlp")
    command = [str(executable), "serve", "--port", str(port), "--db", str(db_path)]
    server = subprocess.Popen(
        [*command, "--engine", engine_spec],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        cwd=ROOT,
    )
    base = f"http://127.0.0.1:{port}"
    client = httpx.Client(timeout=30.0)
    try:
        deadline = time.monotonic() + 120
        while True:
            if server.poll() is not None:
                message = server.stderr.read().decode()[-500:] if server.stderr else ""
                raise typer.BadParameter(f"[NLP511] the service did not start: {message}")
            try:
                if client.get(f"{base}/metadata").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise typer.BadParameter("[NLP511] the service did not start within 120 s")
            time.sleep(0.2)
        latencies: list[float] = []
        errors = [0]

        def one(i: int) -> None:
            doc = document(notes[i % len(notes)], f"api-{i:05d}")
            t0 = time.perf_counter()
            response = client.put(
                f"{base}/DocumentReference/{doc['id']}", json=doc, headers=_MINIMAL
            )
            latencies.append(time.perf_counter() - t0)
            if response.status_code not in (200, 201):
                errors[0] += 1

        threads: list[threading.Thread] = []
        started = time.perf_counter()
        for i in range(requests):
            thread = threading.Thread(target=one, args=(i,))
            thread.start()
            threads.append(thread)
            time.sleep(max(0.0, started + (i + 1) / rate - time.perf_counter()))
        for thread in threads:
            thread.join()
        return {
            "rate": rate,
            "requests": float(requests),
            "median_ms": statistics.median(latencies) * 1000,
            "p99_ms": _percentile(latencies, 0.99) * 1000,
            "max_ms": max(latencies) * 1000,
            "errors": float(errors[0]),
        }
    finally:
        client.close()
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()


def bench_api(
    engine: str = typer.Option(
        "local", "--engine", help="Engine spec: local, or replay:FILE (one result for any text)."
    ),
    notes: int = typer.Option(200, "--notes", min=10, help="Synthetic notes, end to end."),
    size: Size = 2000,
    rate: float = typer.Option(20.0, "--rate", min=1.0, help="API requests per second."),
    requests: int = typer.Option(400, "--requests", min=20, help="API requests in total."),
    seed: Seed = 7,
    as_json: AsJson = False,
) -> None:
    """Print end-to-end throughput (one core, in-process) and API latency at a fixed rate."""
    rng = random.Random(seed)
    texts = [synthetic_note(rng, size) for _ in range(notes)]
    with tempfile.TemporaryDirectory(prefix="docref-nlp-bench-") as tmp:
        e2e = _end_to_end(engine, texts, Path(tmp) / "e2e.sqlite")
        api = _api_latency(engine, texts, rate, requests, Path(tmp) / "api.sqlite")
    report = {"engine": engine, "note_chars": size, "end_to_end": e2e, "api": api}
    if as_json:
        typer.echo(json.dumps(report, indent=2))
        return
    rows = [
        ("end to end docs/s (wall)", f"{e2e['docs_per_s']:.1f}", ""),
        ("end to end docs/s per core (CPU time)", f"{e2e['docs_per_cpu_s']:.1f}", ">= 100"),
        ("end to end median / p99 ms", f"{e2e['median_ms']:.1f} / {e2e['p99_ms']:.1f}", ""),
        ("share of time in the engine", f"{e2e['nlp_share']:.0%}", ""),
        (f"API PUT at {rate:g} req/s median ms", f"{api['median_ms']:.1f}", ""),
        (f"API PUT at {rate:g} req/s p99 ms", f"{api['p99_ms']:.1f}", "<= 100"),
        ("API errors", f"{api['errors']:.0f} / {requests}", "0"),
    ]
    typer.echo(f"engine {engine}, notes of {size} characters")
    for label, value, budget in rows:
        typer.echo(f"{label:<40} {value:>14}  {budget}")
