"""Ray executor: the same per-document function on a Ray cluster, through Ray Data ``map_batches``.

A callable class runs in a pool of Ray actors, so each actor builds the engine once; documents
and results travel as JSON text (Arrow cannot hold free-form FHIR dicts). The driver writes
every result (single writer, same sinks and checkpoint as on one machine). Two ways in:

* NDJSON sources (``map_source``): one Ray Data pipeline for the whole run. Read tasks read the
  files (local or S3) on the cluster, :class:`RayPlanProcessor` actors plan (loop guard,
  checkpoint, version filter) and process; the driver only writes. One actor pool per run.
* Any source (``map``): the driver reads and plans, and sends work items in windows of
  ``window`` documents, one Ray Data execution each; a window restarts the actor pool (one
  engine load per actor per window), so keep it large. Used for store and upstream sources and
  whenever ``--max-cost`` needs the driver to stop before spending.

Actor size matters on small machines: actors that each ask for a whole CPU can leave none for
Ray Data's own read tasks, and the pipeline stalls; ``actor_cpus`` defaults to 0.5.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from functools import partial
from typing import Any

from api.batch.model import DocResult, EngineIdentity, WorkItem
from api.batch.pool import chunks
from api.batch.sources import DOCUMENT_TYPE, NdjsonSource, parse_line
from api.batch.work import DocProcessor, Selection, plan
from api.service import BinaryContent

log = logging.getLogger(__name__)


class RayDocProcessor:
    """``map_batches`` callable class: ``{"item": [WorkItem JSON]}`` -> ``{"result": [JSON]}``."""

    def __init__(self, processor_args: tuple[Any, ...], processor_kwargs: dict[str, Any]) -> None:
        self.processor = DocProcessor(*processor_args, **processor_kwargs)

    def __call__(self, batch: dict[str, Any]) -> dict[str, Any]:
        import numpy as np

        results = [self.processor(WorkItem.from_json(str(s))).to_json() for s in batch["item"]]
        return {"result": np.array(results, dtype=object)}


class RayPlanProcessor:
    """``map_batches`` callable class for NDJSON lines: plan each document, process it if needed.

    ``{"line": [NDJSON text]}`` -> ``{"result": [DocResult JSON]}``; lines that are not
    DocumentReferences give no result.
    """

    def __init__(
        self,
        processor_args: tuple[Any, ...],
        processor_kwargs: dict[str, Any],
        selection: Selection,
        profile: str | None,
        done: Any,
    ) -> None:
        import ray

        self.processor = DocProcessor(*processor_args, **processor_kwargs)
        self.selection = selection
        self.profile = profile
        # The checkpoint's finished (id, hash) set, put in the object store once by the driver.
        self.done: frozenset[tuple[str, str]] = (
            ray.get(done) if isinstance(done, ray.ObjectRef) else done
        )

    def _is_done(self, doc_id: str, text_hash: str) -> bool:
        return (doc_id, text_hash) in self.done

    def __call__(self, batch: dict[str, Any]) -> dict[str, Any]:
        import numpy as np

        results: list[str] = []
        for line in batch["line"]:
            doc = parse_line(str(line))
            if doc is None or doc.get("resourceType") != DOCUMENT_TYPE:
                continue
            decision = plan(
                doc,
                identity=self.processor.identity,
                selection=self.selection,
                is_done=self._is_done,
                fetch_binary=_no_binary,
                profile=self.profile,
            )
            result = decision if isinstance(decision, DocResult) else self.processor(decision)
            results.append(result.to_json())
        return {"result": np.array(results, dtype=object)}


def _no_binary(url: str) -> BinaryContent | None:  # noqa: ARG001 - exports index no Binary
    return None


def _read_file(row: dict[str, Any], *, url: str, endpoint_url: str | None) -> list[dict[str, Any]]:
    """Ray Data ``flat_map``: the non-blank lines of one NDJSON file of the source."""
    from api.batch.storage import open_storage

    storage = open_storage(url, endpoint_url=endpoint_url)
    return [
        {"line": line.decode("utf-8")} for line in storage.read_lines(row["file"]) if line.strip()
    ]


def _identity(processor_args: tuple[Any, ...], processor_kwargs: dict[str, Any]) -> EngineIdentity:
    return DocProcessor(*processor_args, **processor_kwargs).identity


class RayExecutor:
    """Runs :class:`RayDocProcessor` actors on a Ray cluster.

    Args:
        address: ``auto`` (running cluster), ``ray://host:10001``, ``local`` (start a local Ray
            here), or ``None`` to use an already initialised Ray.
        processor_args: Positional arguments of :class:`DocProcessor`.
        processor_kwargs: Keyword arguments of :class:`DocProcessor`.
        actors: Number of actors (default 2).
        actor_cpus: CPUs reserved per actor (default 0.5; fractional on purpose, see module doc).
        batch_size: Documents per ``map_batches`` call (default 64).
        window: Documents per Ray Data execution (default 20,000).
        local_cpus: CPUs of a ``local`` Ray (default: all).
        runtime_env: Ray runtime environment (e.g. ``{"working_dir": "."}`` or env vars).
        s3_endpoint_url: S3 endpoint for read tasks of ``s3://`` sources (MinIO, moto).
        read_cpus: CPUs reserved per read task (default 0.25).
    """

    def __init__(
        self,
        address: str | None,
        processor_args: tuple[Any, ...],
        processor_kwargs: dict[str, Any] | None = None,
        *,
        actors: int = 2,
        actor_cpus: float = 0.5,
        batch_size: int = 64,
        window: int = 20_000,
        local_cpus: int | None = None,
        runtime_env: dict[str, Any] | None = None,
        s3_endpoint_url: str | None = None,
        read_cpus: float = 0.25,
    ) -> None:
        import ray

        self.args = processor_args
        self.kwargs = processor_kwargs or {}
        self.actors = actors
        self.actor_cpus = actor_cpus
        self.batch_size = batch_size
        self.window = window
        self.s3_endpoint_url = s3_endpoint_url
        self.read_cpus = read_cpus
        self._started = False
        if address is not None or not ray.is_initialized():
            init: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False}
            if runtime_env:
                init["runtime_env"] = runtime_env
            if address in (None, "local"):
                init["num_cpus"] = local_cpus
            else:
                init["address"] = address
            ray.init(**init)
            self._started = True
        ctx = ray.data.DataContext.get_current()
        ctx.enable_progress_bars = False

    def identity(self) -> EngineIdentity:
        import ray

        task = ray.remote(num_cpus=self.actor_cpus)(_identity)
        identity: EngineIdentity = ray.get(task.remote(self.args, self.kwargs))
        return identity

    def map(self, items: Iterable[WorkItem]) -> Iterator[DocResult]:
        import ray

        for window in chunks(items, self.window):
            dataset = ray.data.from_items([{"item": item.to_json()} for item in window])
            yield from self._through_actors(dataset, RayDocProcessor, {})

    def _through_actors(
        self, dataset: Any, actor_class: type, extra: dict[str, Any]
    ) -> Iterator[DocResult]:
        """``map_batches`` with the actor pool, then the results back to the driver."""
        mapped = dataset.map_batches(
            actor_class,
            fn_constructor_kwargs={
                "processor_args": self.args,
                "processor_kwargs": self.kwargs,
                **extra,
            },
            batch_size=self.batch_size,
            batch_format="numpy",
            concurrency=self.actors,
            num_cpus=self.actor_cpus,
        )
        for batch in mapped.iter_batches(batch_size=self.batch_size, batch_format="numpy"):
            for text in batch["result"]:
                yield DocResult.from_json(str(text))

    def map_source(
        self,
        source: object,
        *,
        done: frozenset[tuple[str, str]],
        selection: Selection,
        profile: str | None,
    ) -> Iterator[DocResult]:
        """Read, plan and process an NDJSON source on the cluster (one pipeline, one actor pool).

        Other sources fall back to :meth:`map` over the driver's planning (the caller's
        ``BatchRun`` only calls this for sources it cannot plan itself cheaper).
        """
        import ray

        if not isinstance(source, NdjsonSource):
            raise TypeError("[NLP643] map_source reads NDJSON sources only")
        files = source.files()
        if not files:
            return
        dataset = ray.data.from_items([{"file": name} for name in files])
        reader = partial(_read_file, url=source.storage.url, endpoint_url=self.s3_endpoint_url)
        # One export file is one read task and, unsplit, one block: one actor would do all the
        # work. Streaming repartition cuts blocks of a few batches so every actor gets some.
        lines = dataset.flat_map(reader, num_cpus=self.read_cpus).repartition(
            target_num_rows_per_block=self.batch_size * 4
        )
        extra = {"selection": selection, "profile": profile, "done": ray.put(done)}
        yield from self._through_actors(lines, RayPlanProcessor, extra)

    def close(self) -> None:
        import ray

        if self._started:
            ray.shutdown()
