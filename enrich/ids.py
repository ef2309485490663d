"""Deterministic resource ids (DESIGN D6): uuid5 of document id + kind + offsets + code."""

from __future__ import annotations

import hashlib
import uuid

from enrich.urls import ID_NAMESPACE_URL

NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, ID_NAMESPACE_URL)
#: SHA-1 fed with the namespace: uuid5's hash of a name continues from a copy of it
_HASHED_NAMESPACE = hashlib.sha1(NAMESPACE.bytes, usedforsecurity=False)


def uuid5_text(name: str) -> str:
    """``str(uuid.uuid5(NAMESPACE, name))`` without building a ``uuid.UUID``.

    >>> uuid5_text("doc-1|Linkage") == str(uuid.uuid5(NAMESPACE, "doc-1|Linkage"))
    True
    """
    h = _HASHED_NAMESPACE.copy()
    h.update(name.encode("utf-8"))
    digest = bytearray(h.digest()[:16])
    digest[6] = (digest[6] & 0x0F) | 0x50  # version 5
    digest[8] = (digest[8] & 0x3F) | 0x80  # RFC 4122 variant
    x = digest.hex()
    return f"{x[:8]}-{x[8:12]}-{x[12:16]}-{x[16:20]}-{x[20:]}"


def resource_id(
    doc_id: str,
    kind: str,
    begin: int | None = None,
    end: int | None = None,
    code: str | None = None,
) -> str:
    """The id of a resource generated from one document.

    Same inputs give the same id, so re-processing replaces rather than duplicates.

    >>> resource_id("doc-1", "Condition", 10, 22, "H66.90") == resource_id(
    ...     "doc-1", "Condition", 10, 22, "H66.90")
    True
    >>> resource_id("doc-1", "Linkage") != resource_id("doc-2", "Linkage")
    True
    >>> len(resource_id("doc-1", "Linkage"))
    36
    """
    if begin is None and end is None and code is None:
        return uuid5_text(f"{doc_id}|{kind}")
    return uuid5_text(f"{doc_id}|{kind}|{begin}|{end}|{code or ''}")
