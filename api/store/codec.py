"""How the SQL stores serialise what they write: compact JSON, and compressed large bodies.

``dump_json`` is orjson (10-15x faster than ``json.dumps`` on an enriched DocumentReference
of 300 KB) with the standard library as the fallback for what orjson refuses (integers beyond
64 bits, non-string keys). ``encode_body`` keeps a body as JSON text below ``COMPRESS_AT``
bytes and zlib-compresses it above (an enriched document compresses about 14 to 1: its aws-cm
tree repeats the same URLs), so a note's writes shrink from ~75 overflow pages to ~6;
``decode_body`` reads both, and the JSON text rows of databases written before.
"""

from __future__ import annotations

import hashlib
import json
import zlib
from typing import Any

import orjson

#: Bodies of at least this many bytes of JSON are stored zlib-compressed (BLOB).
COMPRESS_AT = 2048
#: zlib level: 1 is ~3x faster than the default 6 for 20 % more bytes.
LEVEL = 1


def dump_json(value: Any) -> str:
    """Compact JSON (key order kept, non-ASCII as is), as ``json.dumps(separators=(",", ":"),
    ensure_ascii=False)`` writes it, up to how floats with exponents are spelled.

    >>> dump_json({"b": 1, "a": [0.5, "é"]})
    '{"b":1,"a":[0.5,"é"]}'
    >>> dump_json({"big": 2**70})
    ' {"big":1180591620717411303424}'
    """
    return dump_bytes(value).decode()


def dump_bytes(value: Any) -> bytes:
    """``dump_json`` as UTF-8 bytes (what a BLOB or a compressor takes).

    What orjson refuses (integers beyond 64 bits, non-string keys) is written by the standard
    library after one space: ``load_json`` reads it back with the standard library too
    (orjson would read such an integer as a float).
    """
    try:
        return orjson.dumps(value)
    except (orjson.JSONEncodeError, TypeError):
        return b" " + json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


def encode_body(value: Any) -> str | bytes:
    """A resource body as stored: JSON text, or zlib-compressed JSON bytes when large.

    >>> encode_body({"id": "x"})
    '{"id":"x"}'
    >>> isinstance(encode_body({"text": "a" * 5000}), bytes)
    True
    """
    data = dump_bytes(value)
    if len(data) < COMPRESS_AT:
        return data.decode()
    return zlib.compress(data, LEVEL)


def decode_body(stored: str | bytes | memoryview) -> Any:
    """The value of a stored body (JSON text, or compressed bytes from ``encode_body``).

    >>> decode_body(encode_body({"text": "a" * 5000}))["text"][:3]
    'aaa'
    """
    if isinstance(stored, str):  # small, or written before: exactly as json wrote it
        return json.loads(stored)
    return load_json(zlib.decompress(stored))


def load_json(data: bytes | str) -> Any:
    """What ``dump_bytes`` (or ``dump_json``) wrote: orjson's (half of ``json.loads``'s time
    on a 300 KB document), or the standard library's after a space (``json.loads``: exact
    integers).

    >>> load_json(b'{"a":[1,2.5]}'), load_json(dump_json({"big": 2**64}))
    ({'a': [1, 2.5]}, {'big': 18446744073709551616})
    """
    if data[:1] in (b" ", " "):
        return json.loads(data)
    return orjson.loads(data)


def result_digest(data: bytes) -> str:
    """Identifies a stored NLP result (its ``dump_bytes``): an unchanged one is not written
    again."""
    return hashlib.blake2b(data, digest_size=16).hexdigest()
