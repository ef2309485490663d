"""Split long notes under Comprehend Medical's size limits and merge the per-chunk responses.

Comprehend Medical limits ``Text`` per call (DetectEntitiesV2 20,000, Infer* 10,000); the docs
alternate between characters and bytes, so a chunk must respect both (spec §5.1, D7).
``split_text`` cuts at the best break inside the allowed window; the ``merge_*`` functions add
each chunk's start to every offset and renumber ids so the merged response reads as if the whole
note had been sent at once.
"""

from __future__ import annotations

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
    """An entity or attribute: anything with an id and code-point offsets."""

    id: int | None
    begin_offset: int | None
    end_offset: int | None


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


def _rebased(parts: Iterable[tuple[Chunk, _Response]]) -> list[_Response]:
    """Copies of the chunk responses with offsets and ids rebased (the inputs are untouched)."""
    rebaser = _Rebaser()
    copies: list[_Response] = []
    for chunk, response in parts:
        part = response.model_copy(deep=True)
        spans = _spans_of(part.entities)
        if isinstance(part, DetectEntitiesV2Response):
            unmapped = part.unmapped_attributes or []
            spans.extend(u.attribute for u in unmapped if u.attribute is not None)
        rebaser.rebase(chunk.start, spans)
        copies.append(part)
    return copies


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
