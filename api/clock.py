"""The service clock: UTC ``now``, built by the composition root and handed to every writer."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

#: A clock: returns the current instant (UTC). Tests pass ``tests.fakes.FixedClock``.
Clock = Callable[[], datetime]


def utc_now() -> datetime:
    """The system clock, UTC."""
    return datetime.now(UTC)
