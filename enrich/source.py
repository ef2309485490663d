"""What every generated resource of one document shares (:class:`Source`).

Not compiled (``nlp/local/native.py``'s ``GROUPS``): ``Source`` keeps its shared pieces in
``functools.cached_property``, which mypyc's native classes do not have; the compiled builders
(``enrich.resources``, ``enrich.allergy``, ``enrich.generate``) read its attributes.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

from enrich import urls

Json = dict[str, Any]


@dataclass(frozen=True)
class Source:
    """What every generated resource of one document shares.

    Attributes:
        doc_ref: ``DocumentReference/<id>``.
        subject: The document's ``subject`` Reference (copied).
        encounter: The document's first ``context.encounter`` Reference, if any.
        linkage_ref: ``Linkage/<id>`` of this run.
        last_updated: ``meta.lastUpdated`` to write (FHIR instant).
        clinical: True for the clinical profile.
        attachment_index: ``content[]`` index of the analysed attachment, if known.
        offsets_in_attachment: False when the analysed text was derived from the attachment
            (HTML reduced to text): offsets then go to our ``nlp-reduced-text-span``
            extension, not into ``derivation-reference``.
    """

    doc_ref: str
    subject: Json | None
    encounter: Json | None
    linkage_ref: str
    last_updated: str
    clinical: bool
    attachment_index: int | None = None
    offsets_in_attachment: bool = True

    @cached_property
    def doc_reference(self) -> Json:
        """``{"reference": doc_ref}``, shared by the document's resources."""
        return {"reference": self.doc_ref}

    @cached_property
    def links(self) -> tuple[Json, Json]:
        """The system-generated-linkage and source-document-reference extensions, shared."""
        return (
            {"url": urls.SG_LINKAGE, "valueReference": {"reference": self.linkage_ref}},
            {"url": urls.SRC_DOC, "valueReference": self.doc_reference},
        )

    @cached_property
    def derivation_head(self) -> tuple[Json, ...]:
        """The first children of each ``derivation-reference``: the document, the path."""
        head: list[Json] = [{"url": "reference", "valueReference": self.doc_reference}]
        if self.attachment_index is not None:
            path = f"DocumentReference.content[{self.attachment_index}].attachment"
            head.append({"url": "path", "valueString": path})
        return tuple(head)
