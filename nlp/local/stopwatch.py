"""CPU time per stage of the local engine, for ``docref-nlp bench --components``.

Off by default: then a lap costs one attribute test. Never records text, only stage names.
"""

from __future__ import annotations

import time


class Stopwatch:
    """Accumulates process CPU nanoseconds per stage name between :meth:`start` and laps."""

    def __init__(self, enabled: bool = False) -> None:
        self.enabled = enabled
        self.totals: dict[str, int] = {}
        self._last = 0

    def start(self) -> None:
        """Start timing the first stage."""
        if self.enabled:
            self._last = time.process_time_ns()

    def lap(self, stage: str) -> None:
        """Charge the CPU time since the last lap (or start) to ``stage``."""
        if self.enabled:
            now = time.process_time_ns()
            self.totals[stage] = self.totals.get(stage, 0) + now - self._last
            self._last = now
