"""Amazon Comprehend Medical cost estimate: billed units per operation and a price per unit.

AWS bills "units of 100 characters, with a 1 unit minimum charge per request" (spec §5.3). A
document costs, per operation, the sum over the chunks the engine sends of
``max(1, ceil(len(chunk) / 100))``; the chunking is the Comprehend engine's own
(``nlp.comprehend.estimate_units``) when it is importable, else ``nlp.chunking.split_text``.

Prices are configuration, not truth: the defaults below ($0.01 per unit for each operation, the
first NERe tier of the public pricing example) must be checked against the AWS pricing page for
your region and volume, and passed with ``--price-detect``, ``--price-icd10``, ``--price-rxnorm``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

DETECT = "DetectEntitiesV2"
ICD10 = "InferICD10CM"
RXNORM = "InferRxNorm"
OPERATIONS = (DETECT, ICD10, RXNORM)
CHARS_PER_UNIT = 100
LIMITS = {DETECT: 20_000, ICD10: 10_000, RXNORM: 10_000}  # characters and UTF-8 bytes (D7)
DEFAULT_PRICE_PER_UNIT = 0.01  # USD; configuration, see the module docstring


@dataclass(frozen=True)
class Prices:
    """USD per 100-character unit, per operation."""

    detect: float = DEFAULT_PRICE_PER_UNIT
    icd10: float = DEFAULT_PRICE_PER_UNIT
    rxnorm: float = DEFAULT_PRICE_PER_UNIT

    def per_operation(self) -> dict[str, float]:
        return {DETECT: self.detect, ICD10: self.icd10, RXNORM: self.rxnorm}


def _fallback_units(text: str) -> dict[str, int]:
    from nlp.chunking import split_text

    return {
        op: sum(
            max(1, math.ceil(len(chunk.text) / CHARS_PER_UNIT))
            for chunk in split_text(text, max_chars=limit, max_bytes=limit)
        )
        for op, limit in LIMITS.items()
    }


def units_function() -> Callable[[str], Mapping[str, int]]:
    """The Comprehend engine's unit estimator when it exists, else this module's."""
    try:
        from nlp.comprehend import estimate_units  # type: ignore[import-not-found,attr-defined,unused-ignore]
    except ImportError:
        return _fallback_units
    return estimate_units  # type: ignore[no-any-return,unused-ignore]


def units_for(text: str) -> dict[str, int]:
    """Billed units per operation for one note.

    >>> units_for("x" * 250)
    {'DetectEntitiesV2': 3, 'InferICD10CM': 3, 'InferRxNorm': 3}
    >>> units_for("short")["InferRxNorm"]
    1
    """
    units = units_function()(text)
    return {op: int(units.get(op, 0)) for op in OPERATIONS}


@dataclass
class CostEstimate:
    """Running totals of what a run sends (or would send) to Comprehend Medical."""

    prices: Prices = field(default_factory=Prices)
    documents: int = 0
    characters: int = 0
    units: dict[str, int] = field(default_factory=lambda: dict.fromkeys(OPERATIONS, 0))

    def cost_of(self, units: Mapping[str, int]) -> float:
        prices = self.prices.per_operation()
        return sum(units.get(op, 0) * prices[op] for op in OPERATIONS)

    @property
    def cost(self) -> float:
        return self.cost_of(self.units)

    def add(self, text: str, units: Mapping[str, int] | None = None) -> None:
        self.add_units(len(text), units if units is not None else units_for(text))

    def add_units(self, characters: int, units: Mapping[str, int]) -> None:
        self.documents += 1
        self.characters += characters
        for op in OPERATIONS:
            self.units[op] += units.get(op, 0)

    def as_dict(self) -> dict[str, object]:
        prices = self.prices.per_operation()
        return {
            "documents": self.documents,
            "characters": self.characters,
            "units": dict(self.units),
            "price_per_unit_usd": prices,
            "cost_per_operation_usd": {
                op: round(self.units[op] * prices[op], 4) for op in OPERATIONS
            },
            "estimated_cost_usd": round(self.cost, 4),
        }
