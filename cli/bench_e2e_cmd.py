"""``docref-nlp bench-e2e``: the write path per document (decode, NLP, enrich, SQLite write)."""

from __future__ import annotations

import json
import random
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import typer

from cli.main import app


def _run(engine: Any, notes: list[str], db_path: Path, tag: str) -> dict[str, float]:
    """``process_document`` over ``notes`` into a new database; wall and process CPU per doc."""
    from api.app import build_policy
    from api.clock import utc_now
    from api.service import process_document
    from api.settings import Settings
    from api.store.sqlite import Database, SqliteFhirStore
    from cli.bench_api_cmd import _document

    db = Database(db_path)
    store = SqliteFhirStore(db)
    policy = build_policy(Settings(db_path=str(db_path)))
    walls: list[float] = []
    cpus: list[float] = []
    for i, text in enumerate(notes):
        wall, cpu = time.perf_counter(), time.process_time()
        process_document(
            _document(text, f"{tag}-{i:05d}"),
            engine=engine,
            store=store,
            index=store.index,
            policy=policy,
            clock=utc_now,
            skip_unchanged=False,
        )
        cpus.append(time.process_time() - cpu)
        walls.append(time.perf_counter() - wall)
    db.close()
    return {"wall_ms": statistics.median(walls) * 1000, "cpu_ms": statistics.median(cpus) * 1000}


def _nlp_cpu_ms(engine: Any, notes: list[str]) -> float:
    cpus: list[float] = []
    for text in notes:
        cpu = time.process_time()
        engine.analyze(text)
        cpus.append(time.process_time() - cpu)
    return statistics.median(cpus) * 1000


@app.command("bench-e2e")
def bench_e2e(
    engine: str = typer.Option(
        "local", "--engine", help="local (also replayed: same results, no NLP cost) or replay:PATH."
    ),
    notes: int = typer.Option(100, "--notes", min=5, help="Synthetic notes per repetition."),
    size: int = typer.Option(2000, "--size", min=200, help="Characters per note."),
    repeat: int = typer.Option(3, "--repeat", min=1, help="Repetitions (medians are printed)."),
    seed: int = typer.Option(7, "--seed", help="Random seed of the synthetic notes."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """Per-document cost of the write path on one core, with the NLP share measured apart.

    CPU time (process, all threads) is the per-core figure: on a shared machine the wall
    time also holds the time other processes ran. With ``local``, the same notes are also run
    through a replay of the local engine's own results, which leaves decode + enrich + write.
    """
    from cli.bench_cmd import synthetic_note
    from nlp.factory import make_engine
    from nlp.replay import ReplayEngine, write_replay

    rng = random.Random(seed)
    texts = [synthetic_note(rng, size) for _ in range(notes)]
    real = make_engine(engine)
    real.analyze(texts[0])  # warm-up outside the timing
    runs: dict[str, list[dict[str, float]]] = {engine: []}
    nlp_ms: list[float] = []
    with tempfile.TemporaryDirectory(prefix="docref-nlp-bench-e2e-") as tmp:
        engines: dict[str, Any] = {engine: real}
        if not engine.startswith("replay"):
            replay_dir = Path(tmp) / "replay"
            for text in texts:
                write_replay(replay_dir, text, real.analyze(text))
            engines["replay (same results)"] = ReplayEngine(replay_dir)
            runs["replay (same results)"] = []
        for r in range(repeat):
            for name, eng in engines.items():
                label = "r" if name != engine else "e"
                runs[name].append(_run(eng, texts, Path(tmp) / f"{label}{r}.sqlite", label))
            nlp_ms.append(_nlp_cpu_ms(real, texts))
    report: dict[str, Any] = {"engine": engine, "note_chars": size, "notes": notes}
    report["nlp_cpu_ms"] = statistics.median(nlp_ms)
    for name, results in runs.items():
        cpu = statistics.median(r["cpu_ms"] for r in results)
        wall = statistics.median(r["wall_ms"] for r in results)
        report[name] = {
            "cpu_ms_per_doc": cpu,
            "wall_ms_per_doc": wall,
            "docs_per_cpu_s": 1000 / cpu,
            "non_nlp_cpu_ms": cpu - (report["nlp_cpu_ms"] if name == engine else 0.0),
        }
    if as_json:
        typer.echo(json.dumps(report, indent=2))
        return
    typer.echo(f"{notes} notes of {size} characters, medians of {repeat} repetitions")
    typer.echo(f"{'NLP alone (engine ' + engine + ')':<36} {report['nlp_cpu_ms']:8.1f} ms CPU")
    for name in runs:
        row = report[name]
        typer.echo(
            f"{'end to end, ' + name:<36} {row['cpu_ms_per_doc']:8.1f} ms CPU"
            f" ({row['docs_per_cpu_s']:6.1f} docs/s per core; wall {row['wall_ms_per_doc']:.1f} ms;"
            f" non-NLP {row['non_nlp_cpu_ms']:.1f} ms)   budget >= 100 docs/s"
        )
