"""Pure enrichment: DocumentReference + NlpResult -> extensions, generated resources, index rows."""

from enrich.core import EnrichError, Enrichment, enrich_document, needs_processing
from enrich.policy import EnrichmentPolicy

__all__ = ["EnrichError", "Enrichment", "EnrichmentPolicy", "enrich_document", "needs_processing"]
