"""split_text keeps every character and respects both limits; merges rebase offsets and ids."""

from __future__ import annotations

import doctest
import random
from collections.abc import Sequence
from typing import Any

import pytest

import nlp.chunking
from nlp.chunking import (
    Chunk,
    merge_detect_entities,
    merge_icd10cm,
    merge_rxnorm,
    split_text,
    utf8_len,
)
from nlp.schema import (
    Attribute,
    DetectEntitiesV2Response,
    Entity,
    InferICD10CMResponse,
    InferRxNormResponse,
    UnmappedAttribute,
)
from tests.fixtures.comprehend import load_input, load_response

ALPHABET = "abcdefghij    ..\n\n!?,é€😀\t\r"


def test_doctests() -> None:
    failures, tried = doctest.testmod(nlp.chunking)
    assert tried >= 6
    assert failures == 0


@pytest.mark.parametrize("seed", range(40))
def test_random_texts_are_covered_exactly_and_within_limits(seed: int) -> None:
    rng = random.Random(seed)
    text = "".join(rng.choice(ALPHABET) for _ in range(rng.randint(0, 3000)))
    max_chars = rng.randint(1, 400)
    max_bytes = rng.randint(4, 600)
    chunks = split_text(text, max_chars=max_chars, max_bytes=max_bytes)
    assert "".join(c.text for c in chunks) == text
    position = 0
    for chunk in chunks:
        assert chunk.start == position
        assert chunk.text
        assert len(chunk.text) <= max_chars
        assert utf8_len(chunk.text) <= max_bytes
        position = chunk.end
    assert position == len(text)


def test_no_split_when_the_text_fits() -> None:
    assert split_text("short note", max_chars=10) == [Chunk(0, "short note")]
    assert split_text("", max_chars=10) == []


def test_paragraph_break_wins_over_later_line_and_sentence_breaks() -> None:
    text = "a" * 55 + "\n\n" + "b" * 20 + ". c\nd" + "e" * 50
    first = split_text(text, max_chars=100)[0]
    assert first.text == "a" * 55 + "\n\n"


def test_line_break_wins_over_later_sentence_end() -> None:
    text = "a" * 55 + "\n" + "b" * 20 + ". c d" + "e" * 50
    assert split_text(text, max_chars=100)[0].text == "a" * 55 + "\n"


def test_sentence_end_wins_over_later_whitespace() -> None:
    text = "a" * 55 + '." ' + "b c d " * 5 + "e" * 50
    assert split_text(text, max_chars=100)[0].text == "a" * 55 + '." '


def test_break_in_the_first_half_only_when_nothing_better_later() -> None:
    # A paragraph break at 10 is passed over for a space in the second half of the window...
    text = "a" * 10 + "\n\n" + "b" * 60 + " " + "c" * 60
    assert split_text(text, max_chars=100)[0].end == 73
    # ...but taken over a hard cut.
    text = "a" * 10 + "\n\n" + "b" * 120
    assert split_text(text, max_chars=100)[0].end == 12


def test_hard_cut_without_any_break() -> None:
    chunks = split_text("x" * 250, max_chars=100)
    assert [len(c.text) for c in chunks] == [100, 100, 50]


def test_byte_limit_binds_for_multibyte_text() -> None:
    text = "😀" * 10  # 4 bytes each
    chunks = split_text(text, max_chars=100, max_bytes=10)
    assert [c.text for c in chunks] == ["😀😀"] * 5


def test_limits_must_allow_a_character() -> None:
    with pytest.raises(ValueError, match="NLP150"):
        split_text("abc", max_chars=0)
    with pytest.raises(ValueError, match="NLP151"):
        split_text("😀", max_chars=5, max_bytes=3)


def _check_spans(text: str, entities: Sequence[Any]) -> list[int]:
    """Assert every span's Text matches the document; return ids in listing order."""
    ids: list[int] = []
    for entity in entities:
        for span in [entity, *(getattr(entity, "attributes", None) or [])]:
            assert text[span.begin_offset : span.end_offset] == span.text
            ids.append(span.id)
    return ids


def test_merge_rxnorm_fixtures_across_two_chunks() -> None:
    warfarin = load_input("infer-rxnorm.warfarin") or ""
    note = load_input("infer-icd10cm.abdominal-pain") or ""
    text = note + "\n\n" + warfarin + "\n\n" + warfarin
    start2 = len(note) + 2
    start3 = start2 + len(warfarin) + 2
    part = InferRxNormResponse.model_validate(load_response("infer-rxnorm.warfarin"))
    parts = [(Chunk(start2, warfarin + "\n\n"), part), (Chunk(start3, warfarin), part)]
    merged = merge_rxnorm(parts)
    assert [e.begin_offset for e in merged.entities] == [start2 + 25, start3 + 25]
    assert _check_spans(text, merged.entities) == [0, 1]
    assert part.entities[0].begin_offset == 25  # inputs untouched
    assert merged.entities[0].concepts == part.entities[0].concepts


def test_merge_icd10cm_keeps_attribute_ids_in_the_shared_counter() -> None:
    note = load_input("infer-icd10cm.abdominal-pain") or ""
    part = InferICD10CMResponse.model_validate(load_response("infer-icd10cm.abdominal-pain"))
    text = note + " " + note
    merged = merge_icd10cm([(Chunk(0, note + " "), part), (Chunk(len(note) + 1, note), part)])
    # Chunk 1 uses ids 1 (entity) and 2 (attribute); chunk 2 is shifted past them.
    assert _check_spans(text, merged.entities) == [1, 2, 4, 5]
    assert merged.model_version == "0.1.0"


def test_merge_detect_entities_rebases_attributes_and_unmapped_attributes() -> None:
    shared = Attribute(Id=1, BeginOffset=5, EndOffset=10, Text="chest", Type="SYSTEM_ORGAN_SITE")
    chunk_text = "left chest pain and chest wall pain. "
    part = DetectEntitiesV2Response(
        Entities=[
            Entity(Id=0, BeginOffset=11, EndOffset=15, Text="pain", Attributes=[shared]),
            Entity(Id=3, BeginOffset=31, EndOffset=35, Text="pain", Attributes=[shared]),
        ],
        UnmappedAttributes=[
            UnmappedAttribute(
                Type="ANATOMY", Attribute=Attribute(Id=2, BeginOffset=0, EndOffset=4, Text="left")
            )
        ],
        ModelVersion="2.5.0",
    )
    empty = DetectEntitiesV2Response(Entities=[], ModelVersion="2.5.0")
    middle = "nothing here. "
    text = chunk_text + middle + chunk_text
    merged = merge_detect_entities(
        [(Chunk(0, chunk_text), part), (Chunk(37, middle), empty), (Chunk(51, chunk_text), part)]
    )
    ids = _check_spans(text, merged.entities)
    assert ids == [0, 1, 3, 1, 4, 5, 7, 5]  # a shared attribute keeps one id per chunk
    unmapped = [u.attribute for u in merged.unmapped_attributes or [] if u.attribute]
    assert [(a.id, a.begin_offset, a.end_offset) for a in unmapped] == [(2, 0, 4), (6, 51, 55)]
    assert merged.model_version == "2.5.0"
    assert merged.to_aws()["UnmappedAttributes"][1]["Attribute"]["Id"] == 6


def test_merge_of_nothing_is_an_empty_response() -> None:
    merged = merge_detect_entities([])
    assert merged.to_aws() == {"Entities": []}
