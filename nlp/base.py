"""The NlpEngine Protocol and the engine error hierarchy."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from nlp.codes import CodedError
from nlp.schema import NlpResult


@runtime_checkable
class NlpEngine(Protocol):
    """Anything that turns one text into the three Comprehend Medical responses.

    ``name`` and ``version`` are recorded in the enriched document (loop guard, provenance);
    a change of either makes re-processing run again.
    """

    name: str
    version: str

    def analyze(self, text: str) -> NlpResult: ...


class EngineError(CodedError):
    """Base of engine failures. ``code`` is a registered code (``nlp.codes``) such as ``NLP121``."""

    code = "NLP100"
    transient = False


class TransientEngineError(EngineError):
    """Throttling, 5xx, network: the document stays pending and is retried later."""

    code = "NLP110"
    transient = True


class PermanentEngineError(EngineError):
    """Invalid request, encoding, size: retrying the same input cannot succeed."""

    code = "NLP120"


class EngineConfigError(EngineError):
    """The engine cannot be built (missing assets, unknown engine name, bad replay path)."""

    code = "NLP130"
