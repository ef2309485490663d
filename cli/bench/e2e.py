"""``docref-nlp bench-e2e``: the write path per document (decode, NLP, enrich, SQLite write).

Figures per core: the process CPU time of each document (all threads; on a shared machine the
wall time also holds the time other processes ran). ``docs/CPU-s`` is documents over the total
CPU time (garbage collections included), the median per document is printed too. With the
local engine, the same notes also run through a replay of its own results (decode + enrich +
write), and the NLP alone. A last pass writes ``--wal-notes`` notes into a database whose
checkpoints are paused: the WAL then grows by what each commit writes (``--pages``: which
B-trees those pages belong to, right after each commit).
"""

from __future__ import annotations

import collections
import json
import os
import random
import statistics
import struct
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from cli.bench.floor import floor
from cli.bench.notes import AsJson, Seed, Size, document, synthetic_note
from cli.bench.services import open_services

if TYPE_CHECKING:
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


def settle(engine: Any) -> Any:
    """What the service does once its engine is built (``api.bootstrap.settle_heap``)."""
    from api import bootstrap

    settle_heap = getattr(bootstrap, "settle_heap", None)  # releases before 10 had none
    if settle_heap is not None:
        settle_heap()
    return engine


def _run(engine: Any, notes: list[str], db_path: Path, tag: str) -> dict[str, float]:
    """``notes`` through the write path into a new database; CPU and wall per document."""
    services = open_services(str(db_path), engine=engine)
    try:
        docs = (document(text, f"{tag}-{i:05d}") for i, text in enumerate(notes))
        timings = write_through(services.documents(), docs)
    finally:
        services.close()
    return {
        "cpu_ms": timings.cpu_s / len(notes) * 1000,
        "median_cpu_ms": statistics.median(timings.cpus) * 1000,
        "wall_ms": statistics.median(timings.walls) * 1000,
    }


def _nlp_cpu_ms(engine: Any, notes: list[str]) -> float:
    cpu = time.process_time()
    for text in notes:
        engine.analyze(text)
    return (time.process_time() - cpu) / len(notes) * 1000


@dataclass
class WalFigures:
    """WAL bytes of each document's commit(s), and which B-trees their pages belong to."""

    bytes_per_doc: list[int] = field(default_factory=list)
    pages: collections.Counter[str] = field(default_factory=collections.Counter)
    page_size: int = 0


def count_pages(
    counted: collections.Counter[str], frames: bytes, names: dict[int, str], page_size: int
) -> None:
    """Add the WAL ``frames`` of one commit to ``counted`` by the B-tree each page belongs to
    (``names``: page number -> B-tree, ``dbstat`` right after that commit; a page the commit
    freed is ``(freed)``). A frame is a 24-byte header (the page number first) and a page."""
    step = page_size + 24
    for offset in range(0, len(frames) - step + 1, step):
        number = struct.unpack(">I", frames[offset : offset + 4])[0]
        counted[names.get(number, "(freed)")] += 1


def wal_pass(engine: Any, notes: list[str], db_path: Path, *, pages: bool) -> WalFigures:
    """Write ``notes`` with checkpoints paused; the WAL's growth per document (``pages``: and
    which B-trees its pages belong to, right after each commit: a page that later merges free
    and other commits reuse counts for the B-tree it held when written)."""
    services = open_services(str(db_path), engine=engine)
    figures = WalFigures()
    wal = Path(f"{db_path}-wal")
    try:
        db: Any = services.db
        db.pause_checkpoints()
        with db.read() as conn:
            figures.page_size = int(conn.execute("PRAGMA page_size").fetchone()[0])
        documents = services.documents()
        for i, text in enumerate(notes):
            before = max(wal.stat().st_size if wal.exists() else 0, 32)
            documents.process(document(text, f"w-{i:05d}"), skip_unchanged=False)
            after = wal.stat().st_size
            figures.bytes_per_doc.append(after - before)
            if pages:
                with wal.open("rb") as f:
                    f.seek(before)
                    frames = f.read(after - before)
                with db.read() as conn:
                    names = dict(conn.execute("SELECT pageno, name FROM dbstat").fetchall())
                count_pages(figures.pages, frames, names, figures.page_size)
    finally:
        services.close()
    return figures


class _TimedEngine:
    """An engine that adds up the process CPU its ``analyze`` takes."""

    def __init__(self, engine: Any) -> None:
        self.engine = engine
        self.name = engine.name
        self.version = engine.version
        self.cpu_s = 0.0

    def analyze(self, text: str) -> Any:
        started = time.process_time()
        try:
            return self.engine.analyze(text)
        finally:
            self.cpu_s += time.process_time() - started


class _Upgraded(_TimedEngine):
    """The same engine under a new version: a stored note is enriched again (``reprocess``
    after an engine upgrade, or a PUT of the stored document)."""

    def __init__(self, engine: Any) -> None:
        super().__init__(engine)
        self.version = f"{engine.version}+again"


