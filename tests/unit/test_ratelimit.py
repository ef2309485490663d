"""The token bucket keeps both rates under a fake clock, also when shared by threads."""

from __future__ import annotations

import random
import threading

import pytest

from nlp.ratelimit import RateConfig, RateLimiter, shared_rate_limiter


class FakeClock:
    """A clock that only moves when someone sleeps on it (or a test sets ``now``)."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds > 0
        self.slept.append(seconds)
        self.now += seconds


def _max_in_window(starts: list[float], sizes: list[int], window: float) -> tuple[int, int]:
    """Most calls and most characters started in any half-open window of ``window`` seconds."""
    most_calls = most_chars = 0
    j = 0
    for i in range(len(starts)):
        while starts[j] <= starts[i] - window:
            j += 1
        most_calls = max(most_calls, i - j + 1)
        most_chars = max(most_chars, sum(sizes[j : i + 1]))
    return most_calls, most_chars


def test_request_rate_is_kept_for_small_calls() -> None:
    clock = FakeClock()
    limiter = RateLimiter(40, 40_000, clock=clock, sleep=clock.sleep)
    starts = []
    for _ in range(400):
        limiter.acquire(10)
        starts.append(clock.now)
    assert starts[0] == 1000.0  # the first call does not wait
    assert starts[-1] - starts[0] == pytest.approx(399 / 40)
    calls, _ = _max_in_window(starts, [10] * 400, 1.0)
    assert calls == 40


def test_character_rate_is_kept_for_large_calls() -> None:
    clock = FakeClock()
    limiter = RateLimiter(40, 40_000, clock=clock, sleep=clock.sleep)
    rng = random.Random(7)
    sizes = [rng.randint(1, 20_000) for _ in range(300)]
    starts = []
    for size in sizes:
        limiter.acquire(size)
        starts.append(clock.now)
    calls, chars = _max_in_window(starts, sizes, 1.0)
    assert calls <= 40
    assert chars <= 40_000 + max(sizes)  # one call of slack (whole calls count at their start)
    # Each call waits until the one before is paid for, in requests or characters.
    paid = sum(max(size / 40_000, 1 / 40) for size in sizes[:-1])
    assert starts[-1] - starts[0] == pytest.approx(paid)


def test_idle_time_is_not_banked_without_burst() -> None:
    clock = FakeClock()
    limiter = RateLimiter(10, 1000, clock=clock, sleep=clock.sleep)
    limiter.acquire(500)
    clock.now += 60
    assert limiter.acquire(500) == 0
    assert limiter.acquire(1) == pytest.approx(0.5)


def test_burst_allows_a_full_bucket_at_once() -> None:
    clock = FakeClock()
    limiter = RateLimiter(10, 1000, burst_seconds=1.0, clock=clock, sleep=clock.sleep)
    waits = [limiter.acquire(100) for _ in range(10)]
    assert waits == [0] * 10
    assert limiter.acquire(100) == pytest.approx(0.1)


def test_threads_sharing_one_limiter_get_distinct_slots() -> None:
    clock = FakeClock()  # frozen: nobody advances it, so every booking is relative to 1000.0
    limiter = RateLimiter(50, 1e9, clock=clock, sleep=lambda s: None)
    starts: list[float] = []
    lock = threading.Lock()

    def work() -> None:
        for _ in range(100):
            delay = limiter.reserve(1)
            with lock:
                starts.append(1000.0 + delay)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    starts.sort()
    assert len(starts) == 800
    assert starts == pytest.approx([1000.0 + k / 50 for k in range(800)])


def test_invalid_configuration_is_rejected() -> None:
    with pytest.raises(ValueError, match="NLP160"):
        RateLimiter(0, 10)
    with pytest.raises(ValueError, match="NLP161"):
        RateLimiter().acquire(-1)


def test_shared_limiter_is_one_per_configuration() -> None:
    a = shared_rate_limiter(RateConfig(7, 7000))
    assert shared_rate_limiter(RateConfig(7, 7000)) is a
    assert shared_rate_limiter(RateConfig(8, 7000)) is not a
    assert shared_rate_limiter() is shared_rate_limiter(RateConfig())
