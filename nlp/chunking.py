"""Split long notes under Comprehend Medical's size limits and merge the per-chunk responses.

Comprehend Medical limits ``Text`` per call (DetectEntitiesV2 20,000, Infer* 10,000); the docs
alternate between characters and bytes, so a chunk must respect both (spec §5.1, D7).
``split_text`` cuts at the best break inside the allowed window; the ``merge_*`` functions add
each chunk's start to every offset and renumber ids so the merged response reads as if the whole
note had been sent at once.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol, TypeVar

from nlp.schema import (
    DetectEntitiesV2Response,
    InferICD10CMResponse,
    InferRxNormResponse,
)

# Break levels, best first. A cut goes right after a match (trailing whitespace stays with the
# earlier chunk, so the next chunk starts at a word).
_BREAKS = (
    re.compile(r"\n[^\S\n]*\n\s*"),  # paragraph: a blank line (and any whitespace after it)
    re.compile(r"\n\s*"),  # line break
    re.compile(r"[.!?][\"')\]]*\s+"),  # sentence end followed by whitespace
    re.compile(r"\s+"),  # any whitespace
)


_CONTINUATION_BYTES = bytes(range(0x80, 0xC0))  # UTF-8 bytes that never start a character

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Chunk:
    """A piece of the document: ``text == document[start:start + len(text)]``."""

    start: int
    text: str

    @property
    def end(self) -> int:
        """Exclusive end offset in the document (code points)."""
        return self.start + len(self.text)


def utf8_len(text: str) -> int:
    """Length of ``text`` in UTF-8 bytes (lone surrogates count 3, as ``surrogatepass``)."""
    return len(text.encode("utf-8", "surrogatepass"))


def _window_end(text: str, pos: int, max_chars: int, max_bytes: int) -> int:
    """The largest end such that ``text[pos:end]`` fits both limits."""
    end = min(len(text), pos + max_chars)
    data = text[pos:end].encode("utf-8", "surrogatepass")
    if len(data) <= max_bytes:
        return end
    # Code points wholly inside the first max_bytes bytes: one per lead byte at 1..max_bytes.
    fitting = len(data[1 : max_bytes + 1].translate(None, _CONTINUATION_BYTES))
    if not fitting:
        raise ValueError(f"[NLP151] the character at {pos} is longer than {max_bytes} bytes")
    return pos + fitting


def _best_cut(text: str, pos: int, end: int) -> int:
    """Where to cut ``text[pos:end]``: the latest best-level break, else ``end`` (hard cut)."""
    window = text[pos:end]
    # First look in the second half of the window only (avoids tiny chunks), then anywhere.
    for lowest in (len(window) // 2, 0):
        for pattern in _BREAKS:
            cut = 0
            for match in pattern.finditer(window, lowest):  # matches are never empty
                cut = match.end()
            if cut:
                return pos + cut
    return end


def split_text(text: str, *, max_chars: int, max_bytes: int | None = None) -> list[Chunk]:
    """Split ``text`` into chunks of at most ``max_chars`` code points and ``max_bytes`` bytes.

    Cuts at a paragraph break, else a line break, else a sentence end, else whitespace, else
    anywhere (preferring breaks in the second half of the allowed window). The chunks cover the
    text exactly: ``"".join(c.text for c in chunks) == text``.

    Args:
        text: The document.
        max_chars: Maximum code points per chunk (at least 1).
        max_bytes: Maximum UTF-8 bytes per chunk; defaults to ``max_chars``.

    Returns:
        The chunks in document order; an empty list for an empty text.

    Raises:
        ValueError: If a limit is not positive or a character does not fit ``max_bytes``.

    >>> split_text("One. Two. Three.", max_chars=10)
    [Chunk(start=0, text='One. Two. '), Chunk(start=10, text='Three.')]
    >>> split_text("Plan:\\nrest\\n\\nFollow up in 2 weeks.", max_chars=22)
    [Chunk(start=0, text='Plan:\\nrest\\n\\n'), Chunk(start=12, text='Follow up in 2 weeks.')]
    >>> split_text("éééééé", max_chars=10, max_bytes=5)
    [Chunk(start=0, text='éé'), Chunk(start=2, text='éé'), Chunk(start=4, text='éé')]
    >>> split_text("abcdefg", max_chars=3)
    [Chunk(start=0, text='abc'), Chunk(start=3, text='def'), Chunk(start=6, text='g')]
    """
    if max_bytes is None:
        max_bytes = max_chars
    if max_chars < 1 or max_bytes < 1:
        raise ValueError(f"[NLP150] chunk limits must be positive: {max_chars}, {max_bytes}")
    chunks: list[Chunk] = []
    pos = 0
    while pos < len(text):
        end = _window_end(text, pos, max_chars, max_bytes)
        cut = len(text) if end == len(text) else _best_cut(text, pos, end)
        chunks.append(Chunk(pos, text[pos:cut]))
        pos = cut
    return chunks


class _Span(Protocol):
    """An entity or attribute: anything with an id, code-point offsets and its text."""

    id: int | None
    begin_offset: int | None
    end_offset: int | None
    text: str | None


def utf16_to_code_points(text: str) -> dict[int, int] | None:
    """``{UTF-16 code unit offset: code point offset}`` of every character boundary of ``text``
    (``None`` when the two agree everywhere: no character outside the Basic Multilingual Plane).

    >>> utf16_to_code_points("a\U0001f600b")
    {0: 0, 1: 1, 3: 2, 4: 3}
    >>> utf16_to_code_points("abc") is None
    True
    """
    if all(ord(c) <= 0xFFFF for c in text):
        return None
    mapping = {0: 0}
    units = 0
    for index, char in enumerate(text, start=1):
        units += 2 if ord(char) > 0xFFFF else 1
        mapping[units] = index
    return mapping


def align_span(text: str, span: _Span, units: dict[int, int] | None) -> bool:
    """Make ``span``'s offsets index its ``Text`` in ``text``; ``False`` when they cannot.

    Comprehend Medical documents its offsets as code points (botocore: "The offset returns the
    UTF-8 code point in the string"); a Java service could count UTF-16 code units instead,
    which differ after any character outside the BMP. So each span is checked against its own
    ``Text``: kept when ``text[begin:end] == Text``; else its offsets read as UTF-16 units
    (``units``, from :func:`utf16_to_code_points`) are converted when that matches; else the
    occurrence of ``Text`` nearest to ``begin`` is taken. A span without ``Text`` or offsets
    is left as it is.
    """
    begin, end, expected = span.begin_offset, span.end_offset, span.text
    if begin is None or end is None or expected is None:
        return True
    if 0 <= begin <= end <= len(text) and text[begin:end] == expected:
        return True
    if units is not None and begin in units and end in units:
        b, e = units[begin], units[end]
        if text[b:e] == expected:
            span.begin_offset, span.end_offset = b, e
            return True
    found = [m.start() for m in re.finditer(re.escape(expected), text)] if expected else []
    if not found:
        return False
    nearest = min(found, key=lambda start: abs(start - begin))
    span.begin_offset, span.end_offset = nearest, nearest + len(expected)
    return True


class _Entity(_Span, Protocol):
    @property
    def attributes(self) -> Sequence[_Span] | None: ...


class _Rebaser:
    """Shifts offsets by a chunk start and ids past every id handed out so far.

    Ids of one chunk keep their order and their equalities (an attribute listed under two
    entities keeps one id); attributes share the counter with entities, as in Comprehend Medical.
    """

    def __init__(self) -> None:
        self.next_id = 0

    def rebase(self, start: int, spans: Iterable[_Span]) -> None:
        base = self.next_id
        seen: set[int] = set()
        for span in spans:
            if id(span) in seen:  # the same object listed twice (deepcopy keeps sharing)
                continue
            seen.add(id(span))
            if span.begin_offset is not None:
                span.begin_offset += start
            if span.end_offset is not None:
                span.end_offset += start
            if span.id is not None:
                span.id += base
                self.next_id = max(self.next_id, span.id + 1)


def _spans_of(entities: Sequence[_Entity]) -> list[_Span]:
    spans: list[_Span] = []
    for entity in entities:
        spans.append(entity)
        spans.extend(entity.attributes or [])
    return spans


def join_model_versions(versions: Iterable[str | None]) -> str | None:
    """One ModelVersion for a merged response: the common one, else the distinct ones joined.

    >>> join_model_versions(["2.1.0", "2.1.0"])
    '2.1.0'
    >>> join_model_versions(["2.1.0", None, "2.2.0"])
    '2.1.0,2.2.0'
    """
    distinct = list(dict.fromkeys(v for v in versions if v is not None))
    return ",".join(distinct) if distinct else None


_Response = TypeVar(
    "_Response", DetectEntitiesV2Response, InferICD10CMResponse, InferRxNormResponse
)


def _aligned(chunk: Chunk, part: _Response) -> int:
    """Align every span of ``part`` to ``chunk.text`` (:func:`align_span`), in place; drop the
    entities and attributes whose ``Text`` is not in the chunk. Returns how many were dropped."""
    units = utf16_to_code_points(chunk.text)
    dropped = 0
    kept = []
    for entity in part.entities:
        if not align_span(chunk.text, entity, units):
            dropped += 1
            continue
        attributes = getattr(entity, "attributes", None)
        if attributes:
            good = [a for a in attributes if align_span(chunk.text, a, units)]
            dropped += len(attributes) - len(good)
            entity.attributes = good
        kept.append(entity)
    part.entities = kept
    if isinstance(part, DetectEntitiesV2Response) and part.unmapped_attributes:
        unmapped = [
            u
            for u in part.unmapped_attributes
            if u.attribute is None or align_span(chunk.text, u.attribute, units)
        ]
        dropped += len(part.unmapped_attributes) - len(unmapped)
        part.unmapped_attributes = unmapped
    return dropped


def _rebased(parts: Iterable[tuple[Chunk, _Response]]) -> list[_Response]:
    """Copies of the chunk responses with offsets checked against each span's ``Text``
    (:func:`align_span`; spans not found are dropped) and offsets and ids rebased (the inputs
    are untouched)."""
    rebaser = _Rebaser()
    copies: list[_Response] = []
    dropped = 0
    for chunk, response in parts:
        part = response.model_copy(deep=True)
        dropped += _aligned(chunk, part)
        spans = _spans_of(part.entities)
        if isinstance(part, DetectEntitiesV2Response):
            unmapped = part.unmapped_attributes or []
            spans.extend(u.attribute for u in unmapped if u.attribute is not None)
        rebaser.rebase(chunk.start, spans)
        copies.append(part)
    if dropped:  # counts only: the texts are PHI
        log.warning("%d entities or attributes dropped: their Text is not in the note", dropped)
    return copies


def misplaced_spans(text: str, entities: Sequence[_Entity]) -> int:
    """How many entities and attributes have a ``Text`` other than ``text`` at their offsets
    (0 for a merged response: every span indexes the whole note).

    >>> from nlp.schema import Entity
    >>> misplaced_spans("chest pain", [Entity(BeginOffset=6, EndOffset=10, Text="pain")])
    0
    """
    bad = 0
    for span in _spans_of(entities):
        b, e = span.begin_offset, span.end_offset
        if span.text is not None and b is not None and e is not None and text[b:e] != span.text:
            bad += 1
    return bad


def merge_detect_entities(
    parts: Iterable[tuple[Chunk, DetectEntitiesV2Response]],
) -> DetectEntitiesV2Response:
    """Merge per-chunk DetectEntitiesV2 responses into one for the whole document.

    Offsets of entities, their attributes and ``UnmappedAttributes`` are rebased by the chunk
    start; ids are renumbered to stay unique and increasing. ``PaginationToken`` is dropped.

    >>> from nlp.schema import Entity
    >>> a = DetectEntitiesV2Response(Entities=[Entity(Id=0, BeginOffset=0, EndOffset=3)])
    >>> merged = merge_detect_entities([(Chunk(0, "abc "), a), (Chunk(4, "def"), a)])
    >>> [(e.id, e.begin_offset, e.end_offset) for e in merged.entities]
    [(0, 0, 3), (1, 4, 7)]
    """
    rebased = _rebased(parts)
    unmapped = [p.unmapped_attributes for p in rebased if p.unmapped_attributes is not None]
    return DetectEntitiesV2Response(
        Entities=[e for p in rebased for e in p.entities],
        UnmappedAttributes=[u for us in unmapped for u in us] if unmapped else None,
        ModelVersion=join_model_versions(p.model_version for p in rebased),
    )


def merge_icd10cm(parts: Iterable[tuple[Chunk, InferICD10CMResponse]]) -> InferICD10CMResponse:
    """Merge per-chunk InferICD10CM responses (offsets rebased, ids renumbered)."""
    rebased = _rebased(parts)
    return InferICD10CMResponse(
        Entities=[e for p in rebased for e in p.entities],
        ModelVersion=join_model_versions(p.model_version for p in rebased),
    )


def merge_rxnorm(parts: Iterable[tuple[Chunk, InferRxNormResponse]]) -> InferRxNormResponse:
    """Merge per-chunk InferRxNorm responses (offsets rebased, ids renumbered)."""
    rebased = _rebased(parts)
    return InferRxNormResponse(
        Entities=[e for p in rebased for e in p.entities],
        ModelVersion=join_model_versions(p.model_version for p in rebased),
    )
