"""How the SQL stores serialise what they write: compact JSON, and compressed large bodies.

``dump_json`` is orjson (10-15x faster than ``json.dumps`` on an enriched DocumentReference
of 300 KB) with the standard library as the fallback for what orjson refuses (integers beyond
64 bits, non-string keys). ``encode_body`` keeps a body as JSON text below ``COMPRESS_AT``
bytes and zstd-compresses it above (an enriched document compresses about 12 to 1: its aws-cm
tree repeats the same URLs), so a note's writes shrink from ~75 overflow pages to ~6;
``decode_body`` reads both, the zlib-compressed bodies and the JSON text rows of databases
written before (``decompress`` tells zstd from zlib by the frame's magic number): no migration.
zstd level 3 against zlib level 1 on an enriched document of 94 KB: 3x faster to compress, 6x
faster to decompress, 15 % smaller (docs/performance.md).

A search page's bodies pass through unparsed: a page of 50 enriched DocumentReferences is
~4.8 MB of JSON, and parsing it costs ~10-17 ms for a response that writes it out again.
``LazyResource`` is a ``dict`` (the store protocol's ``Resource``) that holds the stored JSON
bytes and its ``resourceType`` and ``id`` (from the row): those two are read without parsing
(a Bundle's ``fullUrl``, ``_include``'s ids); any other use parses the JSON once, and from
then on it is an ordinary dict. ``json_default`` lets ``orjson.dumps``
(``OPT_PASSTHROUGH_SUBCLASS``: ``dump_bytes`` and the API's responses) splice a resource that
was never parsed as its stored bytes (``orjson.Fragment``): the same JSON, at the cost of a
copy. Until it is parsed the dict itself holds only ``resourceType`` and ``id``: code that
reads a dict's storage directly (``orjson.dumps`` without ``json_default``, pydantic) would see
only those, so only ``SqlStore.execute`` hands them out and ``SqlStore.search`` parses them.
"""

from __future__ import annotations

import hashlib
import json
import threading
import zlib
from collections.abc import Callable
from typing import Any

import orjson
import zstandard

#: Bodies of at least this many bytes of JSON are stored compressed (BLOB).
COMPRESS_AT = 2048
#: zstd level (3 is zstd's default; 1 is no faster here and larger).
LEVEL = 3
#: The first bytes of a zstd frame (a zlib stream starts with 0x78 here: never this).
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"

_local = threading.local()  # zstd contexts are not thread-safe: one pair per thread


def _contexts() -> tuple[zstandard.ZstdCompressor, zstandard.ZstdDecompressor]:
    pair: tuple[zstandard.ZstdCompressor, zstandard.ZstdDecompressor] | None = getattr(
        _local, "zstd", None
    )
    if pair is None:
        pair = _local.zstd = (zstandard.ZstdCompressor(level=LEVEL), zstandard.ZstdDecompressor())
    return pair


def compress(data: bytes) -> bytes:
    """``data`` as a zstd frame (its size recorded, so ``decompress`` allocates once).

    >>> compress(b"abc")[:4] == ZSTD_MAGIC
    True
    """
    return _contexts()[0].compress(data)


def decompress(data: bytes | memoryview) -> bytes:
    """What ``compress`` wrote, or a zlib stream (bodies written before zstd).

    >>> decompress(compress(b"abc")), decompress(zlib.compress(b"abc"))
    (b'abc', b'abc')
    """
    if bytes(data[:4]) == ZSTD_MAGIC:
        return _contexts()[1].decompress(data)
    return zlib.decompress(data)


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
        return orjson.dumps(value, default=json_default, option=orjson.OPT_PASSTHROUGH_SUBCLASS)
    except (orjson.JSONEncodeError, TypeError):
        return b" " + json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


def encode_body(value: Any) -> str | bytes:
    """A resource body as stored: JSON text, or compressed JSON bytes when large.

    >>> encode_body({"id": "x"})
    '{"id":"x"}'
    >>> isinstance(encode_body({"text": "a" * 5000}), bytes)
    True
    """
    return encode_bytes(dump_bytes(value))


def encode_bytes(data: bytes) -> str | bytes:
    """``encode_body`` of a value already serialised by ``dump_bytes`` (``data``).

    >>> encode_bytes(dump_bytes({"id": "x"})) == encode_body({"id": "x"})
    True
    """
    if len(data) < COMPRESS_AT:
        return data.decode()
    return compress(data)


