"""Resource ids: the fast uuid5 text is exactly ``uuid.uuid5``'s."""

from __future__ import annotations

import random
import uuid

import pytest

from enrich.ids import NAMESPACE, resource_id, uuid5_text


def _reference(doc_id: str, kind: str, begin: object, end: object, code: str | None) -> str:
    """The ids as they were made before: the parts joined, then ``uuid.uuid5``."""
    parts = [doc_id, kind]
    if begin is not None or end is not None or code is not None:
        parts += [str(begin), str(end), code or ""]
    return str(uuid.uuid5(NAMESPACE, "|".join(parts)))


@pytest.mark.parametrize("seed", range(5))
def test_resource_ids_are_uuid5_of_the_joined_parts(seed: int) -> None:
    rng = random.Random(seed)
    alphabet = "abcXYZ019-|.é€😀 "
    for _ in range(300):
        doc_id = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40)))
        kind = rng.choice(["Condition", "Observation", "Linkage", "Provenance", ""])
        begin = rng.choice([None, 0, rng.randint(1, 10**6)])
        end = rng.choice([None, 0, rng.randint(1, 10**6)])
        code = rng.choice([None, "", "H66.90", "1191", "72166-2", "ü"])
        got = resource_id(doc_id, kind, begin, end, code)
        assert got == _reference(doc_id, kind, begin, end, code)
        assert uuid.UUID(got).version == 5


def test_uuid5_text_of_edge_names() -> None:
    for name in ("", "|", "x" * 10_000, "\u0000", "Ménière"):
        assert uuid5_text(name) == str(uuid.uuid5(NAMESPACE, name))
    with pytest.raises(UnicodeEncodeError):
        uuid5_text("\ud800")  # a lone surrogate, as uuid.uuid5 refuses it
    with pytest.raises(UnicodeEncodeError):
        uuid.uuid5(NAMESPACE, "\ud800")
