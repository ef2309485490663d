"""Benchmark of ``docref-nlp reprocess``: documents/s with 1 and N worker processes and on Ray.

Prints figures; it is not a test. The notes are the repository samples' texts (cycled to
``--count`` documents, each its own DocumentReference id). The engine is the local engine when
its assets are built, else the replay engine over the samples' recorded results (say which in
any report of the figures).

    PYTHONPATH=. .venv/bin/python scripts/bench_batch.py --count 10000 --workers 1,2 --ray
"""

# ruff: noqa: T201 - a benchmark prints its figures
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
NOW = "2026-01-01T00:00:00+00:00"


def sample_notes() -> list[tuple[str, Path | None]]:
    """(text, recorded result file or None) of every sample with text."""
    from enrich.text import extract_text

    notes: list[tuple[str, Path | None]] = []
    for path in sorted((ROOT / "samples").glob("*.json")):
        extracted = extract_text(json.loads(path.read_text(encoding="utf-8")))
        if extracted is None or not extracted.text:
            continue
        recorded = ROOT / "samples" / "nlp" / path.name
        notes.append((extracted.text, recorded if recorded.is_file() else None))
    return notes


def choose_engine(notes: list[tuple[str, Path | None]], work: Path, wanted: str) -> str:
    """``local`` when it loads, else ``replay:<dir>`` built from the samples' recorded results."""
    if wanted == "auto" or wanted.startswith("local"):
        spec = "local" if wanted == "auto" else wanted
        try:
            from nlp.factory import make_engine

            make_engine(spec)
            return spec
        except Exception as exc:
            if wanted != "auto":
                raise
            print(f"local engine unavailable ({str(exc)[:90]}...): using replay", file=sys.stderr)
    if wanted != "auto":
        return wanted
    from nlp.replay import write_replay
    from nlp.schema import NlpResult

    replay = work / "replay"
    for text, recorded in notes:
        if recorded is not None:
            result = NlpResult.model_validate_json(recorded.read_bytes())
            write_replay(replay, text, result)
    return f"replay:{replay}"


def write_input(notes: list[str], count: int, path: Path) -> Path:
    from tests.batch.synth import document, write_ndjson

    return write_ndjson(path, (document(i, notes[i % len(notes)]) for i in range(count)))


def run_once(
    label: str, src: Path, out: Path, make_executor: Any, *, distributed: bool = False
) -> dict[str, Any]:
    from api.batch.checkpoint import Checkpoint
    from api.batch.runner import BatchRun, RunOptions
    from api.batch.sinks import NdjsonSink
    from api.batch.sources import NdjsonSource
    from api.batch.storage import LocalStorage

    shutil.rmtree(out, ignore_errors=True)
    started = time.perf_counter()
    executor = make_executor()
    try:
        identity = executor.identity()
        ready = time.perf_counter()
        source = NdjsonSource(LocalStorage(src))
        ck = Checkpoint(":memory:", source=source.key, engine=f"{identity.name}@{identity.version}")
        options = RunOptions(distributed_read=distributed)
        report = BatchRun(source, NdjsonSink(LocalStorage(out)), ck, identity, options).run(
            executor
        )
    finally:
        executor.close()
    done = time.perf_counter()
    n = report.processed
    row = {
        "config": label,
        "engine": f"{identity.name}@{identity.version}",
        "documents": n,
        "errors": sum(v for k, v in report.outcomes.items() if k.startswith("error")),
        "startup_s": round(ready - started, 2),
        "run_s": round(done - ready, 2),
        "docs_per_s": round(n / (done - ready), 1),
        "docs_per_s_incl_startup": round(n / (done - started), 1),
        "docs_per_worker_cpu_s": report.as_dict()["enriched_per_worker_cpu_s"],
        "load_avg_1m": round(os.getloadavg()[0], 1),
    }
    print(json.dumps(row), flush=True)
    return row


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--workers", default="1,2", help="comma-separated worker counts")
    parser.add_argument("--ray", action="store_true", help="also run on a local Ray")
    parser.add_argument("--ray-actors", type=int, default=2)
    parser.add_argument("--ray-actor-cpus", type=float, default=0.5)
    parser.add_argument("--engine", default="auto", help="auto | local | replay:PATH | python:...")
    args = parser.parse_args(argv)

    from api.batch.pool import PoolExecutor, SerialExecutor
    from api.batch.work import DocProcessor

    with tempfile.TemporaryDirectory(prefix="bench-batch-") as tmp:
        work = Path(tmp)
        notes = sample_notes()
        engine = choose_engine(notes, work, args.engine)
        texts = [
            t for t, recorded in notes if recorded is not None or not engine.startswith("replay:")
        ]
        src = write_input(texts, args.count, work / "in" / "DocumentReference-0.ndjson")
        chars = sum(len(texts[i % len(texts)]) for i in range(args.count))
        print(f"engine={engine} documents={args.count} notes={len(texts)} "
              f"mean_chars={chars // args.count}", flush=True)  # fmt: skip
        proc_args: tuple[Any, ...] = (engine, {}, NOW)
        rows: list[dict[str, Any]] = []
        for workers in (int(w) for w in args.workers.split(",") if w):

            def executor(n: int = workers) -> Any:
                if n == 1:
                    return SerialExecutor(DocProcessor(*proc_args))
                return PoolExecutor(n, proc_args)

            rows.append(run_once(f"workers={workers}", src, work / "out", executor))
        if args.ray:
            from api.batch.ray_runner import RayExecutor

            env = {"env_vars": {"PYTHONPATH": str(ROOT)}}
            rows.append(run_once(
                f"ray local actors={args.ray_actors} cpus={args.ray_actor_cpus}", src, work / "out",
                lambda: RayExecutor("local", proc_args, {}, actors=args.ray_actors,
                                    actor_cpus=args.ray_actor_cpus, runtime_env=env),
                distributed=True,
            ))  # fmt: skip
        base = rows[0]["docs_per_s"] if rows else 0
        for row in rows[1:]:
            if base:
                ratio = row["docs_per_s"] / base
                print(f"scaling {row['config']} / {rows[0]['config']}: {ratio:.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
