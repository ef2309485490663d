"""NLP engines behind one Protocol, answering in Comprehend Medical's response shape."""

from nlp.base import (
    EngineConfigError,
    EngineError,
    NlpEngine,
    PermanentEngineError,
    TransientEngineError,
)
from nlp.factory import make_engine  # light: engines are imported inside make_engine
from nlp.schema import NlpResult

__all__ = [
    "EngineConfigError",
    "EngineError",
    "NlpEngine",
    "NlpResult",
    "PermanentEngineError",
    "TransientEngineError",
    "make_engine",
]
