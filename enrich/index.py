"""Rows of the NLP search index: what the aws-cm tree of one DocumentReference holds, flattened.

One row per (operation, entity, concept); an entity without concepts gives one row with the
concept fields empty. Composite search parameters therefore match inside one row (same entity,
and for description+score the same concept). ``entity_index`` is the entity's position in its
operation's response, so several rows of one entity share it.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

Operation = Literal["detect-entities", "infer-icd10", "infer-rxnorm"]


class IndexRow(BaseModel):
    model_config = ConfigDict(frozen=True)

    operation: Operation
    entity_index: int
    entity_id: int | None = None
    text: str | None = None
    category: str | None = None
    type: str | None = None
    score: float | None = None
    concept_index: int | None = None
    concept_code: str | None = None
    concept_description: str | None = None
    concept_score: float | None = None
    begin_offset: int | None = None
    end_offset: int | None = None
    traits: tuple[str, ...] = ()
