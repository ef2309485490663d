"""A thread-safe client-side token bucket on requests/s and characters/s (Comprehend Medical)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

Clock = Callable[[], float]
Sleep = Callable[[float], None]

#: Comprehend Medical's documented default quotas for the sync operations (spec §5.2).
DEFAULT_REQUESTS_PER_SECOND = 40.0
DEFAULT_CHARACTERS_PER_SECOND = 40_000.0


class _Bucket:
    """One rate. ``tokens`` is the balance at time ``at``; it may be negative (debt)."""

    def __init__(self, rate: float, capacity: float, now: float) -> None:
        self.rate = rate
        self.capacity = capacity
        self.tokens = capacity
        self.at = now

    def earliest(self, amount: float) -> float:
        """Earliest time (>= ``at``) at which ``amount`` may be taken.

        The balance must reach ``min(amount, capacity)``: a request larger than the bucket waits
        for a full bucket and leaves a debt that the next request waits out.
        """
        need = min(amount, self.capacity)
        if self.tokens >= need:
            return self.at
        return self.at + (need - self.tokens) / self.rate

    def take(self, amount: float, when: float) -> None:
        """Take ``amount`` at ``when`` (>= ``at``), refilling up to the capacity first."""
        self.tokens = min(self.capacity, self.tokens + (when - self.at) * self.rate) - amount
        self.at = when


class RateLimiter:
    """Spaces out calls so both a request rate and a character rate are kept.

    ``acquire`` books the call's start time under a lock (first come, first served) and sleeps
    outside it until then. With ``burst_seconds=0`` (the default) every call waits until the
    previous calls are paid for, so over any window of ``W`` seconds the calls started stay
    within ``rate * W`` plus one call.

    Config keys:
        requests_per_second: Request rate (default 40, the Comprehend Medical default quota;
            the Comprehend guide also lists 100).
        characters_per_second: Character rate (default 40,000).
        burst_seconds: Bucket capacity in seconds of rate (default 0: no burst beyond one call).
        clock: Monotonic clock in seconds (default ``time.monotonic``).
        sleep: Sleep function (default ``time.sleep``); a fake one for tests.
    """

    def __init__(
        self,
        requests_per_second: float = DEFAULT_REQUESTS_PER_SECOND,
        characters_per_second: float = DEFAULT_CHARACTERS_PER_SECOND,
        *,
        burst_seconds: float = 0.0,
        clock: Clock = time.monotonic,
        sleep: Sleep = time.sleep,
    ) -> None:
        if requests_per_second <= 0 or characters_per_second <= 0 or burst_seconds < 0:
            raise ValueError(
                "[NLP160] rates must be positive and burst_seconds not negative: "
                f"{requests_per_second}, {characters_per_second}, {burst_seconds}"
            )
        self.requests_per_second = requests_per_second
        self.characters_per_second = characters_per_second
        self.burst_seconds = burst_seconds
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        now = clock()
        self._requests = _Bucket(requests_per_second, requests_per_second * burst_seconds, now)
        self._characters = _Bucket(
            characters_per_second, characters_per_second * burst_seconds, now
        )

    def reserve(self, characters: int) -> float:
        """Book one request of ``characters`` and return how long to wait before sending it."""
        if characters < 0:
            raise ValueError(f"[NLP161] negative character count: {characters}")
        with self._lock:
            now = self._clock()
            start = max(
                now,
                self._requests.earliest(1),
                self._characters.earliest(characters),
            )
            self._requests.take(1, start)
            self._characters.take(characters, start)
        return start - now

    def acquire(self, characters: int) -> float:
        """Block until one request of ``characters`` may be sent; return the seconds waited."""
        delay = self.reserve(characters)
        if delay > 0:
            self._sleep(delay)
        return delay


@dataclass(frozen=True)
class RateConfig:
    """The key of a shared limiter."""

    requests_per_second: float = DEFAULT_REQUESTS_PER_SECOND
    characters_per_second: float = DEFAULT_CHARACTERS_PER_SECOND
    burst_seconds: float = 0.0


_shared: dict[RateConfig, RateLimiter] = {}
_shared_lock = threading.Lock()


def shared_rate_limiter(config: RateConfig | None = None) -> RateLimiter:
    """The process-wide limiter for ``config``, created on first use (never at import).

    Every thread of the process that calls Comprehend Medical with the same configuration
    shares one bucket. Separate processes each have their own: divide the rates by the number
    of worker processes.
    """
    key = config or RateConfig()
    with _shared_lock:
        limiter = _shared.get(key)
        if limiter is None:
            limiter = RateLimiter(
                key.requests_per_second,
                key.characters_per_second,
                burst_seconds=key.burst_seconds,
            )
            _shared[key] = limiter
        return limiter
