"""Resource bodies in the SQLite store: one per row, or parts of a compressed bundle.

The resources one enrichment generates (some 35 per 2 KB note, 1.5-4.5 KB of JSON each) are
stored as one bundle: their JSON texts, one per line, compressed together (zstd; zlib
in databases written before, ``api.store.codec.decompress``) in a
``bodies`` row (60 KB -> 5 KB in 0.1 ms with zlib: they share most of their text), and each
``resources`` row names its part (``bid``, ``part``; ``json`` NULL). One row each, compressed
one by one, they took ~25 KB and 35 zlib calls. Any other body is its own ``json`` value
(``api.store.codec``). A bundle goes when no row names it any more (``forget``).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any

from api.store.base import Resource
from api.store.codec import (
    LazyResource,
    compress,
    decode_body,
    decompress,
    dump_bytes,
    encode_body,
    load_json,
)

#: A stored body: ``(json, bid, part)`` (``json`` NULL for a part of bundle ``bid``).
Stored = tuple[Any, int | None, int | None]


class Bodies:
    """Reads bodies, decompressing each bundle once (for one read or search)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self._bundles: dict[int, list[bytes]] = {}

    def part(self, bid: int, part: int) -> bytes:
        """The JSON bytes of one part of a bundle."""
        parts = self._bundles.get(bid)
        if parts is None:
            row = self.conn.execute("SELECT data FROM bodies WHERE bid = ?", (bid,)).fetchone()
            parts = self._bundles[bid] = decompress(row[0]).split(b"\n")
        return parts[part]

    def text(self, stored: Stored) -> Any:
        """A body as a ``json`` column holds it (bundled parts compressed on their own)."""
        json, bid, part = stored
        if json is not None or bid is None or part is None:
            return json
        return encode_body(self.load(stored))

    def load(self, stored: Stored) -> Any:
        """The value of a stored body."""
        json, bid, part = stored
        if json is not None or bid is None or part is None:
            return decode_body(json)
        return load_json(self.part(bid, part))

    def lazy(self, stored: Stored, resource_type: str, resource_id: str) -> Resource:
        """A stored body for a search page: a compressed one or a bundle's part decompressed
        and left unparsed (``api.store.codec``); a JSON text one (small, or written before,
        perhaps by ``json``) parsed."""
        json, bid, part = stored
        if json is None and bid is not None and part is not None:
            return LazyResource(self.part(bid, part), resource_type, resource_id)
        if isinstance(json, str):
            loaded: Resource = decode_body(json)
            return loaded
        return LazyResource(decompress(json), resource_type, resource_id)


def bundle(conn: sqlite3.Connection, values: Sequence[Any]) -> int:
    """Store ``values`` as one bundle; its ``bid`` (part ``i`` is ``values[i]``)."""
    data = compress(b"\n".join(dump_bytes(v) for v in values))
    cursor = conn.execute("INSERT INTO bodies (data) VALUES (?)", (data,))
    return cursor.lastrowid or 0  # rowids start at 1


def forget(conn: sqlite3.Connection, bundles: set[tuple[int, str | None]]) -> None:
    """Delete the bundles ``(bid, source document)`` that no row names any more (a bundle
    holds what one write generated from one document: only its rows can name it)."""
    conn.executemany(
        "DELETE FROM bodies WHERE bid = ? AND NOT EXISTS "
        "(SELECT 1 FROM resources WHERE source_doc = ? AND bid = ?)",
        [(bid, doc, bid) for bid, doc in sorted(bundles, key=lambda b: b[0])],
    )
