"""``docref-nlp bench-e2e --floor``: what the write path cannot cost less than, as it is built.

Three parts of a first write are measured alone, on the notes of the run:

- ``sql_ms``: the SQL of the write path with nothing around it. Every statement the service's
  connection ran while the notes went through ``DocumentService.process`` (reads, writes,
  ``COMMIT``) is recorded with its parameters, then run again, in order and with the same
  parameters, on a new database opened the same way. What is left is SQLite's own work (the
  B-tree and term-index inserts, the commit's WAL writes) and one Python call per statement.
- ``tree_ms``: the compiled aws-cm tree builder (``enrich.tree.aws_cm_extension_counted``)
  with its index rows, from the engine's results.
- ``encode_ms``: encoding the three stored bodies of each write (the document, the NLP result,
  the generated bundle) with the store's codec (orjson and zstd).

Each is a floor for what it does: the schema search needs (D13-D15), the HealthLake tree the
document must carry, and the bytes the store keeps. Their sum against the NLP alone says how
close to the NLP rate the whole path can come while it writes the same rows and bodies:
``best_share_of_nlp_rate`` = NLP / (NLP + floor), everything else around them being free.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cli.bench.notes import document
from cli.bench.services import open_services

#: Repetitions of each measured part (the best is reported: a floor).
ROUNDS = 5


@dataclass
class Recorded:
    """The statements one connection ran: ``(many, sql, parameters)`` in order."""

    statements: list[tuple[bool, str, Any]] = field(default_factory=list)


class RecordingConnection:
    """A ``sqlite3.Connection`` stand-in that records ``execute``/``executemany`` (with their
    parameters, materialised) before running them on the real connection."""

    def __init__(self, conn: Any, recorded: Recorded) -> None:
        self._real = conn
        self._recorded = recorded

    def execute(self, sql: str, parameters: Any = ()) -> Any:
        self._recorded.statements.append((False, sql, parameters))
        return self._real.execute(sql, parameters)

    def executemany(self, sql: str, parameters: Any) -> Any:
        rows = list(parameters)
        self._recorded.statements.append((True, sql, rows))
        return self._real.executemany(sql, rows)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)


@contextmanager
def recording(db: Any) -> Iterator[Recorded]:
    """Record what ``db`` (an ``api.store.database.Database``) runs inside the block."""
    recorded = Recorded()
    real = db._conn  # a measurement hook, not an interface
    db._conn = RecordingConnection(real, recorded)
    try:
        yield recorded
    finally:
        db._conn = real


def replay_cpu_s(conn: Any, statements: list[tuple[bool, str, Any]]) -> float:
    """Process CPU of running ``statements`` on ``conn`` (every row of a query fetched)."""
    started = time.process_time()
    for many, sql, parameters in statements:
        if many:
            conn.executemany(sql, parameters)
        else:
            conn.execute(sql, parameters).fetchall()
    return time.process_time() - started


def best_of(rounds: int, run: Callable[[], float]) -> float:
    """The smallest of ``rounds`` runs of ``run`` (seconds)."""
    return min(run() for _ in range(rounds))


def sql_floor_ms(engine: Any, notes: list[str], tmp: Path) -> dict[str, float]:
    """The write path's SQL alone, per note: recorded on one database, replayed on new ones."""
    services = open_services(str(tmp / "floor-record.sqlite"), engine=engine)
    try:
        db: Any = services.db
        db.pause_checkpoints()
        documents = services.documents()
        with recording(db) as recorded:
            for i, text in enumerate(notes):
                documents.process(document(text, f"f-{i:05d}"), skip_unchanged=False)
    finally:
        services.close()
    statements = recorded.statements

    def run() -> float:
        path = tmp / f"floor-replay-{time.monotonic_ns()}.sqlite"
        replay = open_services(str(path), engine=engine)
        try:
            target: Any = replay.db
            target.pause_checkpoints()
            with target.read() as conn:
                return replay_cpu_s(conn, statements)
        finally:
            replay.close()
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)

    cpu = best_of(ROUNDS, run)
    return {"sql_ms": cpu / len(notes) * 1000, "statements_per_note": len(statements) / len(notes)}


def builder_floor_ms(engine: Any, notes: list[str]) -> dict[str, float]:
    """The compiled aws-cm tree builder and the codec of the stored bodies, per note."""
    from api.store.codec import dump_bytes, encode_bytes
    from enrich.tree import aws_cm_extension_counted

    results = [engine.analyze(text) for text in notes]

    def tree() -> float:
        started = time.process_time()
        for result in results:
            aws_cm_extension_counted(result, "SUCCESS", "success", [])
        return time.process_time() - started

    writes = _writes(engine, notes)

    def encode() -> float:
        started = time.process_time()
        for doc, result, generated in writes:
            encode_bytes(dump_bytes(doc))
            encode_bytes(dump_bytes(result))
            encode_bytes(dump_bytes(generated))
        return time.process_time() - started

    per_note = 1000 / len(notes)
    return {
        "tree_ms": best_of(ROUNDS, tree) * per_note,
        "encode_ms": best_of(ROUNDS, encode) * per_note,
    }


def _writes(engine: Any, notes: list[str]) -> list[tuple[Any, Any, Any]]:
    """``(document, NLP result, generated resources)`` of each note's enrichment."""
    services = open_services(":memory:", engine=engine)
    try:
        documents = services.documents()
        found: list[tuple[Any, Any, Any]] = []
        for i, text in enumerate(notes):
            prepared = documents.prepare(document(text, f"e-{i:05d}"), validate=False)
            write = documents.enrich(prepared).write
            result = write.state.result if write.state is not None else None
            found.append((write.document, result, write.generated))
        return found
    finally:
        services.close()


def floor(engine: Any, notes: list[str], tmp: Path, nlp_ms: float) -> dict[str, float]:
    """The three floors per note, their sum, and the best share of the NLP rate they leave."""
    report = sql_floor_ms(engine, notes, tmp)
    report.update(builder_floor_ms(engine, notes))
    total = report["sql_ms"] + report["tree_ms"] + report["encode_ms"]
    report["floor_ms"] = total
    report["nlp_ms"] = nlp_ms
    report["best_share_of_nlp_rate"] = nlp_ms / (nlp_ms + total)
    report["best_docs_per_cpu_s"] = 1000 / (nlp_ms + total)
    return report
