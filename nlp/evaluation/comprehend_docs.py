"""Real Comprehend Medical examples (developer-guide pages) as reference "gold" for agreement.

Each page gives an input text (a quoted paragraph, ``The text "..."``, or a ``{"Text": ...}``
block) followed by response blocks. The responses are often abbreviated (``...``), so entities
are recovered one JSON object at a time, and the precision of an engine against them is
understated. An entity whose offsets do not point at its text is moved to the nearest occurrence
of that text, or dropped when the text does not occur.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nlp.evaluation.types import (
    ICD10CM,
    MEDICAL_CONDITION,
    MEDICATION,
    PHI,
    RXNORM,
    SNOMED,
    Code,
    EvalDocument,
    GoldMention,
    Scope,
)

# page -> (operation whose predictions are compared, concept key, code system)
PAGES: dict[str, tuple[str, str, str]] = {
    "ontology-icd10.md": ("InferICD10CM", "ICD10CMConcepts", ICD10CM),
    "ontology-RxNorm.md": ("InferRxNorm", "RxNormConcepts", RXNORM),
    "ontology-linking-snomed.md": ("DetectEntitiesV2", "SNOMEDCTConcepts", SNOMED),
    "textanalysis-phi.md": ("DetectEntitiesV2", "", ""),
    "textanalysis-entitiesv2.md": ("DetectEntitiesV2", "", ""),
}

_FENCE = re.compile(r"^```[^\n]*\n(.*?)^```", re.S | re.M)
_MD_ESCAPE = re.compile(r"\\([\\`*_{}\[\]()#+\-.!'\"|<>])")
_QUOTED_PARA = re.compile(r'^\s*"(?P<t>[^"\n]{20,})"\s*$', re.M)
_THE_TEXT = re.compile(r'The text "(?P<t>[^"\n]{10,})" returns')
_TEXT_FIELD = re.compile(r'^\s*\{\s*"Text"\s*:\s*"(?P<t>.*)"\s*\}\s*$', re.S)
_DECODER = json.JSONDecoder()


@dataclass
class _Example:
    text: str
    blocks: list[str]


def unescape_markdown(text: str) -> str:
    r"""Remove Markdown backslash escapes.

    >>> unescape_markdown(r"a 71\-year\-old Dr\. X")
    'a 71-year-old Dr. X'
    """
    return _MD_ESCAPE.sub(r"\1", text)


def _examples(page: str) -> list[_Example]:
    """Input texts in page order, each with the response code blocks that follow it."""
    events: list[tuple[int, str, str]] = []
    for m in _FENCE.finditer(page):
        body = m.group(1)
        field = _TEXT_FIELD.match(body)
        if field:
            text = re.sub(r"\s*\n\s*", " ", field.group("t"))
            events.append((m.start(), "input", text))
        else:
            events.append((m.start(), "block", body))
    prose = _FENCE.sub(lambda m: " " * len(m.group(0)), page)
    for rx in (_QUOTED_PARA, _THE_TEXT):
        for m in rx.finditer(prose):
            events.append((m.start(), "input", unescape_markdown(m.group("t")).strip()))
    events.sort()
    out: list[_Example] = []
    for _, kind, value in events:
        if kind == "input":
            out.append(_Example(value, []))
        elif out:
            out[-1].blocks.append(value)
    return [e for e in out if e.blocks]


def _is_entity(obj: Any) -> bool:
    return (
        isinstance(obj, dict)
        and all(k in obj for k in ("Text", "Category", "Type", "BeginOffset", "EndOffset"))
        and "RelationshipScore" not in obj
        and "RelationshipType" not in obj
    )


def close_truncated(fragment: str) -> str | None:
    """Append the brackets a JSON fragment cut short still needs (None if it is not a prefix).

    >>> close_truncated('{"a": [1, {"b": 2}')
    '{"a": [1, {"b": 2}]}'
    """
    stack: list[str] = []
    in_string = escaped = False
    for ch in fragment:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "{[":
            stack.append("}" if ch == "{" else "]")
        elif ch in "}]" and (not stack or stack.pop() != ch):
            return None
    if in_string or not stack:
        return None
    return fragment.rstrip().rstrip(",") + "".join(reversed(stack))


def _decode_at(block: str, i: int) -> tuple[Any, int] | None:
    try:
        return _DECODER.raw_decode(block, i)
    except json.JSONDecodeError:
        pass
    closed = close_truncated(block[i:])
    if closed is None:
        return None
    try:
        obj, _ = _DECODER.raw_decode(closed)
    except json.JSONDecodeError:
        return None
    return (obj, len(block)) if _is_entity(obj) else None


def entities_in_block(block: str) -> list[dict[str, Any]]:
    """Every top-level entity object in a JSON block, also when the block is cut short."""
    found: list[dict[str, Any]] = []
    i = 0
    while True:
        i = block.find("{", i)
        if i < 0:
            return found
        decoded = _decode_at(block, i)
        if decoded is None:
            i += 1
            continue
        obj, end = decoded
        if _is_entity(obj):
            found.append(obj)
            i = end
        elif isinstance(obj, dict) and isinstance(obj.get("Entities"), list):
            found.extend(e for e in obj["Entities"] if _is_entity(e))
            i = end
        else:
            i += 1


def _concept_codes(entity: dict[str, Any], key: str, system: str) -> tuple[Code, ...]:
    codes: list[Code] = []
    for concept in entity.get(key) or []:
        if isinstance(concept, dict):
            code = concept.get("Code") or concept.get("ConceptId")
            if code:
                codes.append(Code(system, str(code)))
    return tuple(codes)


def _realign(text: str, entity: dict[str, Any]) -> tuple[int, int] | None:
    surface = str(entity["Text"])
    begin = int(entity["BeginOffset"])
    if text[begin : begin + len(surface)] == surface:
        return begin, begin + len(surface)
    starts = [m.start() for m in re.finditer(re.escape(surface), text)]
    if not starts:
        return None
    best = min(starts, key=lambda s: abs(s - begin))
    return best, best + len(surface)


def page_documents(name: str, page: str) -> list[EvalDocument]:
    """Documents of one page (see module docstring); the page name selects the operation."""
    operation, concept_key, system = PAGES.get(name, ("DetectEntitiesV2", "", ""))
    docs: list[EvalDocument] = []
    for n, example in enumerate(_examples(page), 1):
        gold: dict[tuple[int, int, str], GoldMention] = {}
        for block in example.blocks:
            for ent in entities_in_block(block):
                span = _realign(example.text, ent)
                if span is None:
                    continue
                category, type_ = str(ent["Category"]), str(ent["Type"])
                codes: tuple[Code, ...] = ()
                if concept_key and (system != SNOMED or category == MEDICAL_CONDITION):
                    codes = _concept_codes(ent, concept_key, system)
                traits = ent.get("Traits")
                trait_set = (
                    frozenset(str(t["Name"]) for t in traits if isinstance(t, dict))
                    if isinstance(traits, list)
                    else None
                )
                key = (span[0], span[1], category)
                gold.setdefault(
                    key, GoldMention(span[0], span[1], category, type_, codes, trait_set)
                )
        if not gold:
            continue
        mentions = [gold[k] for k in sorted(gold)]
        categories = {g.category for g in mentions}
        if operation == "InferICD10CM":
            categories = {MEDICAL_CONDITION}
        elif operation == "InferRxNorm":
            categories = {MEDICATION}
        elif PHI in categories:
            categories = {PHI}
        docs.append(
            EvalDocument(
                doc_id=f"{name.removesuffix('.md')}#{n}",
                text=example.text,
                gold=mentions,
                operation=operation,
                scope=Scope(frozenset(categories)),
            )
        )
    return docs


def read_comprehend_docs(folder: Path) -> list[EvalDocument]:
    """Documents from every ``*.md`` page of the Comprehend Medical reference folder."""
    docs: list[EvalDocument] = []
    for path in sorted(folder.glob("*.md")):
        docs.extend(page_documents(path.name, path.read_text(encoding="utf-8")))
    return docs
