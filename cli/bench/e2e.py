"""``docref-nlp bench-e2e``: the write path per document (decode, NLP, enrich, SQLite write)."""

from __future__ import annotations

import json
import random
import statistics
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from cli.bench.notes import AsJson, Seed, Size, document, synthetic_note

if TYPE_CHECKING:
    from api.bootstrap import Services
    from api.service import DocumentService


@dataclass
class Timings:
    """Per-document wall and process-CPU seconds of a run, and the resources it generated."""

    walls: list[float] = field(default_factory=list)
    cpus: list[float] = field(default_factory=list)
    generated: int = 0

    @property
    def wall_s(self) -> float:
        return sum(self.walls)

    @property
    def cpu_s(self) -> float:
        return sum(self.cpus)


def write_through(documents: DocumentService, docs: Iterable[dict[str, Any]]) -> Timings:
    """Each document through the application service (decode, NLP, enrich, one write)."""
    timings = Timings()
    for doc in docs:
        wall, cpu = time.perf_counter(), time.process_time()
        outcome = documents.process(doc, skip_unchanged=False)
        timings.cpus.append(time.process_time() - cpu)
        timings.walls.append(time.perf_counter() - wall)
        timings.generated += len(outcome.generated)
    return timings


def open_services(db_path: str, *, engine_spec: str = "local", engine: Any = None) -> Services:
    """The composition root on a fresh database (no upstream, no intake workers)."""
    from api.bootstrap import build_services
    from api.settings import Settings

    settings = Settings(db_path=db_path, engine=engine_spec, intake_workers=0)
    return build_services(settings, engine=engine)


def _run(engine: Any, notes: list[str], db_path: Path, tag: str) -> dict[str, float]:
    """``notes`` through the write path into a new database; median wall and CPU per doc."""
    services = open_services(str(db_path), engine=engine)
    try:
        docs = (document(text, f"{tag}-{i:05d}") for i, text in enumerate(notes))
        timings = write_through(services.documents(), docs)
    finally:
        services.close()
    return {
        "wall_ms": statistics.median(timings.walls) * 1000,
        "cpu_ms": statistics.median(timings.cpus) * 1000,
    }


def _nlp_cpu_ms(engine: Any, notes: list[str]) -> float:
    cpus: list[float] = []
    for text in notes:
        cpu = time.process_time()
        engine.analyze(text)
        cpus.append(time.process_time() - cpu)
    return statistics.median(cpus) * 1000


def bench_e2e(
    engine: str = typer.Option(
        "local", "--engine", help="local (also replayed: same results, no NLP cost) or replay:PATH."
    ),
    notes: int = typer.Option(100, "--notes", min=5, help="Synthetic notes per repetition."),
    size: Size = 2000,
    repeat: int = typer.Option(3, "--repeat", min=1, help="Repetitions (medians are printed)."),
    seed: Seed = 7,
    as_json: AsJson = False,
) -> None:
    """Per-document cost of the write path on one core, with the NLP share measured apart.

    CPU time (process, all threads) is the per-core figure: on a shared machine the wall
    time also holds the time other processes ran. With ``local``, the same notes are also run
    through a replay of the local engine's own results, which leaves decode + enrich + write.
    """
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