def again(engine: Any, notes: list[str], db_path: Path) -> dict[str, float]:
    """CPU ms per note of processing each stored, enriched note once more under a new engine
    version (read from the store, validated, NLP, enriched, written over its version), and
    its non-NLP part."""
    services = open_services(str(db_path), engine=engine)
    try:
        documents = services.documents()
        ids = [f"a-{i:05d}" for i in range(len(notes))]
        for doc_id, text in zip(ids, notes, strict=True):
            documents.process(document(text, doc_id), skip_unchanged=False)
        upgraded = _Upgraded(engine)
        later = services.documents(engine=upgraded)
        started = time.process_time()
        for doc_id in ids:
            later.process(services.store.read("DocumentReference", doc_id), skip_unchanged=True)
        spent = time.process_time() - started
    finally:
        services.close()
    per_note = 1000 / len(notes)
    return {"cpu_ms": spent * per_note, "non_nlp_cpu_ms": (spent - upgraded.cpu_s) * per_note}


def stages(engine: Any, notes: list[str], db_path: Path) -> dict[str, float]:
    """Mean CPU ms per stage of the service's steps (``DocumentService.process`` runs them):
    validation (R4B), prepare (text, loop guard), NLP, enrich (``enrich_document`` and the
    state), apply (the store's one transaction), and the total over all documents."""
    from api.service import check_document

    timed = _TimedEngine(engine)
    services = open_services(str(db_path), engine=timed)
    spent = dict.fromkeys(("validate", "prepare", "nlp", "enrich", "apply", "total"), 0.0)
    clock = time.process_time
    try:
        documents = services.documents()
        started = clock()
        for i, text in enumerate(notes):
            doc = document(text, f"s-{i:05d}")
            t0 = clock()
            check_document(doc)
            t1 = clock()
            prepared = documents.prepare(doc, validate=False)
            t2, nlp = clock(), timed.cpu_s
            enriched = documents.enrich(prepared)
            t3, nlp = clock(), timed.cpu_s - nlp
            documents.apply(enriched.write)
            t4 = clock()
            spent["validate"] += t1 - t0
            spent["prepare"] += t2 - t1
            spent["nlp"] += nlp
            spent["enrich"] += t3 - t2 - nlp
            spent["apply"] += t4 - t3
        spent["total"] = clock() - started
    finally:
        services.close()
    return {k: v / len(notes) * 1000 for k, v in spent.items()}


def profile(engine: Any, notes: list[str], db_path: Path, out: Path) -> None:
    """cProfile statistics of ``notes`` through ``DocumentService.process`` (``out``: pstats,
    for ``python -m pstats`` or snakeviz)."""
    import cProfile

    services = open_services(str(db_path), engine=engine)
    try:
        documents = services.documents()
        profiler = cProfile.Profile()
        profiler.enable()
        for i, text in enumerate(notes):
            documents.process(document(text, f"p-{i:05d}"), skip_unchanged=False)
        profiler.disable()
        profiler.dump_stats(str(out))
    finally:
        services.close()


