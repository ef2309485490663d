"""``docref-nlp bench``: local engine throughput, tokenizer baseline, cold start and peak memory."""

from __future__ import annotations

import json
import random
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import typer

from cli.bench.notes import AsJson, Seed, synthetic_note


def _rate(fn: Any, items: list[str], min_seconds: float) -> float:
    """Items per second of ``fn`` over ``items``, repeated for at least ``min_seconds``."""
    done = 0
    started = time.perf_counter()
    while True:
        for item in items:
            fn(item)
        done += len(items)
        elapsed = time.perf_counter() - started
        if elapsed >= min_seconds:
            return done / elapsed


def _interleaved(
    first: Any, second: Any, items: list[str], min_seconds: float
) -> tuple[dict[str, float], dict[str, float]]:
    """Rates of two functions measured in alternating passes over ``items`` (each for at least
    ``min_seconds`` in total), so that both see the same machine load: per function, items per
    wall-clock second, items per CPU second, and the CPU milliseconds of its fastest pass."""
    totals = [[0.0, 0.0, 0, float("inf")], [0.0, 0.0, 0, float("inf")]]
    while min(t[0] for t in totals) < min_seconds:
        for fn, t in zip((first, second), totals, strict=True):
            w0, c0 = time.perf_counter(), time.process_time()
            for item in items:
                fn(item)
            cpu = time.process_time() - c0
            t[0] += time.perf_counter() - w0
            t[1] += cpu
            t[2] += len(items)
            t[3] = min(t[3], cpu / len(items))
    first_rates, second_rates = (
        {"per_s": n / wall, "per_cpu_s": n / cpu, "best_cpu_ms": best * 1000}
        for wall, cpu, n, best in totals
    )
    return first_rates, second_rates


def _figures(size: str, tok: dict[str, float], eng: dict[str, float]) -> dict[str, float]:
    """The report's figures for one note size: wall-clock rates and their ratio, best-pass CPU
    milliseconds per note, and the ratio by CPU time."""
    return {
        f"notes_{size}_per_s": round(eng["per_s"], 1),
        f"tokenizer_{size}_per_s": round(tok["per_s"], 1),
        f"ratio_{size}": round(eng["per_s"] / tok["per_s"], 3),
        f"cpu_ms_per_{size}_note": round(eng["best_cpu_ms"], 3),
        f"tokenizer_cpu_ms_per_{size}_note": round(tok["best_cpu_ms"], 3),
        f"ratio_{size}_cpu": round(eng["per_cpu_s"] / tok["per_cpu_s"], 3),
    }


def _components(engine: Any, notes: list[str], passes: int) -> dict[str, float]:
    """CPU milliseconds per note of each stage of the engine (its stopwatch, off otherwise)."""
    watch = engine._annotator.stopwatch
    watch.totals.clear()
    watch.enabled = True
    try:
        for _ in range(passes):
            for n in notes:
                engine.analyze(n)
    finally:
        watch.enabled = False
    count = passes * len(notes)
    return {k: round(v / count / 1e6, 3) for k, v in watch.totals.items()}


_COLD = """
import json, resource, sys, time
t0 = time.perf_counter()
c0 = time.process_time()
from pathlib import Path
from nlp.local import LocalEngine
engine = LocalEngine.from_assets(Path(sys.argv[1]) if sys.argv[1] else None)
engine.analyze("Patient denies chest pain.")
load = time.perf_counter() - t0
load_cpu = time.process_time() - c0
notes = json.loads(sys.stdin.read())
t1 = time.perf_counter()
for n in notes:
    engine.analyze(n)
first = len(notes) / (time.perf_counter() - t1)
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"cold_start_s": load, "cold_start_cpu_s": load_cpu, "peak_rss_mb": rss,
                  "first_pass_per_s": first}))
"""


def _cold_start(assets: Path | None, notes: list[str]) -> dict[str, float]:
    """Load the engine in a fresh process (twice: the first run may compile its cache)."""
    stats: dict[str, float] = {}
    for _ in range(2):
        run = subprocess.run(
            [sys.executable, "-c", _COLD, str(assets or "")],
            input=json.dumps(notes),
            capture_output=True,
            text=True,
            check=False,
        )
        if run.returncode != 0:
            typer.echo(f"[NLP510] engine failed to load: {run.stderr.strip()[-500:]}", err=True)
            raise typer.Exit(2)
        stats = json.loads(run.stdout.strip().splitlines()[-1])
    return stats


