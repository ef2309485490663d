"""The annotator's working data: mentions (entities) and their attributes, category names."""

from __future__ import annotations

from dataclasses import dataclass, field

MC, MED, TTP, ANAT, PHI = (
    "MEDICAL_CONDITION",
    "MEDICATION",
    "TEST_TREATMENT_PROCEDURE",
    "ANATOMY",
    "PROTECTED_HEALTH_INFORMATION",
)
BES = "BEHAVIORAL_ENVIRONMENTAL_SOCIAL"
CLINICAL = (MC, MED, TTP)


@dataclass(slots=True, init=False)
class Attr:
    """An attribute of a mention (Comprehend ``Attribute``)."""

    begin: int
    end: int
    type: str
    category: str
    relationship: str | None
    score: float
    relationship_score: float

    # an explicit __init__: mypyc compiles it (the dataclass one runs as Python, ~10x slower)
    def __init__(
        self,
        begin: int,
        end: int,
        type: str,
        category: str,
        relationship: str | None,
        score: float,
        relationship_score: float,
    ) -> None:
        self.begin = begin
        self.end = end
        self.type = type
        self.category = category
        self.relationship = relationship
        self.score = score
        self.relationship_score = relationship_score


@dataclass(slots=True, init=False)
class Mention:
    """One entity with its attributes and traits, before ids and concepts are assigned."""

    begin: int
    end: int
    category: str
    type: str
    score: float
    source: str = "rule"
    code: str | None = None
    link: str | None = None
    attributes: list[Attr] = field(default_factory=list)
    traits: dict[str, float] = field(default_factory=dict)
    context: set[str] = field(default_factory=set)
    cue_trait: str | None = None
    # what nlp.local.meaning reads beyond traits (written to the result's Assertions)
    status: str | None = None
    role: str | None = None
    related: tuple[int, int] | None = None
    substance: str | None = None

    # an explicit __init__: mypyc compiles it (the dataclass one runs as Python, ~10x slower)
    def __init__(
        self,
        begin: int,
        end: int,
        category: str,
        type: str,
        score: float,
        source: str = "rule",
        code: str | None = None,
        link: str | None = None,
        attributes: list[Attr] | None = None,
        traits: dict[str, float] | None = None,
        context: set[str] | None = None,
        cue_trait: str | None = None,
        status: str | None = None,
        role: str | None = None,
        related: tuple[int, int] | None = None,
        substance: str | None = None,
    ) -> None:
        self.begin = begin
        self.end = end
        self.category = category
        self.type = type
        self.score = score
        self.source = source
        self.code = code
        self.link = link
        self.attributes = [] if attributes is None else attributes
        self.traits = {} if traits is None else traits
        self.context = set() if context is None else context
        self.cue_trait = cue_trait
        self.status = status
        self.role = role
        self.related = related
        self.substance = substance
