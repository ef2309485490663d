"""Ray executor: the same per-document function on a Ray cluster, through Ray Data ``map_batches``.

A callable class (:class:`RayDocProcessor`) runs in a pool of Ray actors, so each actor builds
the engine once. Work items travel as JSON text (Arrow cannot hold free-form FHIR dicts); the
driver reads the source, plans, and writes every result (single writer, same checkpoint as on one
machine). Work is sent in windows of ``window`` documents, one Ray Data execution each: a window
restarts the actor pool, so keep it large (the default 20,000 documents costs one engine load
per actor per window).

Actor size matters on small machines: actors that each ask for a whole CPU can leave none for
Ray Data's own read tasks, and the pipeline stalls; ``actor_cpus`` defaults to 0.5.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from typing import Any

from api.batch.model import DocResult, EngineIdentity, WorkItem
from api.batch.pool import chunks
from api.batch.work import DocProcessor

log = logging.getLogger(__name__)


class RayDocProcessor:
    """``map_batches`` callable class: ``{"item": [WorkItem JSON]}`` -> ``{"result": [JSON]}``."""

    def __init__(self, processor_args: tuple[Any, ...], processor_kwargs: dict[str, Any]) -> None:
        self.processor = DocProcessor(*processor_args, **processor_kwargs)

    def __call__(self, batch: dict[str, Any]) -> dict[str, Any]:
        import numpy as np

        results = [self.processor(WorkItem.from_json(str(s))).to_json() for s in batch["item"]]
        return {"result": np.array(results, dtype=object)}


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
    ) -> None:
        import ray

        self.args = processor_args
        self.kwargs = processor_kwargs or {}
        self.actors = actors
        self.actor_cpus = actor_cpus
        self.batch_size = batch_size
        self.window = window
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
            mapped = dataset.map_batches(
                RayDocProcessor,
                fn_constructor_kwargs={
                    "processor_args": self.args,
                    "processor_kwargs": self.kwargs,
                },
                batch_size=self.batch_size,
                batch_format="numpy",
                concurrency=self.actors,
                num_cpus=self.actor_cpus,
            )
            for batch in mapped.iter_batches(batch_size=self.batch_size, batch_format="numpy"):
                for text in batch["result"]:
                    yield DocResult.from_json(str(text))

    def close(self) -> None:
        import ray

        if self._started:
            ray.shutdown()