def bench(
    assets: Path | None = typer.Option(None, "--assets", help="Assets directory (default: built)."),
    notes: int = typer.Option(50, "--notes", help="Distinct synthetic notes per size."),
    seconds: float = typer.Option(3.0, "--seconds", help="Minimum timing per measurement."),
    seed: Seed = 7,
    components: bool = typer.Option(
        False, "--components", help="Also CPU ms per note of each engine stage (2 KB notes)."
    ),
    as_json: AsJson = False,
) -> None:
    """Measure the local engine on synthetic ~2 KB and ~20 KB notes (one core).

    Steady-state rates are taken after one warm-up pass (linker caches filled), the engine and
    the tokenizer alone in alternating passes (same machine load for both), in wall-clock and
    CPU time; the fresh process also reports its first pass over the 2 KB notes (cold
    caches), its load time in wall-clock and CPU seconds (CPU excludes waiting on a busy
    machine) and its peak RSS. ``--components``: CPU time of each stage of the engine.
    """
    from nlp.local import LocalEngine, native

    rng = random.Random(seed)
    small = [synthetic_note(rng, 2000)[:2048] for _ in range(notes)]
    large = [synthetic_note(rng, 20000)[:20480] for _ in range(max(5, notes // 10))]
    cold = _cold_start(assets, small)
    engine = LocalEngine.from_assets(assets)
    tokenizer = engine.nlp.tokenizer
    for n in small + large:
        engine.analyze(n)
    tok2, eng2 = _interleaved(tokenizer, engine.analyze, small, seconds)
    tok20, eng20 = _interleaved(tokenizer, engine.analyze, large, seconds)
    report: dict[str, Any] = {
        "engine_version": engine.version,
        "engine_build": native.MODE,
        **_figures("2kb", tok2, eng2),
        **_figures("20kb", tok20, eng20),
        "first_pass_2kb_per_s": round(cold["first_pass_per_s"], 1),
        "cold_start_s": round(cold["cold_start_s"], 2),
        "cold_start_cpu_s": round(cold["cold_start_cpu_s"], 2),
        "peak_rss_mb": round(cold["peak_rss_mb"], 1),
        "budget": {
            "notes_2kb_per_s": 200,
            "ratio_2kb": 0.2,
            "cold_start_s": 5.0,
            "peak_rss_mb": 1024,
        },
    }
    if components:
        report["components_cpu_ms_per_2kb_note"] = _components(engine, small, 3)
    if as_json:
        typer.echo(json.dumps(report, indent=2))
        return
    rows = [
        ("local engine, 2 KB notes/s", report["notes_2kb_per_s"], ">= 200"),
        ("spaCy tokenizer only, 2 KB notes/s", report["tokenizer_2kb_per_s"], ""),
        ("engine / tokenizer, 2 KB", report["ratio_2kb"], ">= 0.20"),
        ("engine CPU ms per 2 KB note (best pass)", report["cpu_ms_per_2kb_note"], ""),
        ("tokenizer CPU ms per 2 KB note", report["tokenizer_cpu_ms_per_2kb_note"], ""),
        ("engine / tokenizer by CPU time, 2 KB", report["ratio_2kb_cpu"], ""),
        ("local engine, 20 KB notes/s", report["notes_20kb_per_s"], ""),
        ("spaCy tokenizer only, 20 KB notes/s", report["tokenizer_20kb_per_s"], ""),
        ("engine / tokenizer, 20 KB", report["ratio_20kb"], ""),
        ("first pass, cold caches, 2 KB notes/s", report["first_pass_2kb_per_s"], ""),
        ("cold start (fresh process), s", report["cold_start_s"], "<= 5"),
        ("cold start, CPU s", report["cold_start_cpu_s"], ""),
        ("peak RSS (fresh process), MB", report["peak_rss_mb"], "<= 1024"),
    ]
    typer.echo(f"engine {report['engine_version']} ({report['engine_build']})")
    for label, value, budget in rows:
        typer.echo(f"{label:<40} {value!s:>10}  {budget}")
    for stage, ms in report.get("components_cpu_ms_per_2kb_note", {}).items():
        typer.echo(f"  {stage:<38} {ms!s:>10}  CPU ms per 2 KB note")
