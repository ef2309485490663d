"""Executors of the per-document function: in-process, or a pool of worker processes.

Each worker process builds its :class:`DocProcessor` once, in the pool initializer (the engine
and its pipeline are never pickled); work travels in small chunks and results come back to the
parent, the single writer. At most ``workers * inflight`` chunks are queued, so reading a huge
source never outruns the engine.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from itertools import islice
from typing import Any, Protocol

from api.batch.model import DocResult, EngineIdentity, WorkItem
from api.batch.work import DocProcessor
from api.bootstrap import settle_heap


class Executor(Protocol):
    """Runs the per-document function over work items; results may come back in any order."""

    def identity(self) -> EngineIdentity: ...

    def map(self, items: Iterable[WorkItem]) -> Iterator[DocResult]: ...

    def close(self) -> None: ...


def chunks(items: Iterable[WorkItem], size: int) -> Iterator[list[WorkItem]]:
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


class SerialExecutor:
    """The per-document function in this process (``--workers 1``)."""

    def __init__(self, processor: DocProcessor) -> None:
        self.processor = processor

    def identity(self) -> EngineIdentity:
        return self.processor.identity

    def map(self, items: Iterable[WorkItem]) -> Iterator[DocResult]:
        return (self.processor(item) for item in items)

    def close(self) -> None:
        """Nothing to release."""


_PROCESSOR: DocProcessor | None = None


def _init_worker(args: tuple[Any, ...], kwargs: dict[str, Any], parent: int) -> None:
    global _PROCESSOR
    threading.Thread(target=_exit_with, args=(parent,), daemon=True).start()
    _PROCESSOR = DocProcessor(*args, **kwargs)
    settle_heap()  # the worker keeps its engine to the end


def _exit_with(parent: int, every_s: float = 2.0) -> None:
    """End this worker when the run's process is gone (killed with SIGKILL: no clean-up ran)."""
    while True:
        time.sleep(every_s)
        try:
            os.kill(parent, 0)
        except ProcessLookupError:
            os._exit(0)


def _processor() -> DocProcessor:
    if _PROCESSOR is None:  # pragma: no cover - the initializer always ran
        raise RuntimeError("[NLP640] worker process has no engine")
    return _PROCESSOR


def _identity() -> EngineIdentity:
    return _processor().identity


def _run_chunk(chunk: list[WorkItem]) -> list[DocResult]:
    processor = _processor()
    return [processor(item) for item in chunk]


class PoolExecutor:
    """``workers`` processes (``forkserver`` start method by default), one engine each.

    Args:
        workers: Number of worker processes.
        processor_args: Positional arguments of :class:`DocProcessor` (engine spec, policy, now).
        processor_kwargs: Keyword arguments of :class:`DocProcessor`.
        chunk_size: Documents per task sent to a worker (default 8).
        inflight: Chunks queued per worker (default 4).
        start_method: ``forkserver`` (default) or ``spawn``; ``fork`` is refused because the
            parent may hold threads (progress bar, HTTP clients).
    """

    def __init__(
        self,
        workers: int,
        processor_args: tuple[Any, ...],
        processor_kwargs: dict[str, Any] | None = None,
        *,
        chunk_size: int = 8,
        inflight: int = 4,
        start_method: str = "forkserver",
    ) -> None:
        if start_method not in ("forkserver", "spawn"):
            raise ValueError(f"[NLP641] unsupported start method {start_method!r}")
        self.workers = workers
        self.chunk_size = chunk_size
        self.max_pending = workers * inflight
        self._pool = ProcessPoolExecutor(
            max_workers=workers,
            mp_context=multiprocessing.get_context(start_method),
            initializer=_init_worker,
            initargs=(processor_args, processor_kwargs or {}, os.getpid()),
        )

    def identity(self) -> EngineIdentity:
        return self._pool.submit(_identity).result()

    def map(self, items: Iterable[WorkItem]) -> Iterator[DocResult]:
        pending: set[Future[list[DocResult]]] = set()
        for chunk in chunks(items, self.chunk_size):
            pending.add(self._pool.submit(_run_chunk, chunk))
            if len(pending) >= self.max_pending:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    yield from future.result()
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                yield from future.result()

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
