"""Interval lookups in O(log n): does a span overlap any of a fixed set of spans?"""

from __future__ import annotations

import bisect
from collections.abc import Iterable


class SpanSet:
    """A fixed set of ``(begin, end)`` spans answering overlap queries by bisection.

    Args:
        spans: Half-open character spans, in any order.
    """

    def __init__(self, spans: Iterable[tuple[int, int]]) -> None:
        ordered = sorted(spans)
        self.begins = [b for b, _ in ordered]
        self.ends = [e for _, e in ordered]
        running = -1
        self._max_end: list[int] = []
        for e in self.ends:
            running = max(running, e)
            self._max_end.append(running)

    def overlaps(self, begin: int, end: int) -> bool:
        """True when ``[begin, end)`` overlaps a span of the set."""
        i = bisect.bisect_left(self.begins, end)
        return i > 0 and self._max_end[i - 1] > begin

    def __len__(self) -> int:
        return len(self.begins)
