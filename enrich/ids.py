"""Deterministic resource ids (DESIGN D6): uuid5 of document id + kind + offsets + code."""

from __future__ import annotations

import uuid

from enrich.urls import ID_NAMESPACE_URL

NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, ID_NAMESPACE_URL)


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
    parts = [doc_id, kind]
    if begin is not None or end is not None or code is not None:
        parts += [str(begin), str(end), code or ""]
    return str(uuid.uuid5(NAMESPACE, "|".join(parts)))
