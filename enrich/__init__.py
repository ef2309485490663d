"""Pure enrichment: DocumentReference + NlpResult -> extensions, generated resources, index rows."""

# isort: off
from enrich import native  # noqa: F401 (first: compiled modules, or their sources when stale)

# isort: on
from enrich.core import (
    EnrichError,
    Enrichment,
    enrich_document,
    generated_by,
    needs_processing,
)
from enrich.policy import EnrichmentPolicy

__all__ = [
    "EnrichError",
    "Enrichment",
    "EnrichmentPolicy",
    "enrich_document",
    "generated_by",
    "needs_processing",
]
