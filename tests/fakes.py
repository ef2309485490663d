"""Fakes for tests: FakeEngine (replays recorded NlpResults) and FixedClock."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from nlp.base import TransientEngineError
from nlp.schema import NlpResult


class FakeEngine:
    """Replays recorded NlpResults: by exact text, else by a marker substring, else empty.

    Args:
        results: ``{text_or_marker: NlpResult | boto3-shaped dict}``. A key that equals the
            analysed text wins; otherwise the first key contained in the text.
        name: engine name (default ``fake``); ``version``: default ``1``.
        fail_with: an exception to raise on every call (e.g. ``TransientEngineError``).

    Attributes:
        calls: the texts analysed, in order.
    """

    def __init__(
        self,
        results: dict[str, NlpResult | dict[str, Any]] | None = None,
        *,
        name: str = "fake",
        version: str = "1",
        fail_with: Exception | None = None,
    ) -> None:
        self.name = name
        self.version = version
        self.results = {
            key: value if isinstance(value, NlpResult) else NlpResult.model_validate(value)
            for key, value in (results or {}).items()
        }
        self.fail_with = fail_with
        self.calls: list[str] = []

    @classmethod
    def from_files(cls, mapping: dict[str, Path], **kwargs: Any) -> FakeEngine:
        """``{marker: path of a recorded *.nlp.json}``."""
        return cls(
            {k: json.loads(p.read_text(encoding="utf-8")) for k, p in mapping.items()}, **kwargs
        )

    def analyze(self, text: str) -> NlpResult:
        self.calls.append(text)
        if self.fail_with is not None:
            raise self.fail_with
        if text in self.results:
            return self.results[text]
        for marker, result in self.results.items():
            if marker in text:
                return result
        return NlpResult()


class FlakyEngine(FakeEngine):
    """Fails with a transient error on the first ``failures`` calls, then replays."""

    def __init__(self, *args: Any, failures: int = 1, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.failures = failures

    def analyze(self, text: str) -> NlpResult:
        if self.failures > 0:
            self.failures -= 1
            self.calls.append(text)
            raise TransientEngineError("throttled (fake)")
        return super().analyze(text)


class FixedClock:
    """A clock that returns ``start`` and moves forward by ``step`` on each call."""

    def __init__(
        self,
        start: datetime = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
        step: timedelta = timedelta(milliseconds=1),
    ) -> None:
        self.now = start
        self.step = step

    def __call__(self) -> datetime:
        current = self.now
        self.now = self.now + self.step
        return current
