"""``docref-nlp bench-batch``: ``reprocess`` documents/s with 1 and N worker processes and on Ray.

Prints figures; it is not a test. The notes are the repository samples' texts (cycled to
``--count`` documents, each its own DocumentReference id). The engine is the local engine when
its assets are built, else the replay engine over the samples' recorded results (say which in
any report of the figures).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import typer

from cli.bench.notes import ROOT, document, sample_notes, write_ndjson
from nlp.schema import NlpResult

NOW = "2026-01-01T00:00:00+00:00"


def choose_engine(notes: list[tuple[str, NlpResult | None]], work: Path, wanted: str) -> str:
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
            typer.echo(f"local engine unavailable ({str(exc)[:90]}...): using replay", err=True)
    if wanted != "auto":
        return wanted
    from nlp.replay import write_replay

    replay = work / "replay"
    for text, recorded in notes:
        if recorded is not None:
            write_replay(replay, text, recorded)
    return f"replay:{replay}"


def ndjson_sink(out: Path) -> Callable[[], Any]:
    """A new NDJSON sink in ``out`` (emptied first) for each run."""

    def make() -> Any:
        from api.batch.sinks import NdjsonSink
        from api.batch.storage import LocalStorage

        shutil.rmtree(out, ignore_errors=True)
        return NdjsonSink(LocalStorage(out))

    return make


@contextmanager
def store_sink(url: str) -> Iterator[Any]:
    """The service store at ``url`` as a batch sink (``reprocess --to store``)."""
    from api.batch.sinks import StoreSink
    from api.store.factory import open_store

    db, store, _ = open_store(url)
    try:
        yield StoreSink(store)
    finally:
        db.close()


def run_once(
    label: str,
    src: Path,
    sink: Any,
    make_executor: Callable[[], Any],
    *,
    distributed: bool = False,
) -> dict[str, Any]:
    """One ``reprocess`` of the NDJSON ``src`` into ``sink``; its figures as a row."""
    from api.batch.checkpoint import Checkpoint
    from api.batch.runner import BatchRun, RunOptions
    from api.batch.sources import NdjsonSource
    from api.batch.storage import LocalStorage

    started = time.perf_counter()
    executor = make_executor()
    try:
        identity = executor.identity()
        ready = time.perf_counter()
        source = NdjsonSource(LocalStorage(src))
        ck = Checkpoint(":memory:", source=source.key, engine=f"{identity.name}@{identity.version}")
        options = RunOptions(distributed_read=distributed)
        report = BatchRun(source, sink, ck, identity, options).run(executor)
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
    typer.echo(json.dumps(row))
    return row


def bench_batch(
    count: int = typer.Option(10_000, "--count", min=1, help="Documents in the input."),
    workers: str = typer.Option("1,2", "--workers", help="Comma-separated worker counts."),
    ray: bool = typer.Option(False, "--ray", help="Also run on a local Ray."),
    ray_actors: int = typer.Option(2, "--ray-actors", min=1),
    ray_actor_cpus: float = typer.Option(0.5, "--ray-actor-cpus"),
    engine: str = typer.Option("auto", "--engine", help="auto | local | replay:PATH | python:..."),
    sink: str = typer.Option(
        "ndjson",
        "--sink",
        help="ndjson (files for an import) | store (a new SQLite store each run)",
    ),
) -> None:
    """``reprocess`` throughput (NDJSON in; NDJSON or the service store out) with 1 and N
    workers, and on a local Ray."""
    from api.batch.pool import PoolExecutor, SerialExecutor
    from api.batch.work import DocProcessor
    from cli.bench.e2e import settle

    with tempfile.TemporaryDirectory(prefix="bench-batch-") as tmp:
        work = Path(tmp)
        notes = [(text, result) for _, text, result in sample_notes()]
        spec = choose_engine(notes, work, engine)
        texts = [
            t for t, recorded in notes if recorded is not None or not spec.startswith("replay:")
        ]
        docs = (document(texts[i % len(texts)], f"doc-{i:06d}", patient=f"p-{i % 50}")
                for i in range(count))  # fmt: skip
        src = write_ndjson(work / "in" / "DocumentReference-0.ndjson", docs)
        chars = sum(len(texts[i % len(texts)]) for i in range(count))
        typer.echo(
            f"engine={spec} documents={count} notes={len(texts)} mean_chars={chars // count} "
            f"sink={sink}"
        )
        proc_args: tuple[Any, ...] = (spec, {}, NOW)
        proc_kwargs: dict[str, Any] = {"for_store": sink == "store"}
        rows: list[dict[str, Any]] = []
        for n in (int(w) for w in workers.split(",") if w):

            def executor(n: int = n) -> Any:
                if n == 1:
                    serial = SerialExecutor(DocProcessor(*proc_args, **proc_kwargs))
                    settle(serial)  # as reprocess does in its own process
                    return serial
                return PoolExecutor(n, proc_args, proc_kwargs)

            label = f"workers={n}"
            if sink == "store":
                with store_sink(str(work / f"store-{n}.sqlite")) as store:
                    rows.append(run_once(label, src, store, executor))
            else:
                rows.append(run_once(label, src, ndjson_sink(work / "out")(), executor))
        if ray:
            from api.batch.ray_runner import RayExecutor

            env = {"env_vars": {"PYTHONPATH": str(ROOT)}}
            rows.append(run_once(
                f"ray local actors={ray_actors} cpus={ray_actor_cpus}", src,
                ndjson_sink(work / "out")(),
                lambda: RayExecutor("local", proc_args, {}, actors=ray_actors,
                                    actor_cpus=ray_actor_cpus, runtime_env=env),
                distributed=True,
            ))  # fmt: skip
        base = rows[0]["docs_per_s"] if rows else 0
        for row in rows[1:]:
            if base:
                ratio = row["docs_per_s"] / base
                typer.echo(f"scaling {row['config']} / {rows[0]['config']}: {ratio:.2f}x")
