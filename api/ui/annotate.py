"""View model of an annotated note: NLP result + text + generated resources -> highlight marks.

Pure: no I/O. ``annotate`` turns the three Comprehend-shaped responses into

* entity marks: every DetectEntitiesV2 entity, with the InferICD10CM / InferRxNorm entity of the
  same span merged into it (its ranked concepts); an ontology entity without a DetectEntitiesV2
  twin is a mark of its own, so every entity of the result is highlighted exactly once;
* attribute marks: dose, route, frequency, ... linked to the entities they belong to (an
  attribute whose span is also an entity is shown in that entity's details only);
* a tree of text and mark nodes that nests marks (HTML needs well-formed nesting; a mark that
  overlaps another only partly is clipped where it is drawn and flagged, its true offsets kept);
* the generated resources linked to the entities they came from (the clinical profile's
  ``derivation-reference`` offsets; in the healthlake profile by concept code).

Every mark carries a bug-report text made of ids, offsets, codes, scores and the engine version:
never note text nor entity text (PHI).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from enrich.urls import DERIVATION_REFERENCE
from nlp.schema import Concept, NlpResult, Trait

#: Comprehend Medical categories: (short tag drawn on the mark, label of the legend).
CATEGORIES: dict[str, tuple[str, str]] = {
    "MEDICAL_CONDITION": ("COND", "Medical condition"),
    "MEDICATION": ("MED", "Medication"),
    "ANATOMY": ("ANAT", "Anatomy"),
    "TEST_TREATMENT_PROCEDURE": ("TEST", "Test, treatment or procedure"),
    "PROTECTED_HEALTH_INFORMATION": ("PHI", "Protected health information"),
    "TIME_EXPRESSION": ("TIME", "Time expression"),
    "BEHAVIORAL_ENVIRONMENTAL_SOCIAL": ("SOC", "Behavioral, environmental, social"),
}
OTHER_CATEGORY = ("OTHER", "Other")
#: Short tags of attribute types (the type itself, lower case, when not listed).
ATTRIBUTE_TAGS: dict[str, str] = {
    "DOSAGE": "dose",
    "ROUTE_OR_MODE": "route",
    "FREQUENCY": "freq",
    "DURATION": "dur",
    "STRENGTH": "strength",
    "FORM": "form",
    "RATE": "rate",
    "SYSTEM_ORGAN_SITE": "site",
    "DIRECTION": "dir",
    "ACUITY": "acuity",
    "QUALITY": "quality",
    "TEST_VALUE": "value",
    "TEST_UNIT": "unit",
    "TIME_TO_DX_NAME": "time",
    "TIME_TO_MEDICATION_NAME": "time",
    "TIME_TO_TEST_NAME": "time",
    "TIME_TO_PROCEDURE_NAME": "time",
    "TIME_TO_TREATMENT_NAME": "time",
}
#: Context traits that change what a mention says about the patient: (css class, tag, label).
CONTEXT_TRAITS: dict[str, tuple[str, str, str]] = {
    "NEGATION": ("neg", "not", "negated"),
    "PAST_HISTORY": ("hist", "past", "historical"),
    "PERTAINS_TO_FAMILY": ("fam", "family", "family member, not the patient"),
    "HYPOTHETICAL": ("hyp", "if", "hypothetical"),
    "FUTURE": ("fut", "future", "future"),
    "LOW_CONFIDENCE": ("low", "?", "low confidence"),
}
Kind = Literal["entity", "attribute"]
Diff = Literal["added", "removed", "changed"]


@dataclass(frozen=True)
class ReportContext:
    """What every bug report names besides the entity (no note text)."""

    source: str  # "DocumentReference/<id> version <v>" or "playground text (not stored)"
    engine: str  # "<name> <version>"
    profile: str
    status: str | None = None


@dataclass(frozen=True)
class ConceptView:
    vocabulary: str  # "ICD-10-CM" | "RxNorm"
    code: str
    description: str | None
    score: float | None


@dataclass(frozen=True)
class TraitView:
    name: str
    score: float | None

    @property
    def context(self) -> tuple[str, str, str] | None:
        """``(css class, tag, label)`` when this trait is a context marker."""
        return CONTEXT_TRAITS.get(self.name)


@dataclass
class ResourceLink:
    """One generated resource, summarised, and the marks it came from."""

    resource_type: str
    id: str
    summary: str
    status: str | None
    begin: int | None = None
    end: int | None = None
    mark_keys: list[str] = field(default_factory=list)
    resource: dict[str, Any] = field(default_factory=dict)

    @property
    def reference(self) -> str:
        return f"{self.resource_type}/{self.id}"


@dataclass
class Mark:
    """A highlighted span: an entity, or an attribute of one or more entities."""

    key: str
    kind: Kind
    begin: int
    end: int
    text: str | None
    category: str | None
    type: str | None
    score: float | None
    traits: tuple[TraitView, ...] = ()
    sources: tuple[str, ...] = ()
    concepts: list[ConceptView] = field(default_factory=list)
    attributes: list[Mark] = field(default_factory=list)
    parents: list[Mark] = field(default_factory=list)
    relationship_type: str | None = None
    relationship_score: float | None = None
    resources: list[ResourceLink] = field(default_factory=list)
    twin: Mark | None = None
    text_matches: bool = True
    drawn: bool = False
    clipped: bool = False
    diff: Diff | None = None
    changes: tuple[str, ...] = ()
    report: str = ""

    @property
    def tag(self) -> str:
        if self.kind == "attribute":
            kind = self.type or "ATTRIBUTE"
            return ATTRIBUTE_TAGS.get(kind, kind.replace("_", " ").lower())
        return CATEGORIES.get(self.category or "", OTHER_CATEGORY)[0]

    @property
    def category_label(self) -> str:
        if self.kind == "attribute":
            return "Attribute"
        return CATEGORIES.get(self.category or "", OTHER_CATEGORY)[1]

    @property
    def css_category(self) -> str:
        if self.kind == "attribute":
            return "attr"
        return (self.category if self.category in CATEGORIES else "OTHER").lower()

    @property
    def markers(self) -> list[tuple[str, str, str]]:
        """Context markers ``(css class, tag, label)`` in a fixed order."""
        names = {t.name for t in self.traits}
        return [v for k, v in CONTEXT_TRAITS.items() if k in names]

    @property
    def badges(self) -> str:
        """Short words drawn before the mark: the difference, then the context markers."""
        words = {"added": "+ added", "removed": "− removed", "changed": "~ changed"}
        out = [words[self.diff]] if self.diff else []
        return " ".join([*out, *(m[1] for m in self.markers)])

    @property
    def aria_label(self) -> str:
        """What a screen reader says for the mark (its text is in the page already)."""
        parts = [self.text or "", self.category_label.lower()]
        if self.type:
            parts.append(self.type.replace("_", " ").lower())
        parts.extend(m[2] for m in self.markers)
        if self.kind == "attribute" and self.parents:
            parts.append("of " + ", ".join(p.text or p.key for p in self.parents))
        if self.diff:
            parts.append(self.diff)
        return ", ".join(p for p in parts if p)


@dataclass
class Node:
    """Text (``mark is None``) or a mark with children."""

    text: str = ""
    mark: Mark | None = None
    children: list[Node] = field(default_factory=list)


@dataclass
class LegendRow:
    css: str
    tag: str
    label: str
    count: int


@dataclass
class AnnotatedNote:
    text: str
    nodes: list[Node]
    entities: list[Mark]
    attributes: list[Mark]
    resources: list[ResourceLink]
    context: ReportContext | None

    @property
    def marks(self) -> list[Mark]:
        return [*self.entities, *self.attributes]

    @property
    def undrawn(self) -> list[Mark]:
        """Marks whose offsets do not fit the text (a result that does not match its note)."""
        return [m for m in self.marks if not m.drawn]

    @property
    def mismatched(self) -> list[Mark]:
        """Marks whose reported text differs from the note at their offsets."""
        return [m for m in self.marks if not m.text_matches]

    @property
    def legend(self) -> list[LegendRow]:
        counts: dict[str, int] = {}
        for mark in self.entities:
            counts[mark.css_category] = counts.get(mark.css_category, 0) + 1
        rows = [
            LegendRow(name.lower(), tag, label, counts.get(name.lower(), 0))
            for name, (tag, label) in CATEGORIES.items()
        ]
        if counts.get("other"):
            rows.append(LegendRow("other", *OTHER_CATEGORY, counts["other"]))
        rows.append(LegendRow("attr", "dose…", "Attribute (dose, route, …)", len(self.attributes)))
        return rows


# --------------------------------------------------------------------------- building marks


def _traits(traits: Iterable[Trait] | None) -> tuple[TraitView, ...]:
    return tuple(TraitView(t.name, t.score) for t in traits or ())


def _concepts(vocabulary: str, concepts: Sequence[Concept] | None) -> list[ConceptView]:
    ranked = sorted(concepts or (), key=lambda c: -(c.score or 0.0))
    return [ConceptView(vocabulary, c.code, c.description, c.score) for c in ranked]


def _merge_traits(a: tuple[TraitView, ...], b: tuple[TraitView, ...]) -> tuple[TraitView, ...]:
    names = {t.name for t in a}
    return (*a, *(t for t in b if t.name not in names))


def _fits(text: str, begin: int | None, end: int | None) -> bool:
    return begin is not None and end is not None and 0 <= begin < end <= len(text)


class _Builder:
    def __init__(self, text: str, prefix: str) -> None:
        self.text = text
        self.prefix = prefix
        self.entities: list[Mark] = []
        self.by_span: dict[tuple[int, int], Mark] = {}
        self.attributes: dict[tuple[int, int, str], Mark] = {}

    def entity(self, key: str, source: str, e: Any, concepts: list[ConceptView]) -> Mark:
        begin, end = int(e.begin_offset or 0), int(e.end_offset or 0)
        mark = Mark(
            key=f"{self.prefix}{key}",
            kind="entity",
            begin=begin,
            end=end,
            text=e.text,
            category=e.category,
            type=e.type,
            score=e.score,
            traits=_traits(e.traits),
            sources=(source,),
            concepts=concepts,
        )
        self.entities.append(mark)
        self.by_span.setdefault((begin, end), mark)
        return mark

    def merge(self, key: str, source: str, e: Any, concepts: list[ConceptView]) -> Mark:
        """An ontology entity: into the DetectEntitiesV2 mark of its span, else a mark."""
        span = (int(e.begin_offset or 0), int(e.end_offset or 0))
        mark = self.by_span.get(span)
        if mark is None:
            mark = self.entity(key, source, e, concepts)
        else:
            mark.sources = (*mark.sources, source)
            mark.concepts = [*mark.concepts, *concepts]
            mark.traits = _merge_traits(mark.traits, _traits(e.traits))
        self.attach(mark, e.attributes)
        return mark

    def attach(self, parent: Mark | None, attributes: Iterable[Any] | None) -> None:
        for a in attributes or ():
            begin, end = int(a.begin_offset or 0), int(a.end_offset or 0)
            span = (begin, end, str(a.type))
            mark = self.attributes.get(span)
            if mark is None:
                mark = Mark(
                    key=f"{self.prefix}a{len(self.attributes)}",
                    kind="attribute",
                    begin=begin,
                    end=end,
                    text=a.text,
                    category=getattr(a, "category", None),
                    type=a.type,
                    score=a.score,
                    traits=_traits(a.traits),
                    relationship_type=getattr(a, "relationship_type", None),
                    relationship_score=a.relationship_score,
                )
                self.attributes[span] = mark
            if parent is not None and parent not in mark.parents:
                mark.parents.append(parent)
                parent.attributes.append(mark)


def build_marks(text: str, result: NlpResult, prefix: str = "") -> tuple[list[Mark], list[Mark]]:
    """Entity marks (by offset) and attribute marks of ``result`` on ``text``."""
    b = _Builder(text, prefix)
    for i, e in enumerate(result.entities):
        b.entity(f"e{i}", "DetectEntitiesV2", e, [])
    for i, icd in enumerate(result.icd10cm_entities):
        b.merge(f"i{i}", "InferICD10CM", icd, _concepts("ICD-10-CM", icd.concepts))
    for i, rx in enumerate(result.rxnorm_entities):
        b.merge(f"r{i}", "InferRxNorm", rx, _concepts("RxNorm", rx.concepts))
    for e, m in zip(result.entities, b.entities, strict=False):
        b.attach(m, e.attributes)
    unmapped = result.detect_entities.unmapped_attributes if result.detect_entities else None
    for u in unmapped or ():
        b.attach(None, [u.attribute] if u.attribute else [])
    entities = sorted(b.entities, key=lambda m: (m.begin, -m.end, m.key))
    attributes: list[Mark] = []
    for a in sorted(b.attributes.values(), key=lambda m: (m.begin, -m.end, m.key)):
        twin = b.by_span.get((a.begin, a.end))
        if twin is not None and a.parents:
            a.twin = twin  # shown in the details of its entities and of its twin only
        else:
            attributes.append(a)
    for m in [*entities, *attributes]:
        m.text_matches = m.text is None or (
            _fits(text, m.begin, m.end) and text[m.begin : m.end] == m.text
        )
    return entities, attributes


# --------------------------------------------------------------------------- nesting


def nest(text: str, marks: Sequence[Mark]) -> list[Node]:
    """Text and mark nodes covering ``text`` exactly once, marks properly nested.

    A mark contained in another is its child; a mark that overlaps an open one only partly is
    clipped to that one's end (``clipped``); marks outside the text are not drawn.

    >>> m = [Mark("x", "entity", 0, 5, "abcde", None, None, None),
    ...      Mark("y", "entity", 2, 4, "cd", None, None, None)]
    >>> [(n.mark.key if n.mark else n.text) for n in nest("abcdefg", m)]
    ['x', 'fg']
    """
    root = Node()
    stack: list[tuple[Node, int]] = [(root, len(text))]
    pos = 0

    def emit(upto: int) -> None:
        nonlocal pos
        if upto > pos:
            stack[-1][0].children.append(Node(text=text[pos:upto]))
            pos = upto

    for mark in sorted(marks, key=lambda m: (m.begin, -m.end, m.kind != "entity", m.key)):
        if not _fits(text, mark.begin, mark.end):
            continue
        begin = max(mark.begin, pos)
        while len(stack) > 1 and stack[-1][1] <= begin:
            emit(stack[-1][1])
            stack.pop()
        end = min(mark.end, stack[-1][1])
        if end <= begin:
            continue
        emit(begin)
        node = Node(mark=mark)
        mark.drawn = True
        mark.clipped = (begin, end) != (mark.begin, mark.end)
        stack[-1][0].children.append(node)
        stack.append((node, end))
    while len(stack) > 1:
        emit(stack[-1][1])
        stack.pop()
    emit(len(text))
    return root.children


# --------------------------------------------------------------------------- resources


def _first_coding(resource: dict[str, Any]) -> dict[str, Any]:
    for name in ("code", "medicationCodeableConcept"):
        concept = resource.get(name)
        if isinstance(concept, dict):
            for coding in concept.get("coding") or []:
                if isinstance(coding, dict):
                    return coding
    return {}


def _codes(resource: dict[str, Any]) -> set[str]:
    out: set[str] = set()
    for name in ("code", "medicationCodeableConcept"):
        concept = resource.get(name)
        if isinstance(concept, dict):
            out.update(
                str(c["code"])
                for c in concept.get("coding") or []
                if isinstance(c, dict) and "code" in c
            )
    return out


def _status(resource: dict[str, Any]) -> str | None:
    parts: list[str] = []
    for name in ("clinicalStatus", "verificationStatus"):
        concept = resource.get(name)
        if isinstance(concept, dict):
            for coding in concept.get("coding") or []:
                if isinstance(coding, dict) and "code" in coding:
                    parts.append(str(coding["code"]))
    if isinstance(resource.get("status"), str):
        parts.append(resource["status"])
    return ", ".join(parts) or None


def _derivation(resource: dict[str, Any]) -> tuple[int | None, int | None]:
    for ext in resource.get("extension") or []:
        if isinstance(ext, dict) and ext.get("url") == DERIVATION_REFERENCE:
            values = {
                c.get("url"): c.get("valueInteger")
                for c in ext.get("extension") or []
                if isinstance(c, dict)
            }
            offset, length = values.get("offset"), values.get("length")
            if isinstance(offset, int):
                return offset, offset + length if isinstance(length, int) else None
    return None, None


def summarize(resource: dict[str, Any]) -> ResourceLink:
    """Type, id, a one-line summary (code and display) and the status of a resource."""
    rtype, rid = str(resource.get("resourceType", "")), str(resource.get("id", ""))
    coding = _first_coding(resource)
    if coding:
        summary = " ".join(str(coding[k]) for k in ("code", "display") if coding.get(k))
    elif rtype == "Linkage":
        summary = f"{len(resource.get('item') or [])} items"
    elif rtype == "Provenance":
        summary = f"{len(resource.get('target') or [])} targets"
    else:
        summary = ""
    begin, end = _derivation(resource)
    return ResourceLink(rtype, rid, summary, _status(resource), begin, end, resource=resource)


def link_resources(
    entities: Sequence[Mark], resources: Iterable[dict[str, Any]]
) -> list[ResourceLink]:
    """Summaries of ``resources``, each linked to the entity marks it came from."""
    by_span = {(m.begin, m.end): m for m in entities}
    links: list[ResourceLink] = []
    for resource in resources:
        link = summarize(resource)
        targets: list[Mark] = []
        if link.begin is not None:
            exact = by_span.get((link.begin, link.end or link.begin))
            end = link.end or link.begin + 1
            overlapping = [m for m in entities if m.begin < end and link.begin < m.end]
            targets = [exact] if exact is not None else overlapping[:1]
        else:
            codes = _codes(resource)
            targets = [m for m in entities if codes & {c.code for c in m.concepts}]
        for mark in targets:
            mark.resources.append(link)
            link.mark_keys.append(mark.key)
        links.append(link)
    return links


# --------------------------------------------------------------------------- bug reports


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:.4f}"


def bug_report(mark: Mark, context: ReportContext | None) -> str:
    """Plain-text bug report of one mark: ids, offsets, codes, engine. Never note text."""
    lines = ["docref-nlp viewer: bug report (no note text included)"]
    if context is not None:
        lines += [
            f"source: {context.source}",
            f"engine: {context.engine}",
            f"profile: {context.profile}",
        ]
        if context.status:
            lines.append(f"nlp status: {context.status}")
    lines.append(
        f"{mark.kind}: {mark.key} offsets {mark.begin}-{mark.end} "
        f"category {mark.category or '-'} type {mark.type or '-'} score {_num(mark.score)}"
    )
    if mark.traits:
        lines.append("traits: " + ", ".join(f"{t.name} {_num(t.score)}" for t in mark.traits))
    for concept in mark.concepts[:5]:
        lines.append(f"concept: {concept.vocabulary} {concept.code} score {_num(concept.score)}")
    for a in mark.attributes:
        lines.append(f"attribute: {a.type} offsets {a.begin}-{a.end} score {_num(a.score)}")
    for p in mark.parents:
        lines.append(f"attribute of: {p.key} offsets {p.begin}-{p.end}")
    for r in mark.resources:
        lines.append(f"generated: {r.reference}")
    if not mark.text_matches:
        lines.append("warning: the entity text differs from the note at these offsets")
    lines.append("what is wrong (describe without patient details): ")
    return "\n".join(lines)


# --------------------------------------------------------------------------- the note


def annotate(
    text: str,
    result: NlpResult | None,
    resources: Iterable[dict[str, Any]] = (),
    *,
    context: ReportContext | None = None,
    prefix: str = "",
) -> AnnotatedNote:
    """The annotated view of ``text``: marks, their nesting, linked resources, bug reports.

    Args:
        text: the note text the offsets refer to.
        result: the NLP result (``None``: nothing found or no result stored).
        resources: generated resources (FHIR JSON) to list and link to their spans.
        context: document, engine and profile named by the bug reports.
        prefix: prefix of the mark keys (two notes on one page need distinct element ids).
    """
    entities, attributes = build_marks(text, result or NlpResult(), prefix)
    nodes = nest(text, [*entities, *attributes])
    links = link_resources(entities, resources)
    for mark in [*entities, *attributes]:
        mark.report = bug_report(mark, context)
    return AnnotatedNote(text, nodes, entities, attributes, links, context)