def decode_body(stored: str | bytes | memoryview) -> Any:
    """The value of a stored body (JSON text, or compressed bytes from ``encode_body``).

    >>> decode_body(encode_body({"text": "a" * 5000}))["text"][:3]
    'aaa'
    """
    if isinstance(stored, str):  # small, or written before: exactly as json wrote it
        return json.loads(stored)
    return load_json(decompress(stored))


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


#: The keys answered from the row, without parsing.
_ROW_KEYS = frozenset({"resourceType", "id"})


class LazyResource(dict[str, Any]):
    """A resource dict whose JSON (``raw``) is parsed on first use beyond its type and id.

    >>> r = LazyResource(b'{"resourceType":"Basic","id":"b","code":{"text":"x"}}', "Basic", "b")
    >>> r["id"], r.raw is not None
    ('b', True)
    >>> r["code"], r.raw is None
    ({'text': 'x'}, True)
    >>> list(r), r == {"resourceType": "Basic", "id": "b", "code": {"text": "x"}}
    (['resourceType', 'id', 'code'], True)
    """

    __slots__ = ("_raw",)

    def __init__(self, raw: bytes, resource_type: str, resource_id: str) -> None:
        super().__init__(resourceType=resource_type, id=resource_id)
        self._raw: bytes | None = raw

    @property
    def raw(self) -> bytes | None:
        """The stored JSON while it is not parsed (``None`` once it is)."""
        return self._raw

    def load(self) -> None:
        """Parse the stored JSON (once): the dict then holds the whole resource, in order."""
        raw = self._raw
        if raw is not None:
            value = load_json(raw)
            dict.clear(self)
            dict.update(self, value)
            self._raw = None

    def __getitem__(self, key: str) -> Any:
        if self._raw is not None and key not in _ROW_KEYS:
            self.load()
        return dict.__getitem__(self, key)

    def __reduce__(self) -> tuple[Any, ...]:  # copy, deepcopy, pickle: a plain dict
        self.load()
        return (dict, (dict(self.items()),))

    def __reduce_ex__(self, protocol: Any) -> tuple[Any, ...]:
        return self.__reduce__()


def _parsing(name: str) -> Callable[..., Any]:
    method = getattr(dict, name)

    def parsed_first(self: LazyResource, *args: Any, **kwargs: Any) -> Any:
        self.load()
        for other in args:  # an unparsed operand (==, |, update) is parsed too
            if isinstance(other, LazyResource):
                other.load()
        return method(self, *args, **kwargs)

    parsed_first.__name__ = name
    parsed_first.__doc__ = method.__doc__
    return parsed_first


# Every other way into the dict parses it first (set after the class: mypy keeps dict's types).
for _name in (
    "__contains__", "__iter__", "__len__", "__eq__", "__ne__", "__repr__", "__reversed__",
    "__or__", "__ror__", "__ior__", "__setitem__", "__delitem__", "get", "keys", "values",
    "items", "copy", "pop", "popitem", "setdefault", "update", "clear",
):  # fmt: skip
    setattr(LazyResource, _name, _parsing(_name))


def parsed(resource: dict[str, Any]) -> dict[str, Any]:
    """``resource`` parsed (a ``LazyResource`` is loaded in place; any other dict as is)."""
    if isinstance(resource, LazyResource):
        resource.load()
    return resource


def json_default(value: Any) -> Any:
    """``orjson.dumps``'s ``default`` with ``OPT_PASSTHROUGH_SUBCLASS``: an unparsed
    ``LazyResource`` as its stored JSON (unless the standard library wrote it: parsed), any
    other subclass of a built-in type as that type.

    >>> orjson.dumps([LazyResource(b'{"id":"x"}', "Basic", "x")], default=json_default,
    ...              option=orjson.OPT_PASSTHROUGH_SUBCLASS)
    b'[{"id":"x"}]'
    """
    if isinstance(value, LazyResource):
        raw = value.raw
        if raw is not None and raw[:1] != b" ":
            return orjson.Fragment(raw)
        return dict(value.items())  # parsed: ``json``'s integers beyond 64 bits stay exact
    if isinstance(value, dict):
        return dict(value.items())
    if isinstance(value, list | tuple):
        return list(value)
    if isinstance(value, str):
        return str(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def result_digest(data: bytes) -> str:
    """Identifies a stored NLP result (its ``dump_bytes``): an unchanged one is not written
    again."""
    return hashlib.blake2b(data, digest_size=16).hexdigest()