def bench_e2e(
    engine: str = typer.Option(
        "local", "--engine", help="local (also replayed: same results, no NLP cost) or replay:PATH."
    ),
    notes: int = typer.Option(100, "--notes", min=5, help="Synthetic notes per repetition."),
    size: Size = 2000,
    repeat: int = typer.Option(3, "--repeat", min=1, help="Repetitions (medians are printed)."),
    wal_notes: int = typer.Option(100, "--wal-notes", min=0, help="Notes of the WAL pass."),
    pages: bool = typer.Option(False, "--pages", help="WAL pages per B-tree (dbstat)."),
    by_stage: bool = typer.Option(False, "--stages", help="Mean CPU per stage of the service."),
    by_again: bool = typer.Option(
        False, "--again", help="Also process each stored note again under a new engine version."
    ),
    by_floor: bool = typer.Option(
        False, "--floor", help="The SQL, tree builder and codec of the write path measured alone."
    ),
    profile_to: Path | None = typer.Option(
        None, "--profile", help="Also write cProfile statistics of the write path here."
    ),
    seed: Seed = 7,
    as_json: AsJson = False,
) -> None:
    """Per-document cost of the write path on one core, with the NLP share measured apart,
    and the WAL bytes one note writes."""
    from nlp.factory import make_engine
    from nlp.replay import ReplayEngine, write_replay

    rng = random.Random(seed)
    texts = [synthetic_note(rng, size) for _ in range(notes)]
    real = settle(make_engine(engine))
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
        wal = wal_pass(real, texts[:wal_notes], Path(tmp) / "wal.sqlite", pages=pages)
        spent = stages(real, texts, Path(tmp) / "stages.sqlite") if by_stage else None
        again_ms = again(real, texts, Path(tmp) / "again.sqlite") if by_again else None
        floors = floor(real, texts, Path(tmp), statistics.median(nlp_ms)) if by_floor else None
        if profile_to is not None:
            profile(real, texts, Path(tmp) / "profile.sqlite", profile_to)
    report: dict[str, Any] = {
        "engine": engine,
        "note_chars": size,
        "notes": notes,
        "load_avg_1m": os.getloadavg()[0],
    }
    nlp = statistics.median(nlp_ms)
    report["nlp_cpu_ms"] = nlp
    report["nlp_docs_per_cpu_s"] = 1000 / nlp
    for name, results in runs.items():
        cpu = statistics.median(r["cpu_ms"] for r in results)
        report[name] = {
            "cpu_ms_per_doc": cpu,
            "median_cpu_ms": statistics.median(r["median_cpu_ms"] for r in results),
            "wall_ms_per_doc": statistics.median(r["wall_ms"] for r in results),
            "docs_per_cpu_s": 1000 / cpu,
            "share_of_nlp_rate": nlp / cpu,
            "non_nlp_cpu_ms": cpu - (nlp if name == engine else 0.0),
        }
    if wal.bytes_per_doc:
        report["wal"] = {
            "page_size": wal.page_size,
            "notes": len(wal.bytes_per_doc),
            "kb_per_doc": sum(wal.bytes_per_doc) / len(wal.bytes_per_doc) / 1024,
            "kb_per_doc_last_20": statistics.mean(wal.bytes_per_doc[-20:]) / 1024,
            "pages_per_doc": {k: v / len(wal.bytes_per_doc) for k, v in wal.pages.most_common()},
        }
    if spent is not None:
        report["stages_cpu_ms"] = spent
    if again_ms is not None:
        report["again"] = again_ms
    if floors is not None:
        report["floor_cpu_ms"] = floors
    if as_json:
        typer.echo(json.dumps(report, indent=2))
        return
    _print(report, runs, repeat)


def _print(report: dict[str, Any], runs: dict[str, Any], repeat: int) -> None:
    typer.echo(
        f"{report['notes']} notes of {report['note_chars']} characters, medians of {repeat} "
        f"repetitions, load average {report['load_avg_1m']:.1f} on {os.cpu_count()} CPUs"
    )
    engine = report["engine"]
    typer.echo(
        f"{'NLP alone (engine ' + engine + ')':<36} {report['nlp_cpu_ms']:8.2f} ms CPU"
        f" ({report['nlp_docs_per_cpu_s']:6.1f} docs/s per core)"
    )
    for name in runs:
        row = report[name]
        typer.echo(
            f"{'end to end, ' + name:<36} {row['cpu_ms_per_doc']:8.2f} ms CPU"
            f" ({row['docs_per_cpu_s']:6.1f} docs/s per core, {row['share_of_nlp_rate']:.2f} x"
            f" the NLP rate; median {row['median_cpu_ms']:.2f} ms, wall"
            f" {row['wall_ms_per_doc']:.1f} ms; non-NLP {row['non_nlp_cpu_ms']:.2f} ms)"
            "   budget >= 150 docs/s and >= 0.5 x"
        )
    wal = report.get("wal")
    if wal:
        typer.echo(
            f"{'WAL bytes per note':<36} {wal['kb_per_doc']:8.1f} KB (last 20: "
            f"{wal['kb_per_doc_last_20']:.1f} KB; {wal['notes']} notes, pages of "
            f"{wal['page_size']} bytes)   budget <= 200 KB"
        )
        for name, count in wal["pages_per_doc"].items():
            typer.echo(f"    {name:<32} {count:7.1f} pages per note")
    spent = report.get("stages_cpu_ms")
    if spent:
        typer.echo("mean CPU per stage (one pass, engine " + engine + ")")
        for name, ms in spent.items():
            typer.echo(f"    {name:<32} {ms:7.2f} ms")
    again_ms = report.get("again")
    if again_ms:
        typer.echo(
            f"{'a stored note again, new engine':<36} {again_ms['cpu_ms']:8.2f} ms CPU"
            f" (non-NLP {again_ms['non_nlp_cpu_ms']:.2f} ms)"
        )
    floors = report.get("floor_cpu_ms")
    if floors:
        typer.echo("what the write path costs at least, each part alone (CPU per note, best of 5)")
        for name, label in (
            ("sql_ms", "its SQL, replayed"),
            ("tree_ms", "the aws-cm tree builder"),
            ("encode_ms", "encoding the stored bodies"),
            ("floor_ms", "together"),
        ):
            typer.echo(f"    {label:<32} {floors[name]:7.2f} ms")
        typer.echo(
            f"    {'best share of the NLP rate':<32} {floors['best_share_of_nlp_rate']:7.2f} x"
            f" ({floors['best_docs_per_cpu_s']:.1f} docs/s per core, all else free)"
        )
