"""The batch run: read -> plan -> per-document function (executor) -> one writer -> checkpoint.

The reader plans each document (skip unchanged, already checkpointed or filtered-out ones; stop
before ``max_cost``), the executor runs the per-document function anywhere (this process,
worker processes, Ray actors), and this process alone writes results to the sink, one part at a
time, recording each part in the checkpoint (see ``api.batch.checkpoint`` for the protocol that
makes a killed run resume without duplicates).
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import BrokenExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol

from api.batch.checkpoint import Checkpoint
from api.batch.cost import CostEstimate, Prices, units_for
from api.batch.model import (
    BUDGET,
    DRY_RUN,
    ENRICHED,
    NOT_DOCUMENT,
    SKIPPED,
    DocResult,
    EngineIdentity,
    WorkItem,
)
from api.batch.pool import Executor
from api.batch.sinks import ResultSink
from api.batch.sources import DOCUMENT_TYPE, DocumentSource
from api.batch.work import Selection, plan

log = logging.getLogger(__name__)

MAX_REPORTED_ERRORS = 1000
STOPPED = "[NLP661] interrupted: resume with the same command"


@dataclass(frozen=True)
class RunOptions:
    """How a run selects, spends and writes.

    Attributes:
        selection: ``--force`` / ``--engine-version-below``.
        dry_run: Plan and estimate only: no engine call, no write.
        max_cost: Stop before the estimated Comprehend Medical cost would exceed this (USD).
        prices: Price per unit and operation for the estimate.
        part_size: Documents per written part (and checkpoint commit).
        flush_seconds: Also write a part when this much time passed since the last one.
        profile: Generation profile, compared by the loop guard.
        distributed_read: Let an executor that can (Ray, NDJSON sources) read and plan the
            source on the cluster; this process only writes. Ignored with ``max_cost``.
    """

    selection: Selection = field(default_factory=Selection)
    dry_run: bool = False
    max_cost: float | None = None
    prices: Prices = field(default_factory=Prices)
    part_size: int = 500
    flush_seconds: float = 30.0
    profile: str | None = None
    distributed_read: bool = False


@dataclass
class Report:
    """What a run did; no PHI (document ids, counts, coded messages only)."""

    source: str = ""
    sink: str = ""
    engine: str = ""
    outcomes: Counter[str] = field(default_factory=Counter)
    statuses: Counter[str] = field(default_factory=Counter)
    written: Counter[str] = field(default_factory=Counter)
    retired: Counter[str] = field(default_factory=Counter)
    errors: list[dict[str, str]] = field(default_factory=list)
    parts: int = 0
    discarded_parts: int = 0
    cost: CostEstimate = field(default_factory=CostEstimate)
    stopped: str | None = None
    elapsed_s: float = 0.0
    worker_cpu_s: float = 0.0

    @property
    def documents(self) -> int:
        return sum(self.outcomes.values())

    @property
    def processed(self) -> int:
        return self.outcomes[ENRICHED]

    def add(self, result: DocResult) -> None:
        self.outcomes[result.outcome] += 1
        self.worker_cpu_s += result.cpu_s
        if result.enrichment_status:
            self.statuses[result.enrichment_status] += 1
        if result.outcome == ENRICHED:
            for ref in result.refs:
                self.written[ref.partition("/")[0]] += 1
            for ref in result.retired:
                self.retired[ref.partition("/")[0]] += 1
        self._error(result)

    def _error(self, result: DocResult) -> None:
        if result.error and len(self.errors) < MAX_REPORTED_ERRORS:
            error = {"id": result.doc_id, "outcome": result.outcome, "error": result.error}
            self.errors.append(error)

    def reclassify(self, result: DocResult) -> None:
        """Count a result the sink failed to write as its error instead of ``enriched``."""
        if result.failed_from is None:
            return
        self.outcomes[result.failed_from] -= 1
        if result.enrichment_status:
            self.statuses[result.enrichment_status] -= 1
        for ref in result.refs:
            self.written[ref.partition("/")[0]] -= 1
        for ref in result.retired:
            self.retired[ref.partition("/")[0]] -= 1
        self.outcomes[result.outcome] += 1
        self._error(result)
        self.outcomes += Counter()  # drop zero counts
        self.written += Counter()
        self.retired += Counter()
        self.statuses += Counter()

    def as_dict(self) -> dict[str, Any]:
        rate = self.processed / self.elapsed_s if self.elapsed_s > 0 else 0.0
        return {
            "source": self.source,
            "sink": self.sink,
            "engine": self.engine,
            "documents": self.documents,
            "outcomes": dict(sorted(self.outcomes.items())),
            "enrichment_status": dict(sorted(self.statuses.items())),
            "resources_written": dict(sorted(self.written.items())),
            "resources_retired": dict(sorted(self.retired.items())),
            "errors": self.errors,
            "errors_truncated": sum(v for k, v in self.outcomes.items() if k.startswith("error"))
            > len(self.errors),
            "parts_written": self.parts,
            "parts_discarded_from_interrupted_run": self.discarded_parts,
            "comprehend_medical_estimate": self.cost.as_dict(),
            "stopped": self.stopped,
            "elapsed_s": round(self.elapsed_s, 3),
            "enriched_per_s": round(rate, 2),
            "worker_cpu_s": round(self.worker_cpu_s, 2),
            "enriched_per_worker_cpu_s": round(self.processed / self.worker_cpu_s, 2)
            if self.worker_cpu_s > 0
            else None,
        }


class ProgressSink(Protocol):
    """Receives the running report after every document (a progress bar)."""

    def update(self, report: Report) -> None: ...


class BatchRun:
    """One run over a source into a sink.

    Args:
        source: Where documents come from.
        sink: Where results go (unused in a dry run).
        checkpoint: The run's checkpoint.
        identity: Engine name and version (for the loop guard).
        options: Selection, cost and part settings.
        progress: Optional progress display.
    """

    def __init__(
        self,
        source: DocumentSource,
        sink: ResultSink | None,
        checkpoint: Checkpoint,
        identity: EngineIdentity,
        options: RunOptions,
        progress: ProgressSink | None = None,
    ) -> None:
        self.source = source
        self.sink = sink
        self.checkpoint = checkpoint
        self.identity = identity
        self.options = options
        self.progress = progress
        self.stop_requested = False
        self.report = Report(
            source=source.key,
            sink=sink.key if sink is not None and not options.dry_run else "",
            engine=f"{identity.name}@{identity.version}",
            cost=CostEstimate(prices=options.prices),
        )

    @property
    def _costs_in_reader(self) -> bool:
        """The reader estimates cost (to stop before the budget); else workers report units."""
        return self.options.dry_run or self.options.max_cost is not None

    def _note(self, result: DocResult) -> None:
        self.report.add(result)
        if result.units and not self._costs_in_reader:
            self.report.cost.add_units(result.chars, result.units)
        if self.progress is not None:
            self.progress.update(self.report)

    def planned(self) -> Iterator[WorkItem]:
        """Documents that need the engine; skips are reported here, as they are read."""
        for doc in self.source:
            if doc.get("resourceType") != DOCUMENT_TYPE:
                self._note(DocResult(str(doc.get("id", "")), "", NOT_DOCUMENT))
                continue
            decision = plan(
                doc,
                identity=self.identity,
                selection=self.options.selection,
                is_done=self.checkpoint.is_done,
                fetch_binary=self.source.fetch_binary,
                profile=self.options.profile,
            )
            if isinstance(decision, DocResult):
                self._note(decision)
                continue
            if decision.text is not None and self._costs_in_reader:
                units = units_for(decision.text)
                cost = self.report.cost
                if self.options.max_cost is not None and (
                    cost.cost + cost.cost_of(units) > self.options.max_cost
                ):
                    self.report.stopped = (
                        f"[NLP660] --max-cost {self.options.max_cost:g} USD reached: "
                        "remaining documents not processed"
                    )
                    self._note(DocResult(decision.doc_id, decision.text_hash, BUDGET))
                    return
                cost.add(decision.text, units)
            if self.options.dry_run:
                self._note(DocResult(decision.doc_id, decision.text_hash, DRY_RUN))
                continue
            yield decision

    def recover(self) -> None:
        """Undo the parts an interrupted run left open (their documents are done again)."""
        for part in self.checkpoint.open_parts():
            if self.sink is not None:
                self.sink.discard(part)
            self.checkpoint.drop_part(part)
            self.report.discarded_parts += 1
            log.info("[NLP650] part %d of an interrupted run discarded", part)

    def _flush(self, buffer: list[DocResult]) -> None:
        if not buffer:
            return
        if self.sink is None:  # pragma: no cover - guarded by run()
            raise RuntimeError("[NLP651] no sink")
        part = self.checkpoint.open_part()
        self.sink.write(part, buffer)
        self.checkpoint.commit_part(part, buffer)
        for result in buffer:
            if result.failed_from is not None:  # counted as enriched when it arrived
                self.report.reclassify(result)
        self.report.parts += 1
        buffer.clear()

    def request_stop(self) -> None:
        """Stop after the result being handled (safe from a signal handler): the results
        received so far are written and checkpointed, then ``run`` returns."""
        self.stop_requested = True

    def _results(self, executor: Executor) -> Iterator[DocResult]:
        reader = getattr(executor, "map_source", None)
        if self.options.distributed_read and self.options.max_cost is None and callable(reader):
            results: Iterator[DocResult] = reader(
                self.source,
                done=self.checkpoint.done_keys(),
                selection=self.options.selection,
                profile=self.options.profile,
            )
            return results
        return executor.map(self.planned())

    def run(self, executor: Executor | None) -> Report:
        """Run to the end of the source (or the budget); returns the report."""
        started = time.monotonic()
        try:
            if self.options.dry_run or executor is None:
                for _ in self.planned():
                    pass
                return self.report
            self.recover()
            buffer: list[DocResult] = []
            last_flush = time.monotonic()
            try:
                for result in self._results(executor):
                    if self.stop_requested:
                        self.report.stopped = STOPPED
                        break
                    if result.outcome in SKIPPED:  # planned remotely: nothing to write
                        self._note(result)
                        continue
                    buffer.append(result)
                    self._note(result)
                    now = time.monotonic()
                    if (
                        len(buffer) >= self.options.part_size
                        or now - last_flush >= self.options.flush_seconds
                    ):
                        self._flush(buffer)
                        last_flush = now
            except KeyboardInterrupt:
                self.report.stopped = STOPPED
            except BrokenExecutor:
                self.report.stopped = (
                    "[NLP662] a worker process died (memory?): resume with the same command"
                )
            self._flush(buffer)
            return self.report
        finally:
            self.report.elapsed_s = time.monotonic() - started
